// The dispatcher's flow control per route, against an in-memory queue and a scripted partner:
// a route's gate (concurrency, rate, pause) limits that route alone, what waits is parked without
// using up attempts, and a limited route never holds back the others.
#include <gtest/gtest.h>

#include <cmath>
#include <mutex>

#include "dispatch/scripted_partner.h"
#include "support/in_memory_queue.h"

namespace conveyor::dispatch {
namespace {

using testing::InMemoryQueue;
using namespace fixtures;

// A plain token bucket in test time: enough to check that the dispatcher asks the limit before
// every call and waits as told (flow/ has the real GCRA and its accuracy tests).
class BucketLimit final : public RateLimit {
 public:
  BucketLimit(double per_second, double burst) : per_second_(per_second), burst_(burst), tokens_(burst) {}
  RateGrant take(std::size_t wanted, SteadyTime now) override {
    std::lock_guard lock(mutex_);
    if (last_ != SteadyTime{}) {
      tokens_ = std::min(burst_, tokens_ + per_second_ * std::chrono::duration<double>(now - last_).count());
    }
    last_ = now;
    const auto granted = std::min<std::size_t>(wanted, static_cast<std::size_t>(std::floor(tokens_)));
    tokens_ -= static_cast<double>(granted);
    const auto wait = std::chrono::duration<double>((1.0 - (tokens_ - std::floor(tokens_))) / per_second_);
    return {granted, now + std::chrono::duration_cast<SteadyTime::duration>(wait)};
  }
  double per_second() const override { return per_second_; }

