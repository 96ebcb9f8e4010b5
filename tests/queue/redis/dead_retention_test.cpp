// Dead-letter retention on a real redis-server: each limit (entries, age by Redis TIME, bytes)
// trims the oldest first, 0 turns a limit off, one call trims a bounded number and repeated calls
// converge, and the byte counter C:dead:bytes stays exact through dead-lettering, trimming,
// `dlq requeue` and `dlq purge`.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "queue/redis/dead_retention.h"
#include "queue/redis/redis_admin.h"
#include "queue/redis/redis_queue.h"
#include "redis/connection.h"
#include "redis/endpoint.h"
#include "support/child_process.h"
#include "support/coroutine.h"
#include "support/redis_server.h"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using conveyor::queue::DeadLetter;
using conveyor::queue::DeadLetterRetention;
using conveyor::queue::kTrimPerCall;
using conveyor::queue::RedisAdmin;
using conveyor::queue::RedisQueue;
using conveyor::testing::RedisServer;
using conveyor::testing::run_coroutine;

const std::string kChannel = "jobs";
constexpr DeadLetterRetention kUnlimited{.max_len = 0, .max_age = 0ms, .max_bytes = 0};
constexpr long long kDayMs = 86'400'000;

class DeadRetentionTest : public ::testing::Test {
 protected:
  RedisServer server;
  asio::io_context io;
  const RedisQueue::Keys keys = RedisQueue::keys_of(kChannel);

  conveyor::redis::Endpoint endpoint() const { return conveyor::redis::parse_endpoint(server.url()).value(); }

  long long redis_now_ms() const {
    const auto t = server.list({"TIME"});
    return std::stoll(t.at(0)) * 1000 + std::stoll(t.at(1)) / 1000;
  }

  // Adds `n` dead letters as the dead-letter script would: ids "<stem>:<i>" scored
  // first_score + i, bodies of `body_bytes` bytes, their bytes counted.
  void add_dead(long long n, long long first_score, long long body_bytes, const std::string& stem = "old") const {
    server.query({"EVAL", R"lua(
for i = 0, tonumber(ARGV[1]) - 1 do
  local id = ARGV[4] .. ':' .. i
  local body = string.rep('x', tonumber(ARGV[3]))
  redis.call('ZADD', KEYS[1], tonumber(ARGV[2]) + i, id)
  redis.call('HSET', KEYS[2], id, body)
  redis.call('HSET', KEYS[3], id, '{"reason":"test"}')
  redis.call('INCRBY', KEYS[4], #body)
end
return 0
)lua",
                  "4", keys.dead, keys.dead_bodies, keys.dead_reasons, keys.dead_bytes, std::to_string(n),
                  std::to_string(first_score), std::to_string(body_bytes), stem});
  }

  long long dead_count() const { return server.integer({"ZCARD", keys.dead}); }

  // The byte counter, absent counting as 0.
  long long counted_bytes() const {
    const std::string value = server.query({"GET", keys.dead_bytes});
    return value == "(nil)" ? 0 : std::stoll(value);
  }

  // What the counter must say: the sizes of the bodies actually kept.
  long long stored_bytes() const {
    long long total = 0;
    for (const auto& id : server.list({"HKEYS", keys.dead_bodies})) {
      total += server.integer({"HSTRLEN", keys.dead_bodies, id});
    }
    return total;
  }

  bool kept(const std::string& id) const { return server.query({"ZSCORE", keys.dead, id}) != "(nil)"; }

  std::size_t trim(const DeadLetterRetention& retention, std::size_t most = kTrimPerCall) {
    std::optional<std::size_t> trimmed;
    run_coroutine(io, [&]() -> asio::awaitable<void> {
      auto connection = co_await conveyor::redis::Connection::connect(io.get_executor(), endpoint(), 2s);
      CO_ASSERT(connection);
      auto n = co_await conveyor::queue::trim_dead_letters(**connection, keys, retention, most);
      CO_ASSERT(n);
      trimmed = *n;
    });
    EXPECT_TRUE(trimmed.has_value());
    return trimmed.value_or(0);
  }

  // Pushes `bodies`, leases them through a RedisQueue with `retention` and dead-letters them all
  // in one batch. Returns their ids.
  std::vector<std::string> dead_letter(const std::vector<std::string>& bodies, const DeadLetterRetention& retention) {
    std::vector<std::string> command = {"RPUSH", kChannel};
    command.insert(command.end(), bodies.begin(), bodies.end());
    server.query(command);
    std::vector<std::string> ids;
    RedisQueue queue(io.get_executor(), endpoint(), kChannel, 60s, 2s, retention);
    run_coroutine(io, [&]() -> asio::awaitable<void> {
      auto leases = co_await queue.lease(bodies.size());
      CO_ASSERT(leases && leases->size() == bodies.size());
      for (const auto& lease : *leases) {
        queue.dead_letter(lease, DeadLetter{.reason = "partner answered 400", .status = 400, .response = {}});
        ids.push_back(lease.id);
      }
      CO_ASSERT(!co_await queue.flush());
    });
    return ids;
  }

