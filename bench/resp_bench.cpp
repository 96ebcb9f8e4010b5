// What the Redis queue's RESP costs per message, apart from the socket: one lease/ack round as
// RedisQueue sends it. Encoding the EVALSHA that leases a batch of 256 (13 keys, 8 arguments),
// encoding the outcome flush that acknowledges 256 ids (7 keys, the wait-list prefix, the ids),
// each with the argument list Script::run builds per call, into a reused buffer as a connection's
// outbox is; then decoding the lease's reply (256 messages of ~300 bytes) through ReplyReader,
// fed in the 64 KiB chunks a connection reads. Items are messages.
//   ./build/bench/resp_bench
#include <benchmark/benchmark.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "bench/sample_message.h"
#include "queue/redis/redis_queue.h"
#include "redis/command_encoding.h"
#include "redis/reply_reader.h"

namespace {

using conveyor::queue::RedisQueue;
namespace redis = conveyor::redis;

constexpr std::size_t kBatch = 256;
constexpr std::string_view kSha1 = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db";  // any script's: 40 hex digits
constexpr std::size_t kReadChunk = 64 * 1024;  // what a connection reads at a time

std::string lease_id(std::size_t i) { return fmt::format("9f86d081884c7d65:{}", i + 1); }

// What Script::run sends (redis::evalsha_arguments), in the RESP form a connection appends to its
// outbox.
void encode_evalsha(std::string& out, std::span<const std::string_view> keys, std::span<const std::string_view> args) {
  const std::string key_count = std::to_string(keys.size());
  redis::append_command(out, redis::evalsha_arguments(kSha1, key_count, keys, args));
}

// Encodes one call per iteration into a reused outbox: the argument list `make_args` builds (as
// the queue builds it per call), then Script::run's EVALSHA around it. Items are the batch's messages.
template <class MakeArgs>
void encode_calls(benchmark::State& state, const std::vector<std::string_view>& keys, MakeArgs make_args) {
  std::string outbox;
  for (auto _ : state) {
    const std::vector<std::string_view> args = make_args();
    outbox.clear();
    encode_evalsha(outbox, keys, args);
    benchmark::DoNotOptimize(outbox.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["resp_bytes"] = static_cast<double>(outbox.size());
}

void BM_Resp_EncodeLease256(benchmark::State& state) {
  const auto k = RedisQueue::keys_of("shipments");
  const std::vector<std::string_view> keys = {k.list,         k.leases,        k.bodies,       k.attempts, k.delayed,
                                              k.dead,         k.dead_bodies,   k.dead_reasons, k.dead_bytes,
                                              k.order_holders, k.order_key_of, k.order_waiting, k.order_sweep};
  const std::string count = std::to_string(kBatch);
  encode_calls(state, keys, [&] {
    // RedisQueue::lease: count, lease_ms, id prefix, byte budget, MAX_MESSAGE_BYTES, dead_at, rules, wait prefix.
    return std::vector<std::string_view>{count,    "30000", "9f86d081884c7d65", "16777216", "262144",
                                         "2026-11-30T12:00:00Z", "", k.order_wait};
  });
}
BENCHMARK(BM_Resp_EncodeLease256);

void BM_Resp_EncodeAck256(benchmark::State& state) {
  const auto k = RedisQueue::keys_of("shipments");
  const std::vector<std::string_view> keys = {k.leases,        k.bodies,       k.attempts,     k.delayed,
                                              k.order_holders, k.order_key_of, k.order_waiting};
  std::vector<std::string> ids;  // the Outcomes the flusher took
  for (std::size_t i = 0; i < kBatch; ++i) ids.push_back(lease_id(i));
  encode_calls(state, keys, [&] {
    // RedisQueue's write(): the wait-list prefix, then the ids as views.
    std::vector<std::string_view> args;
    args.reserve(ids.size() + 1);
    args.push_back(k.order_wait);
    args.insert(args.end(), ids.begin(), ids.end());
    return args;
  });
}
BENCHMARK(BM_Resp_EncodeAck256);

void BM_Resp_DecodeLeaseReply256(benchmark::State& state) {
  // The lease script's answer: buried, parked, then (id, body, attempt, deadline) per message.
  std::string wire = fmt::format("*{}\r\n:0\r\n:0\r\n", 2 + 4 * kBatch);
  for (std::size_t i = 0; i < kBatch; ++i) {
    const std::string id = lease_id(i);
    const std::string body = conveyor::bench::sample_message(i);
    wire += fmt::format("${}\r\n{}\r\n${}\r\n{}\r\n:1\r\n:1796040030000\r\n", id.size(), id, body.size(), body);
  }
  redis::ReplyReader reader;  // one per connection, for its lifetime
  for (auto _ : state) {
    std::optional<redis::Reply> reply;
    for (std::size_t at = 0; at < wire.size() && !reply; at += kReadChunk) {
      if (!reader.feed(std::string_view(wire).substr(at, kReadChunk))) return state.SkipWithError("feed failed");
      auto next = reader.next();
      if (!next) return state.SkipWithError("not RESP");
      reply = std::move(*next);
    }
    if (!reply || reply->elements.size() != 2 + 4 * kBatch) return state.SkipWithError("wrong reply");
    benchmark::DoNotOptimize(reply);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(wire.size()));
  state.counters["resp_bytes"] = static_cast<double>(wire.size());
}
BENCHMARK(BM_Resp_DecodeLeaseReply256);

}  // namespace
