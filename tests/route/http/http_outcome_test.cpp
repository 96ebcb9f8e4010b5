// HTTP calls classified into outcomes (route/http/http_outcome.h), judged by the delivery policy:
// which statuses retry, what a failure is called, and Retry-After. Pure rules, no I/O.
#include "route/http/http_outcome.h"

#include <gtest/gtest.h>

#include "dispatch/delivery_policy.h"
#include "http/client_error.h"
#include "http/retry_after.h"

#include <boost/asio/error.hpp>

namespace conveyor::route {
namespace {

using namespace std::chrono_literals;
using dispatch::Verdict;
using http::RetryableStatuses;
using http::parse_retry_after;
using PartnerAnswer = http::PartnerResponse;

PartnerAnswer answered(unsigned status, std::string retry_after = "", std::string body = "") {
  return PartnerAnswer{status, std::move(body), std::move(retry_after)};
}

// The policy as a route applies it: the call classified by its rules, then judged.
struct RoutePolicy {
  dispatch::DeliveryPolicy policy;
  HttpOutcomeRules rules;
  Verdict judge(std::uint32_t attempt, const Result<PartnerAnswer>& call,
                std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) {
    return policy.judge(attempt, classify_call(call, rules, now));
  }
};

RoutePolicy policy(std::uint32_t max_attempts = 5) {
  return {dispatch::DeliveryPolicy({.retry_base = 100ms, .retry_max_delay = 1s, .max_attempts = max_attempts}),
          {.retryable = *RetryableStatuses::parse("408,425,429,5xx"), .timeouts = {}}};
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

TEST(HttpOutcome, TwoHundredsAreAcknowledged) {
  auto p = policy();
  for (unsigned s : {200u, 201u, 204u}) EXPECT_EQ(p.judge(1, answered(s)).kind, Verdict::Kind::acknowledge);
}

TEST(HttpOutcome, RetryableFailuresRetryUntilTheLastAttempt) {
  auto p = policy(3);
  for (unsigned s : {408u, 425u, 429u, 500u, 503u}) EXPECT_EQ(p.judge(1, answered(s)).kind, Verdict::Kind::retry) << s;
  const Result<PartnerAnswer> reset = make_error_code(boost::asio::error::connection_reset);
  EXPECT_EQ(p.judge(2, reset).kind, Verdict::Kind::retry);
  const Verdict last = p.judge(3, reset);
  EXPECT_EQ(last.kind, Verdict::Kind::dead_letter);
  EXPECT_EQ(last.dead_letter.reason, "gave up after 3 attempts; last: reset: " + reset.error().message());
  EXPECT_EQ(last.dead_letter.status, 0u);
}

TEST(HttpOutcome, AFailureIsDescribedByItsClassNamingTheDeadline) {
  RoutePolicy p{dispatch::DeliveryPolicy({.retry_base = 100ms, .retry_max_delay = 1s, .max_attempts = 2}),
                {.retryable = *RetryableStatuses::parse("5xx"), .timeouts = {.connect = 2s, .request = 300ms}}};
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

TEST(HttpOutcome, OtherStatusesAreDeadLetteredAtOnceWithTheStartOfTheAnswer) {
  auto p = policy();
  const Verdict v = p.judge(1, answered(400, "", std::string(600, 'e')));
  EXPECT_EQ(v.kind, Verdict::Kind::dead_letter);
  EXPECT_EQ(v.dead_letter.reason, "partner answered 400");
  EXPECT_EQ(v.dead_letter.status, 400u);
  EXPECT_EQ(v.dead_letter.response.size(), 512u);
  EXPECT_EQ(p.judge(1, answered(404)).kind, Verdict::Kind::dead_letter);
  EXPECT_EQ(p.judge(1, answered(301)).kind, Verdict::Kind::dead_letter);
}

TEST(HttpOutcome, RetryAfterSetsTheEarliestRetryInSecondsOrAsAnHttpDate) {
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

TEST(HttpOutcome, OverloadIsA429A503OrATimeoutAndTheResultIsTheCallsClass) {
  const HttpOutcomeRules rules;
  EXPECT_TRUE(classify_call(answered(429), rules).overload);
  EXPECT_TRUE(classify_call(answered(503), rules).overload);
  EXPECT_FALSE(classify_call(answered(500), rules).overload);
  EXPECT_FALSE(classify_call(answered(400), rules).overload);
  const Result<PartnerAnswer> timeout = make_error_code(http::ClientError::request_timeout);
  EXPECT_TRUE(classify_call(timeout, rules).overload);
  EXPECT_EQ(classify_call(timeout, rules).kind, dispatch::Outcome::Kind::unreachable);
  EXPECT_EQ(classify_call(answered(404), rules).kind, dispatch::Outcome::Kind::refused);
  EXPECT_EQ(classify_call(answered(503), rules).kind, dispatch::Outcome::Kind::retry);
  EXPECT_EQ(classify_call(answered(201), rules).kind, dispatch::Outcome::Kind::accepted);
  EXPECT_EQ(classify_call(answered(503), rules).result, static_cast<std::uint8_t>(http::FailureClass::status_5xx));
  EXPECT_EQ(classify_call(timeout, rules).result, static_cast<std::uint8_t>(http::FailureClass::timeout));
  const auto now = std::chrono::system_clock::from_time_t(784111777);
  EXPECT_EQ(classify_call(answered(429, "7"), rules, now).retry_after, 7s);
  EXPECT_EQ(classify_call(answered(429), rules, now).retry_after, std::nullopt);
}

}  // namespace
}  // namespace conveyor::route