  RedisAdmin admin() {
    std::unique_ptr<conveyor::redis::Connection> connection;
    run_coroutine(io, [&]() -> asio::awaitable<void> {
      auto c = co_await conveyor::redis::Connection::connect(io.get_executor(), endpoint(), 2s);
      CO_ASSERT(c);
      connection = std::move(*c);
    });
    return RedisAdmin(std::move(connection), {kChannel});
  }
};

TEST_F(DeadRetentionTest, MaxLenKeepsTheNewestEntries) {
  add_dead(10, 1000, 5);
  EXPECT_EQ(trim({.max_len = 4, .max_age = 0ms, .max_bytes = 0}), 6u);
  EXPECT_EQ(dead_count(), 4);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(kept("old:" + std::to_string(i)), i >= 6) << i;
  EXPECT_EQ(server.integer({"HLEN", keys.dead_bodies}), 4);
  EXPECT_EQ(server.integer({"HLEN", keys.dead_reasons}), 4);
  EXPECT_EQ(counted_bytes(), 20);
  EXPECT_EQ(trim({.max_len = 4, .max_age = 0ms, .max_bytes = 0}), 0u) << "within the limit: nothing more";
}

TEST_F(DeadRetentionTest, MaxAgeTrimsEntriesOlderThanItByRedisTime) {
  const long long now = redis_now_ms();
  add_dead(3, now - 2 * kDayMs, 7, "ancient");
  add_dead(2, now - 3'600'000, 7, "recent");
  EXPECT_EQ(trim({.max_len = 0, .max_age = 24h, .max_bytes = 0}), 3u);
  EXPECT_EQ(dead_count(), 2);
  EXPECT_TRUE(kept("recent:0"));
  EXPECT_TRUE(kept("recent:1"));
  EXPECT_EQ(counted_bytes(), 14);
}

TEST_F(DeadRetentionTest, MaxAgeOfOneSecondTrimsADeadLetterOnceItIsOlder) {
  const DeadLetterRetention one_second{.max_len = 0, .max_age = 1s, .max_bytes = 0};
  const auto ids = dead_letter({R"({"a":1})"}, one_second);
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_TRUE(kept(ids[0])) << "a fresh dead letter is younger than 1s";
  EXPECT_TRUE(conveyor::testing::wait_until([&] { return trim(one_second) == 1; }, 5s, 100ms));
  EXPECT_EQ(dead_count(), 0);
  EXPECT_EQ(server.query({"EXISTS", keys.dead_bytes}), "0");
}

TEST_F(DeadRetentionTest, MaxBytesTrimsTheOldestUntilTheBodiesFit) {
  add_dead(10, 1000, 100);
  EXPECT_EQ(counted_bytes(), 1000);
  EXPECT_EQ(trim({.max_len = 0, .max_age = 0ms, .max_bytes = 350}), 7u);
  EXPECT_EQ(dead_count(), 3);
  EXPECT_TRUE(kept("old:7"));
  EXPECT_TRUE(kept("old:9"));
  EXPECT_EQ(counted_bytes(), 300);
  EXPECT_EQ(stored_bytes(), 300);
}

