// What the poison check (queue/message_problem.h) costs per message: every message a worker
// delivers passes it before its POST. A message `conveyor publish` generates, a ~300-byte
// notification, a 64 KiB one, and the inputs it refuses (invalid JSON, a non-object, over the
// size limit, which is refused unread).
//   ./build/bench/message_problem_bench
#include <benchmark/benchmark.h>

#include <string>

#include <fmt/format.h>

#include "bench/sample_message.h"
#include "publish/message_source.h"
#include "queue/message_problem.h"

namespace {

using conveyor::queue::message_problem;

constexpr std::size_t kLimit = 262'144;  // MAX_MESSAGE_BYTES' default

// Nested objects and arrays of mixed values up to `size` bytes: a large order manifest.
std::string large_message(std::size_t size) {
  std::string out = R"({"manifest":"big","items":[)";
  for (std::size_t i = 0; out.size() < size - 200; ++i) {
    if (i) out += ',';
    out += fmt::format(R"({{"sku":"SKU-{:08d}","qty":{},"price":{}.99,"desc":"item {} \u00e9 ok","gift":false}})", i,
                       i % 7 + 1, i % 500, i);
  }
  out += R"(],"count":1})";
  return out;
}

void run(benchmark::State& state, const std::string& text, std::size_t limit, bool expect_problem,
         bool count_bytes = true) {
  if (message_problem(text, limit).has_value() != expect_problem) {
    state.SkipWithError("the input is not judged as this benchmark expects");
    return;
  }
  for (auto _ : state) {
    auto problem = message_problem(text, limit);
    benchmark::DoNotOptimize(problem);
  }
  state.SetItemsProcessed(state.iterations());
  if (count_bytes) state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
  state.counters["msg_bytes"] = static_cast<double>(text.size());
}

void BM_Poison_Generated(benchmark::State& state) {  // what `conveyor publish` makes
  run(state, conveyor::publish::generated_message(12'345'678), kLimit, false);
}
BENCHMARK(BM_Poison_Generated);

void BM_Poison_Typical300B(benchmark::State& state) {
  run(state, conveyor::bench::sample_message(12'345'678), kLimit, false);
}
BENCHMARK(BM_Poison_Typical300B);

void BM_Poison_64KiB(benchmark::State& state) { run(state, large_message(64 * 1024), kLimit, false); }
BENCHMARK(BM_Poison_64KiB);

void BM_Poison_InvalidJson(benchmark::State& state) {  // cut short: the error is found at the end
  std::string text = conveyor::bench::sample_message(12'345'678);
  text.pop_back();
  run(state, text, kLimit, true);
}
BENCHMARK(BM_Poison_InvalidJson);

void BM_Poison_NotAnObject(benchmark::State& state) {  // a valid array of ~300 bytes
  run(state, "[" + conveyor::bench::sample_message(12'345'678) + "]", kLimit, true);
}
BENCHMARK(BM_Poison_NotAnObject);

void BM_Poison_OverSize(benchmark::State& state) {  // 1 MiB against the default limit: never read
  run(state, large_message(1024 * 1024), kLimit, true, false);
}
BENCHMARK(BM_Poison_OverSize);

}  // namespace
