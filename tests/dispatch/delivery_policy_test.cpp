// The delivery policy and the circuit breaker on their own: pure rules, no I/O.
#include "dispatch/delivery_policy.h"

#include <gtest/gtest.h>

#include "dispatch/circuit_breaker.h"
#include "http/client_error.h"

namespace conveyor::dispatch {
namespace {

using namespace std::chrono_literals;

PartnerAnswer answered(unsigned status, std::string retry_after = "", std::string body = "") {
  return PartnerAnswer{status, std::move(body), std::move(retry_after)};
}

DeliveryPolicy policy(std::uint32_t max_attempts = 5) {
  return DeliveryPolicy({.retry_base = 100ms, .retry_max_delay = 1s, .max_attempts = max_attempts,
                         .retryable = *RetryableStatuses::parse("408,425,429,5xx"), .timeouts = {}});
}

TEST(RetryableStatuses, ParsesCodesAndClassesAndRefusesTheRest) {
  auto statuses = RetryableStatuses::parse("408, 429,5xx");
  ASSERT_TRUE(statuses);
  for (unsigned s : {408u, 429u, 500u, 503u, 599u}) EXPECT_TRUE(statuses->contains(s)) << s;
  for (unsigned s : {200u, 400u, 404u, 425u, 499u}) EXPECT_FALSE(statuses->contains(s)) << s;
  std::string why;
  EXPECT_FALSE(RetryableStatuses::parse("5xx,abc", &why));
  EXPECT_EQ(why, "'abc' is neither a status code (100-599) nor a class like 5xx");
  EXPECT_FALSE(RetryableStatuses::parse("700"));
  EXPECT_FALSE(RetryableStatuses::parse("6xx"));
}

TEST(DeliveryPolicy, TwoHundredsAreAcknowledged) {
  auto p = policy();
  for (unsigned s : {200u, 201u, 204u}) EXPECT_EQ(p.judge(1, answered(s)).kind, Verdict::Kind::acknowledge);
}

TEST(DeliveryPolicy, RetryableFailuresRetryUntilTheLastAttempt) {
  auto p = policy(3);
  for (unsigned s : {408u, 425u, 429u, 500u, 503u}) EXPECT_EQ(p.judge(1, answered(s)).kind, Verdict::Kind::retry) << s;
  const Result<PartnerAnswer> reset = make_error_code(boost::asio::error::connection_reset);
  EXPECT_EQ(p.judge(2, reset).kind, Verdict::Kind::retry);
  const Verdict last = p.judge(3, reset);
  EXPECT_EQ(last.kind, Verdict::Kind::dead_letter);
  EXPECT_EQ(last.dead_letter.reason, "gave up after 3 attempts; last: reset: " + reset.error().message());
  EXPECT_EQ(last.dead_letter.status, 0u);
}

TEST(DeliveryPolicy, AFailureIsDescribedByItsClassNamingTheDeadline) {
  DeliveryPolicy p({.retry_base = 100ms, .retry_max_delay = 1s, .max_attempts = 2,
                    .retryable = *RetryableStatuses::parse("5xx"), .timeouts = {.connect = 2s, .request = 300ms}});
  const Result<PartnerAnswer> timeout = make_error_code(http::ClientError::request_timeout);
  const Verdict first = p.judge(1, timeout);
  EXPECT_EQ(first.kind, Verdict::Kind::retry);
  EXPECT_EQ(first.failure, "timeout: no answer within REQUEST_TIMEOUT (300ms)");  // what the log says
  const Verdict last = p.judge(2, timeout);
  EXPECT_EQ(last.dead_letter.reason, "gave up after 2 attempts; last: timeout: no answer within REQUEST_TIMEOUT (300ms)");
  EXPECT_EQ(p.judge(2, make_error_code(http::ClientError::connect_timeout)).dead_letter.reason,
            "gave up after 2 attempts; last: connect_timeout: no connection within CONNECT_TIMEOUT (2s)");
  EXPECT_EQ(p.judge(2, make_error_code(boost::asio::error::connection_refused)).dead_letter.reason,
            "gave up after 2 attempts; last: refused: Connection refused");
  EXPECT_EQ(p.judge(2, make_error_code(http::ClientError::response_too_large)).dead_letter.reason,
            "gave up after 2 attempts; last: too_large: response too large");
  EXPECT_EQ(p.judge(1, answered(503)).failure, "partner answered 503");
}

TEST(DeliveryPolicy, OtherStatusesAreDeadLetteredAtOnceWithTheStartOfTheAnswer) {
  auto p = policy();
  const Verdict v = p.judge(1, answered(400, "", std::string(600, 'e')));
  EXPECT_EQ(v.kind, Verdict::Kind::dead_letter);
  EXPECT_EQ(v.dead_letter.reason, "partner answered 400");
  EXPECT_EQ(v.dead_letter.status, 400u);
  EXPECT_EQ(v.dead_letter.response.size(), 512u);
  EXPECT_EQ(p.judge(1, answered(404)).kind, Verdict::Kind::dead_letter);
  EXPECT_EQ(p.judge(1, answered(301)).kind, Verdict::Kind::dead_letter);
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

TEST(DeliveryPolicy, RetryAfterSetsTheEarliestRetryInSecondsOrAsAnHttpDate) {
  auto p = policy();
  const auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(p.judge(1, answered(503, "30"), now).delay, 30s);
  EXPECT_EQ(p.judge(1, answered(429, "Sun, 06 Nov 1994 08:50:37 GMT"), now).delay, 60s);
  EXPECT_LE(p.judge(1, answered(503, "Sun, 06 Nov 1994 08:40:00 GMT"), now).delay, 100ms);  // past: backoff only
  EXPECT_LE(p.judge(1, answered(503, "soon"), now).delay, 100ms);                            // unreadable: ignored
  EXPECT_EQ(parse_retry_after("  120 ", now), 120s);
  EXPECT_EQ(parse_retry_after("", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("-5", now), std::nullopt);
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
