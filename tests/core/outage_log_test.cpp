// The outage log policy with exact times: a line per attempt in the first minute, then one
// summary a minute with the duration and the latest reason, and one line on recovery.
#include "core/outage_log.h"

#include <gtest/gtest.h>

#include <vector>

namespace conveyor {
namespace {

using namespace std::chrono_literals;

const OutageLog::TimePoint t0 = OutageLog::TimePoint{} + 1000h;  // any start

TEST(OutageLog, SaysNothingWhileAllIsWell) {
  OutageLog log("redis (queue orders)");
  EXPECT_EQ(log.succeeded(t0), std::nullopt);
  EXPECT_EQ(log.succeeded(t0 + 5s), std::nullopt);
  EXPECT_FALSE(log.in_outage());
}

TEST(OutageLog, LogsEveryAttemptInTheFirstMinuteWithItsReason) {
  OutageLog log("redis (queue orders)");
  EXPECT_EQ(log.failed(t0, "Connection refused", 50ms),
            "redis (queue orders) unreachable: Connection refused; next attempt in 50ms");
  EXPECT_EQ(log.failed(t0 + 50ms, "Connection refused", 100ms),
            "redis (queue orders) unreachable: Connection refused; next attempt in 100ms");
  EXPECT_EQ(log.failed(t0 + 30s, "WRONGPASS invalid username-password pair"),
            "redis (queue orders) unreachable: WRONGPASS invalid username-password pair");
  EXPECT_TRUE(log.failed(t0 + 59'999ms, "Connection refused", 2s).has_value());
  EXPECT_TRUE(log.in_outage());
}

TEST(OutageLog, AfterTheFirstMinuteLogsOneSummaryPerMinute) {
  OutageLog log("redis");
  ASSERT_TRUE(log.failed(t0, "Connection refused"));
  // Attempts every 2 s for 5 minutes: the first minute's lines, then one per minute.
  std::vector<std::string> summaries;
  for (auto at = t0 + 60s; at <= t0 + 5min + 1s; at += 2s) {
    if (auto line = log.failed(at, "Connection refused", 2s)) summaries.push_back(*line);
  }
  EXPECT_EQ(summaries, (std::vector<std::string>{
                           "redis unreachable for 1m: Connection refused",
                           "redis unreachable for 2m: Connection refused",
                           "redis unreachable for 3m: Connection refused",
                           "redis unreachable for 4m: Connection refused",
                           "redis unreachable for 5m: Connection refused",
                       }));
}

TEST(OutageLog, ASummaryQuotesTheLatestReasonAndSkipsSilentMinutes) {
  OutageLog log("redis");
  ASSERT_TRUE(log.failed(t0, "Connection refused"));
  EXPECT_EQ(log.failed(t0 + 61s, "Connection timed out"), "redis unreachable for 1m: Connection timed out");
  EXPECT_EQ(log.failed(t0 + 90s, "Connection timed out"), std::nullopt);
  // No attempt for three minutes: one line, not a catch-up burst.
  EXPECT_EQ(log.failed(t0 + 5min + 10s, "Connection refused"), "redis unreachable for 5m: Connection refused");
  EXPECT_EQ(log.failed(t0 + 5min + 20s, "Connection refused"), std::nullopt);
  EXPECT_TRUE(log.failed(t0 + 6min, "Connection refused"));
}

TEST(OutageLog, SaysOnceWhenItIsBackAndStartsAfreshNextTime) {
  OutageLog log("redis");
  ASSERT_TRUE(log.failed(t0, "Connection refused"));
  for (auto at = t0 + 1s; at < t0 + 3min; at += 1s) log.failed(at, "Connection refused");
  EXPECT_EQ(log.succeeded(t0 + 3min + 12s), "redis reachable again after 3m12s");
  EXPECT_FALSE(log.in_outage());
  EXPECT_EQ(log.succeeded(t0 + 3min + 13s), std::nullopt);
  // A new outage is verbose again for its own first minute.
  EXPECT_EQ(log.failed(t0 + 10min, "Connection reset by peer"), "redis unreachable: Connection reset by peer");
  EXPECT_EQ(log.succeeded(t0 + 10min + 1500ms), "redis reachable again after 1.5s");
}

TEST(OutageLog, HonoursShorterPeriods) {
  OutageLog log("redis", {.verbose_for = 2s, .summary_every = 1s});
  EXPECT_TRUE(log.failed(t0, "x"));
  EXPECT_TRUE(log.failed(t0 + 1s, "x"));
  EXPECT_TRUE(log.failed(t0 + 2s, "x"));  // the first summary is due at once
  EXPECT_FALSE(log.failed(t0 + 2500ms, "x"));
  EXPECT_TRUE(log.failed(t0 + 3s, "x"));
}

TEST(OutageLog, FormatsElapsedTimesForPeople) {
  EXPECT_EQ(format_elapsed(850ms), "850ms");
  EXPECT_EQ(format_elapsed(12s), "12s");
  EXPECT_EQ(format_elapsed(12'345ms), "12.3s");
  EXPECT_EQ(format_elapsed(3min), "3m");
  EXPECT_EQ(format_elapsed(3min + 12s), "3m12s");
  EXPECT_EQ(format_elapsed(2h + 5min + 7s), "2h5m");
  EXPECT_EQ(format_elapsed(-5ms), "0ms");
}

}  // namespace
}  // namespace conveyor
