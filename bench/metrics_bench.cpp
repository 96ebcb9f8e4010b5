// What collecting metrics costs: the hot path's share per settled message (a result counter, the
// call-duration histogram, the outcome counter), rendering one /metrics page, and reading the
// process figures with as many open descriptors as a worker at CONCURRENCY=16000 has (counting
// /proc/self/fd, done at most every 10 s, is otherwise the scrape's largest part), which a
// scrape pays on the admin thread.
//   ./build/bench/metrics_bench
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <vector>

#include "admin/status.h"
#include "core/limits.h"
#include "metrics/delivery_stats.h"
#include "metrics/process_metrics.h"

namespace {

using namespace conveyor;

void BM_RecordOneCall(benchmark::State& state) {
  metrics::DeliveryStats stats;
  std::int64_t us = 900'000;
  for (auto _ : state) {
    stats.call_results[8].add();
    stats.call_duration.record(std::chrono::microseconds(us));
    stats.delivered.add();
    us = us == 1'100'000 ? 900'000 : us + 1;
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_RecordOneCall);

void BM_RenderMetricsPage(benchmark::State& state) {
  admin::Status status;
  status.figures.delivered = 1'000'000;
  status.figures.call_duration.count = 1'000'000;
  status.queue.ok = true;
  status.queue.shards = {{"bench:shipments", 1000, 16000, 0, 3}};
  const admin::StaticInfo info{.version = "0.1.0", .commit = "unknown", .queue = "Redis", .concurrency = 16000};
  for (auto _ : state) benchmark::DoNotOptimize(admin::to_prometheus(status, info));
}
BENCHMARK(BM_RenderMetricsPage);

void BM_ReadProcessMetrics(benchmark::State& state) {  // what a scrape pays: the fd count cached
  for (auto _ : state) benchmark::DoNotOptimize(metrics::ProcessMetrics::read());
}
BENCHMARK(BM_ReadProcessMetrics);

void BM_CountOpenFds(benchmark::State& state) {  // what the count costs once every 10 s
  raise_open_files_limit();
  std::vector<int> fds;
  for (int i = 0; i < state.range(0); ++i) fds.push_back(::dup(0));
  for (auto _ : state) benchmark::DoNotOptimize(metrics::ProcessMetrics::count_open_fds());
  state.counters["open_fds"] = static_cast<double>(metrics::ProcessMetrics::count_open_fds());
  for (int fd : fds) ::close(fd);
}
BENCHMARK(BM_CountOpenFds)->Arg(16'100);

}  // namespace
