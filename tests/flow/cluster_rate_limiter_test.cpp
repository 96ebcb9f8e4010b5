// The cluster rate limiter against a real redis-server: two connections on two threads (standing
// in for two worker processes) share one limit, and every window of their grants together stays
// within rate × W + burst while the total reaches the rate; the key is the route's hash-tagged
// name and expires once idle; a lost script cache and a dead server behave as documented.
// GCC 12 reports a false -Wmismatched-new-delete when it inlines the frame
// of an Asio awaitable (operator new and delete are both Asio's own).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include "flow/cluster_rate_limiter.h"

#include <algorithm>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include "flow/window_check.h"
#include "redis/connection.h"
#include "redis/endpoint.h"
#include "support/coroutine.h"
#include "support/redis_server.h"

namespace conveyor::flow {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using conveyor::testing::RedisServer;
using conveyor::testing::run_coroutine;
using testing::Granted;
using testing::most_in_any_window;
using testing::total_of;
using Clock = std::chrono::steady_clock;

asio::awaitable<std::unique_ptr<redis::Connection>> connect_or_fail(const RedisServer& server) {
  std::string why;
  auto connection = co_await redis::Connection::connect(co_await asio::this_coro::executor,
                                                        redis::parse_endpoint(server.url()).value(), 5s, &why);
  if (!connection) {
    ADD_FAILURE() << "connect failed: " << why;
    co_return nullptr;
  }
  co_return std::move(*connection);
}

// What one lane saw: its grants (timed when the reply arrived) and its longest round trip.
struct Lane {
  std::vector<Granted> grants;
  Clock::duration longest_round_trip{0};
  int errors = 0;
};

// A lane as the dispatcher would run one: take a batch, and when short, wait until retry_at.
void run_lane(const RedisServer& server, const ClusterRateLimiter& limiter, std::size_t batch,
              Clock::time_point until, Lane& lane) {
  asio::io_context io;
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto connection = co_await connect_or_fail(server);
    CO_ASSERT(connection);
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (Clock::now() < until) {
      const auto sent = Clock::now();
      auto grant = co_await limiter.take(*connection, batch);
      const auto arrived = Clock::now();
      lane.longest_round_trip = std::max(lane.longest_round_trip, arrived - sent);
      if (!grant) {
        ++lane.errors;
        co_return;
      }
      if (grant->granted > 0) lane.grants.push_back({arrived.time_since_epoch(), grant->granted});
      if (grant->granted < batch) {
        EXPECT_GE(grant->retry_at, sent);
        timer.expires_at(grant->retry_at);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      }
    }
  }, 20s);
}

TEST(ClusterRateLimiter, TwoProcessesSharingOneLimitStayWithinItTogether) {
  RedisServer server;
  const Rate rate{400, 30};  // batches of 20 do not divide the burst: a whole-batch grant would overshoot
  const ClusterRateLimiter limiter("carrier-a", rate);
  const std::size_t batch = std::max<std::size_t>(1, static_cast<std::size_t>(rate.per_second / 20));
  const auto duration = 3s;
  const auto started = Clock::now();
  Lane a, b;
  std::thread first([&] { run_lane(server, limiter, batch, started + duration, a); });
  std::thread second([&] { run_lane(server, limiter, batch, started + duration, b); });
  first.join();
  second.join();
  ASSERT_EQ(a.errors + b.errors, 0);
  ASSERT_FALSE(a.grants.empty());
  ASSERT_FALSE(b.grants.empty());

  std::vector<Granted> grants = a.grants;
  grants.insert(grants.end(), b.grants.begin(), b.grants.end());
  // Grants are timed when their reply arrived, up to one round trip after Redis granted them:
  // the window in Redis time may be that much longer.
  const auto slack = std::max(a.longest_round_trip, b.longest_round_trip);
  for (const auto window : {250ms, 1000ms, 2000ms}) {
    const double bound = rate.per_second * std::chrono::duration<double>(window + slack).count() + rate.burst;
    EXPECT_LE(static_cast<double>(most_in_any_window(grants, window)), bound)
        << window.count() << " ms, slack " << std::chrono::duration<double, std::milli>(slack).count() << " ms";
  }
  const double seconds = std::chrono::duration<double>(duration).count();
  const auto total = static_cast<double>(total_of(grants));
  EXPECT_LE(total, rate.per_second * seconds + rate.burst + batch);
  EXPECT_GE(total, 0.95 * rate.per_second * seconds);
  // Both lanes got a fair part: neither starved the other.
  EXPECT_GE(total_of(a.grants), total / 4);
  EXPECT_GE(total_of(b.grants), total / 4);
}

TEST(ClusterRateLimiter, TheKeyIsTheRoutesHashTagAndExpiresOnceIdle) {
  RedisServer server;
  const ClusterRateLimiter limiter("carrier-a", Rate{10, 5});
  EXPECT_EQ(limiter.key(), "conveyor:rate:{carrier-a}");
  asio::io_context io;
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto connection = co_await connect_or_fail(server);
    CO_ASSERT(connection);
    auto grant = co_await limiter.take(*connection, 8);
    CO_ASSERT(grant);
    EXPECT_EQ(grant->granted, 5u);  // the burst
    EXPECT_GT(grant->retry_at, Clock::now());
    EXPECT_LE(grant->retry_at, Clock::now() + 100ms);
    // The TAT is 5 units (500 ms) ahead: the key lives that long and not much more.
    const long long ttl = server.integer({"PTTL", "conveyor:rate:{carrier-a}"});
    EXPECT_GT(ttl, 300);
    EXPECT_LE(ttl, 501);
    auto none = co_await limiter.take(*connection, 0);
    CO_ASSERT(none);
    EXPECT_EQ(none->granted, 0u);
  });
}

TEST(ClusterRateLimiter, ALostScriptCacheIsReloaded) {
  RedisServer server;
  const ClusterRateLimiter limiter("r", Rate{1000, 10});
  asio::io_context io;
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto connection = co_await connect_or_fail(server);
    CO_ASSERT(connection);
    CO_ASSERT(co_await limiter.take(*connection, 1));
    server.query({"SCRIPT", "FLUSH"});
    auto grant = co_await limiter.take(*connection, 1);
    CO_ASSERT(grant);
    EXPECT_EQ(grant->granted, 1u);
  });
}

TEST(ClusterRateLimiter, AnUnreachableRedisIsAnErrorAndGrantsNothing) {
  RedisServer server;
  const ClusterRateLimiter limiter("r", Rate{1000, 10});
  asio::io_context io;
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto connection = co_await connect_or_fail(server);
    CO_ASSERT(connection);
    server.kill();
    auto grant = co_await limiter.take(*connection, 1);
    EXPECT_FALSE(grant);
  });
}

TEST(ClusterRateLimiter, AnErrorReplyIsRedisReply) {
  RedisServer server;
  const ClusterRateLimiter limiter("r", Rate{1000, 10});
  server.query({"HSET", "conveyor:rate:{r}", "f", "v"});  // not a number: the script fails
  asio::io_context io;
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto connection = co_await connect_or_fail(server);
    CO_ASSERT(connection);
    auto grant = co_await limiter.take(*connection, 1);
    CO_ASSERT(!grant);
    EXPECT_EQ(grant.error(), make_error_code(Error::redis_reply));
  });
}

}  // namespace
}  // namespace conveyor::flow
