// The delivery policy and the circuit breaker on their own: pure rules, no I/O, no protocol.
#include "dispatch/delivery_policy.h"

#include <gtest/gtest.h>

#include <optional>

#include "dispatch/circuit_breaker.h"

namespace conveyor::dispatch {
namespace {

using namespace std::chrono_literals;

DeliveryPolicy policy(std::uint32_t max_attempts = 5) {
  return DeliveryPolicy({.retry_base = 100ms, .retry_max_delay = 1s, .max_attempts = max_attempts});
}

Outcome outcome(Outcome::Kind kind, std::string failure = "", std::optional<std::chrono::milliseconds> after = {}) {
  Outcome o;
  o.kind = kind;
  o.failure = std::move(failure);
  o.retry_after = after;
  return o;
}

TEST(DeliveryPolicy, JudgesTheOutcomeKindAlone) {
  auto p = policy(3);
  EXPECT_EQ(p.judge(1, outcome(Outcome::Kind::accepted)).kind, Verdict::Kind::acknowledge);
  EXPECT_EQ(p.judge(1, outcome(Outcome::Kind::retry, "x")).kind, Verdict::Kind::retry);
  EXPECT_EQ(p.judge(2, outcome(Outcome::Kind::unreachable, "x")).kind, Verdict::Kind::retry);
  const Verdict refused = p.judge(1, outcome(Outcome::Kind::refused, "partner answered 400"));
  EXPECT_EQ(refused.kind, Verdict::Kind::dead_letter);
  EXPECT_EQ(refused.dead_letter.reason, "partner answered 400");
  const Verdict last = p.judge(3, outcome(Outcome::Kind::unreachable, "reset: gone"));
  EXPECT_EQ(last.kind, Verdict::Kind::dead_letter);
  EXPECT_EQ(last.dead_letter.reason, "gave up after 3 attempts; last: reset: gone");
}

TEST(DeliveryPolicy, APartnersRetryAfterIsTheEarliestRetryUpToTwelveHours) {
  auto p = policy();
  EXPECT_EQ(p.judge(1, outcome(Outcome::Kind::retry, "x", std::chrono::milliseconds(30s))).delay, 30s);
  EXPECT_EQ(p.judge(1, outcome(Outcome::Kind::retry, "x", std::chrono::milliseconds(48h))).delay, 12h);
  EXPECT_LE(p.judge(1, outcome(Outcome::Kind::retry, "x")).delay, 100ms);
}

TEST(DeliveryPolicy, BackoffDoublesWithFullJitterUpToTheCap) {
  auto p = policy();
  for (std::uint32_t attempt = 1; attempt <= 8; ++attempt) {
    const auto ceiling = std::min<std::chrono::milliseconds>(100ms * (1 << (attempt - 1)), 1s);
    std::chrono::milliseconds longest{0};
    for (int i = 0; i < 2000; ++i) {
      const auto d = p.backoff(attempt);
      ASSERT_GE(d, 0ms);
      ASSERT_LE(d, ceiling) << "attempt " << attempt;
      longest = std::max(longest, d);
    }
    EXPECT_GE(longest, ceiling * 9 / 10) << "the whole range is used, attempt " << attempt;
  }
  EXPECT_LE(p.backoff(1000), 1s);  // no overflow for huge attempt numbers
}

TEST(CircuitBreaker, OpensAfterConsecutiveFailuresProbesAfterTheCooldownAndCloses) {
  CircuitBreaker breaker({.threshold = 3, .cooldown = 100ms, .max_cooldown = 250ms});
  auto t = CircuitBreaker::Clock::time_point{} + 1h;
  breaker.record(true, t);
  breaker.record(false, t);  // a success resets the count
  breaker.record(true, t);
  breaker.record(true, t);
  EXPECT_EQ(breaker.state(), CircuitBreaker::State::closed);
  breaker.record(true, t);
  EXPECT_EQ(breaker.state(), CircuitBreaker::State::open);
  EXPECT_FALSE(breaker.allow(t + 99ms));
  EXPECT_FALSE(breaker.admits_work(t + 99ms));
  EXPECT_TRUE(breaker.admits_work(t + 100ms));
  EXPECT_TRUE(breaker.allow(t + 100ms));  // the probe
  EXPECT_EQ(breaker.state(), CircuitBreaker::State::half_open);
  EXPECT_FALSE(breaker.allow(t + 100ms));  // one probe at a time
  EXPECT_FALSE(breaker.admits_work(t + 100ms));
  breaker.record(true, t + 150ms);  // probe failed: open for twice as long
  EXPECT_EQ(breaker.state(), CircuitBreaker::State::open);
  EXPECT_EQ(breaker.reopens_at(), t + 350ms);
  EXPECT_TRUE(breaker.allow(t + 350ms));
  breaker.record(true, t + 360ms);
  EXPECT_EQ(breaker.reopens_at(), t + 360ms + 250ms);  // capped at max_cooldown
  EXPECT_TRUE(breaker.allow(t + 610ms));
  breaker.record(false, t + 620ms);
  EXPECT_EQ(breaker.state(), CircuitBreaker::State::closed);
  EXPECT_TRUE(breaker.allow(t + 620ms));
}

TEST(CircuitBreaker, AThresholdOfZeroNeverOpens) {
  CircuitBreaker breaker({.threshold = 0, .cooldown = 100ms, .max_cooldown = 1s});
  for (int i = 0; i < 100; ++i) breaker.record(true, {});
  EXPECT_EQ(breaker.state(), CircuitBreaker::State::closed);
}

}  // namespace
}  // namespace conveyor::dispatch