TEST_F(DeadRetentionTest, ZeroTurnsALimitOff) {
  add_dead(50, 1, 1000);  // ancient, numerous, large
  EXPECT_EQ(trim(kUnlimited), 0u);
  EXPECT_EQ(trim({.max_len = 0, .max_age = 0ms, .max_bytes = 50'000}), 0u) << "bytes fit; no other limit";
  EXPECT_EQ(trim({.max_len = 50, .max_age = 0ms, .max_bytes = 0}), 0u) << "count fits; no other limit";
  EXPECT_EQ(dead_count(), 50);
  EXPECT_EQ(trim({.max_len = 0, .max_age = 0ms, .max_bytes = 49'000}), 1u);
}

TEST_F(DeadRetentionTest, OneCallTrimsAtMostItsBoundAndRepeatedCallsConverge) {
  add_dead(3500, 1000, 10);
  const DeadLetterRetention ten{.max_len = 10, .max_age = 0ms, .max_bytes = 0};
  EXPECT_EQ(trim(ten, 100), 100u);
  EXPECT_EQ(dead_count(), 3400);
  std::vector<std::size_t> calls;
  for (int i = 0; i < 10 && dead_count() > 10; ++i) calls.push_back(trim(ten));
  EXPECT_EQ(calls, (std::vector<std::size_t>{kTrimPerCall, kTrimPerCall, kTrimPerCall, 390}));
  EXPECT_EQ(dead_count(), 10);
  EXPECT_TRUE(kept("old:3499"));
  EXPECT_EQ(counted_bytes(), 100);
}

TEST_F(DeadRetentionTest, DeadLetteringTrimsWhatItAddsPlusABoundedStepUntilTheSetFits) {
  add_dead(2500, 1000, 10);  // a set far over the limit, say retention just turned on
  const DeadLetterRetention five{.max_len = 5, .max_age = 0ms, .max_bytes = 0};
  const auto first = dead_letter({R"({"n":1})"}, five);
  EXPECT_EQ(dead_count(), 2501 - 1 - static_cast<long long>(kTrimPerCall)) << "one batch trims a bounded step";
  dead_letter({R"({"n":2})"}, five);
  const auto third = dead_letter({R"({"n":3})", R"({"n":4})"}, five);
  EXPECT_EQ(dead_count(), 5);
  EXPECT_TRUE(kept(first[0]));
  EXPECT_TRUE(kept(third[0]));
  EXPECT_TRUE(kept(third[1]));
  EXPECT_EQ(counted_bytes(), stored_bytes());

  // In the steady state every dead letter pushes out the oldest one.
  dead_letter({R"({"n":5})", R"({"n":6})", R"({"n":7})"}, five);
  EXPECT_EQ(dead_count(), 5);
  EXPECT_FALSE(kept(first[0]));
  EXPECT_EQ(counted_bytes(), stored_bytes());
}

TEST_F(DeadRetentionTest, DefaultsAreSidekiqsTenThousandEntriesAndSixMonths) {
  const DeadLetterRetention defaults;
  EXPECT_EQ(defaults.max_len, 10'000u);
  EXPECT_EQ(defaults.max_age, std::chrono::hours(24 * 180));
  EXPECT_EQ(defaults.max_bytes, 256u * 1024 * 1024);
  const long long now = redis_now_ms();
  add_dead(2, now - 181 * kDayMs, 3, "stale");
  add_dead(3, now - 179 * kDayMs, 3, "kept");
  dead_letter({"{}"}, defaults);
  EXPECT_EQ(dead_count(), 4);
  EXPECT_FALSE(kept("stale:1"));
  EXPECT_TRUE(kept("kept:0"));
}

TEST_F(DeadRetentionTest, ByteCounterStaysExactThroughDeadLetterTrimRequeueAndPurge) {
  const std::vector<std::string> bodies = {"", "{}", std::string("bin\0ary\xff", 8), std::string(5000, 'z'),
                                           R"({"order":42})"};
  const auto ids = dead_letter(bodies, kUnlimited);
  ASSERT_EQ(ids.size(), bodies.size());
  EXPECT_EQ(counted_bytes(), 0 + 2 + 8 + 5000 + 12);
  EXPECT_EQ(counted_bytes(), stored_bytes());

  EXPECT_EQ(trim({.max_len = 4, .max_age = 0ms, .max_bytes = 0}), 1u);  // the empty body
  EXPECT_EQ(counted_bytes(), stored_bytes());

  RedisAdmin dlq = admin();
  const std::vector<std::string> one = {ids[3]};
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto moved = co_await dlq.requeue(one);
    CO_ASSERT(moved && *moved == 1);
  });
  EXPECT_EQ(counted_bytes(), 2 + 8 + 12);
  EXPECT_EQ(counted_bytes(), stored_bytes());

  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto moved = co_await dlq.requeue({});  // --all
    CO_ASSERT(moved && *moved == 3);
  });
  EXPECT_EQ(server.query({"EXISTS", keys.dead_bytes}), "0");
  EXPECT_EQ(server.integer({"LLEN", kChannel}), 4) << "back on the queue";
  server.query({"DEL", kChannel});

  dead_letter({"abc", "defg"}, kUnlimited);
  EXPECT_EQ(counted_bytes(), 7);
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto purged = co_await dlq.purge();
    CO_ASSERT(purged && *purged == 2);
  });
  EXPECT_EQ(server.query({"EXISTS", keys.dead_bytes}), "0");
  EXPECT_EQ(dead_count(), 0);
}

TEST_F(DeadRetentionTest, ByteCounterNeverGoesNegative) {
  add_dead(3, 1000, 100);
  server.query({"SET", keys.dead_bytes, "50"});  // undercounted, say by a set older than the counter
  EXPECT_EQ(trim({.max_len = 1, .max_age = 0ms, .max_bytes = 0}), 2u);
  EXPECT_EQ(server.query({"EXISTS", keys.dead_bytes}), "0");
  RedisAdmin dlq = admin();
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto moved = co_await dlq.requeue({});
    CO_ASSERT(moved && *moved == 1);
  });
  EXPECT_EQ(server.query({"EXISTS", keys.dead_bytes}), "0");
}

}  // namespace