 private:
  std::mutex mutex_;
  double per_second_, burst_, tokens_;
  SteadyTime last_{};
};

// Messages {"i":N}: even ones go to route 0 ("a"), odd ones to route 1 ("b").
Routing by_parity(std::string_view body) {
  const auto digit = body[body.size() - 2];
  return Routing{.route = static_cast<std::uint32_t>((digit - '0') % 2), .target = {}, .failure = {}};
}

DispatcherOptions two_routes(std::size_t concurrency, std::shared_ptr<RouteGate> a, std::shared_ptr<RouteGate> b) {
  auto o = options(concurrency, concurrency, 5ms, true);
  o.routes = {RouteOptions{.name = "a", .policy = o.policy, .circuit = o.circuit, .gate = std::move(a)},
              RouteOptions{.name = "b", .policy = o.policy, .circuit = o.circuit, .gate = std::move(b)}};
  return o;
}

TEST(Routes, AMessageNoRouteTakesIsDeadLetteredSayingSo) {
  asio::io_context io;
  InMemoryQueue queue(10);
  ScriptedPartner partner(io, 1ms);
  partner.router = [](std::string_view body) {
    Routing r = by_parity(body);
    if (r.route == 1) r.failure = "no route";
    return r;
  };
  Dispatcher d(io.get_executor(), queue, partner, two_routes(10, nullptr, nullptr));
  ASSERT_TRUE(run_to_completion(io, d));
  EXPECT_EQ(queue.acknowledged.size(), 5u);
  ASSERT_EQ(queue.dead.size(), 5u);
  for (const auto& [body, why] : queue.dead) EXPECT_EQ(why.reason, "no route") << body;
  EXPECT_EQ(partner.calls, 5u);
  EXPECT_EQ(d.route_stats(0).delivered.get(), 5u);
}

TEST(Routes, ARoutesConcurrencyLimitsThatRouteAlone) {
  asio::io_context io;
  InMemoryQueue queue(400);
  ScriptedPartner partner(io, 5ms);
  partner.router = by_parity;
  auto a = std::make_shared<RouteGate>("a", 3);
  Dispatcher d(io.get_executor(), queue, partner, two_routes(50, a, nullptr));
  ASSERT_TRUE(run_to_completion(io, d));
  EXPECT_EQ(queue.acknowledged.size(), 400u);
  EXPECT_LE(partner.max_running_per_route[0], 3u);
  EXPECT_EQ(partner.max_running_per_route[0], 3u) << "the limit is used, not only respected";
  EXPECT_GT(partner.max_running_per_route[1], 10u) << "route b is not held to a's limit";
  EXPECT_EQ(a->in_flight(), 0u) << "every slot was given back";
  EXPECT_EQ(d.route_stats(0).delivered.get() + d.route_stats(1).delivered.get(), 400u);
}

TEST(Routes, ARateLimitedRouteStartsNoMoreThanItsRateAndParksWithoutUsingAttempts) {
  asio::io_context io;
  InMemoryQueue queue(300);  // 150 for route a, limited to 100/s with a burst of 10
  ScriptedPartner partner(io, 1ms);
  partner.router = by_parity;
  auto a = std::make_shared<RouteGate>("a", 0, std::make_unique<BucketLimit>(100.0, 10.0));
  const auto began = std::chrono::steady_clock::now();
  Dispatcher d(io.get_executor(), queue, partner, two_routes(100, a, nullptr));
  ASSERT_TRUE(run_to_completion(io, d));
  EXPECT_EQ(queue.acknowledged.size(), 300u);
  EXPECT_TRUE(queue.dead.empty());
  // Route a's calls: at most rate x T + burst over any window; route b was done long before.
  std::vector<SteadyTime> a_starts, b_starts;
  for (const auto& s : partner.starts) (s.route == 0 ? a_starts : b_starts).push_back(s.at);
  ASSERT_EQ(a_starts.size(), 150u);
  // Windows of T >= 1 s, as the limit is stated. A call starts a little after its grant (the
  // courier's turn on the loop): 5 ms of that jitter is allowed, a twentieth of one call's spacing.
  for (std::size_t i = 0; i < a_starts.size(); ++i) {
    for (std::size_t j = i; j < a_starts.size(); ++j) {
      const double window = std::max(1.0, std::chrono::duration<double>(a_starts[j] - a_starts[i]).count());
      ASSERT_LE(static_cast<double>(j - i + 1), 100.0 * (window + 0.005) + 10.0) << "calls " << i << ".." << j;
    }
  }
  const double took = std::chrono::duration<double>(a_starts.back() - a_starts.front()).count();
  EXPECT_GE(took, (150.0 - 10.0) / 100.0 * 0.95) << "150 calls at 100/s after a burst of 10";
  EXPECT_LT(b_starts.back() - began, a_starts.back() - began - 500ms) << "b did not wait behind a";
  EXPECT_GT(queue.parks, 0u) << "a's excess was parked in the queue, not held";
  for (const auto& [body, attempts] : queue.attempts) EXPECT_EQ(attempts, 1u) << body << ": parking is no attempt";
}

TEST(Routes, ARetryAfterPausesTheWholeRouteAndOnlyIt) {
  asio::io_context io;
  InMemoryQueue queue(200);
  ScriptedPartner partner(io, 1ms);
  partner.router = by_parity;
  bool first = true;
  partner.answer = [&](std::string_view body) {
    if (by_parity(body).route == 0 && first) {
      first = false;
      return 429u;
    }
    return 200u;
  };
  partner.retry_after = "1";
  auto a = std::make_shared<RouteGate>("a", 0);
  auto o = two_routes(20, a, nullptr);
  o.routes[0].circuit.threshold = 0;
  Dispatcher d(io.get_executor(), queue, partner, o);
  ASSERT_TRUE(run_to_completion(io, d));
  EXPECT_EQ(queue.acknowledged.size(), 200u);
  // After the 429, no call of route a starts for a second; route b carries on meanwhile.
  SteadyTime refused_at{};
  std::size_t a_calls_after = 0, b_calls_during_pause = 0;
  for (std::size_t i = 0; i < partner.starts.size(); ++i) {
    const auto& s = partner.starts[i];
    if (refused_at == SteadyTime{}) {
      if (s.route == 0) refused_at = s.at;
      continue;
    }
    if (s.route == 0 && s.at < refused_at + 950ms) ++a_calls_after;
    if (s.route == 1 && s.at < refused_at + 950ms) ++b_calls_during_pause;
  }
  EXPECT_LE(a_calls_after, 19u) << "only calls already started before the 429 came back";
  EXPECT_GT(b_calls_during_pause, 50u) << "route b flows while a is paused";
  EXPECT_GE(a->paused_until(), refused_at + 1s);
}

TEST(Routes, APausedRouteHoldsNoInFlightBudgetTheOthersNeed) {
  asio::io_context io;
  InMemoryQueue queue(2000);
  ScriptedPartner partner(io, 2ms);
  partner.router = by_parity;
  auto a = std::make_shared<RouteGate>("a", 0);
  a->pause_until(std::chrono::steady_clock::now() + 2s);
  Dispatcher d(io.get_executor(), queue, partner, two_routes(20, a, nullptr));
  Running running(io, d);
  // Route b's 1,000 messages at 20 in flight and 2 ms each take about 0.1 s: they must all be
  // done well inside a's pause, though half of every lease batch is a's.
  ASSERT_TRUE(running.until([&] { return d.route_stats(1).delivered.get() == 1000; }, 1500ms));
  EXPECT_EQ(d.route_stats(0).delivered.get(), 0u);
  EXPECT_GT(d.route_stats(0).parked.get(), 0u);
  ASSERT_TRUE(running.finishes());
  EXPECT_EQ(queue.acknowledged.size(), 2000u);
  for (const auto& [body, attempts] : queue.attempts) EXPECT_EQ(attempts, 1u) << body;
}

// Grants everything, or nothing while `shut`.
class SwitchLimit final : public RateLimit {
 public:
  RateGrant take(std::size_t wanted, SteadyTime now) override { return {shut ? 0 : wanted, now + 10ms}; }
  double per_second() const override { return 1000; }
  bool shut = false;
};

TEST(Routes, AProbeTheRateLimitHoldsBackDoesNotLeaveTheCircuitWaitingForIt) {
  asio::io_context io;
  InMemoryQueue queue(30);
  ScriptedPartner partner(io, 1ms);
  bool down = true;
  partner.answer = [&](std::string_view) { return down ? 0u : 200u; };
  auto limit = std::make_unique<SwitchLimit>();
  SwitchLimit& rate = *limit;
  auto gate = std::make_shared<RouteGate>("only", 0, std::move(limit));
  auto o = options(5, 5, 5ms, true);
  o.policy.max_attempts = 1000;
  o.routes = {RouteOptions{.name = "only", .policy = o.policy,
                           .circuit = {.threshold = 2, .cooldown = 50ms, .max_cooldown = 50ms}, .gate = gate}};
  Dispatcher d(io.get_executor(), queue, partner, o);
  Running running(io, d);
  ASSERT_TRUE(running.until([&] { return d.route_stats(0).circuit_open.get() == 1; }));
  rate.shut = true;  // the cooldown ends while the rate limit grants nothing: no probe can go
  running.until([] { return false; }, 200ms);
  rate.shut = false;
  down = false;
  ASSERT_TRUE(running.finishes()) << "the circuit must not wait for a probe that never went";
  EXPECT_EQ(queue.acknowledged.size(), 30u);
}

TEST(Routes, ALoneRouteThatIsPausedResumesByItselfWhenThePauseEnds) {
  asio::io_context io;
  InMemoryQueue queue(50);
  ScriptedPartner partner(io, 1ms);
  auto gate = std::make_shared<RouteGate>("only", 0);
  const auto resumes = std::chrono::steady_clock::now() + 300ms;
  gate->pause_until(resumes);
  auto o = options(10, 10, 5ms, true);
  o.routes = {RouteOptions{.name = "only", .policy = o.policy, .circuit = o.circuit, .gate = gate}};
  Dispatcher d(io.get_executor(), queue, partner, o);
  ASSERT_TRUE(run_to_completion(io, d)) << "nothing else wakes the lane: the pause's end must";
  EXPECT_EQ(queue.acknowledged.size(), 50u);
  ASSERT_FALSE(partner.starts.empty());
  EXPECT_GE(partner.starts.front().at, resumes);
}

}  // namespace
}  // namespace conveyor::dispatch
