// The text of the terminal's live lines: work's status line and publish's progress bar.
#include "cli/live_line.h"

#include <gtest/gtest.h>

namespace conveyor::cli {
namespace {

using namespace std::chrono_literals;

TEST(LiveLine, CountsHaveThousandsSeparators) {
  EXPECT_EQ(format_count(0), "0");
  EXPECT_EQ(format_count(999), "999");
  EXPECT_EQ(format_count(1000), "1,000");
  EXPECT_EQ(format_count(1234567), "1,234,567");
  EXPECT_EQ(format_count(18446744073709551615ull), "18,446,744,073,709,551,615");
}

TEST(LiveLine, EtaUsesTwoUnitsAtMost) {
  EXPECT_EQ(format_eta(0s), "0s");
  EXPECT_EQ(format_eta(-5s), "0s");
  EXPECT_EQ(format_eta(42s), "42s");
  EXPECT_EQ(format_eta(185s), "3m05s");
  EXPECT_EQ(format_eta(3600s + 125s), "1h02m");
  EXPECT_EQ(format_eta(2 * 86400s + 3 * 3600s + 59s), "2d03h");
}

TEST(LiveLine, ShowsEveryFigureWithBacklogAndEta) {
  const LiveFigures f{.delivered = 12345, .rate = 1234.4, .in_flight = 800, .backlog = 98765, .retrying = 12,
                      .dead = 3, .eta = 80s};
  EXPECT_EQ(format_live_line(f),
            "delivered 12,345  1,234/s  in flight 800  backlog 98,765  retrying 12  dead 3  ETA 1m20s");
}

TEST(LiveLine, LeavesOutAnUnknownBacklogAndEta) {
  const LiveFigures f{.delivered = 5, .rate = 2.5, .in_flight = 1, .retrying = 0, .dead = 0};
  EXPECT_EQ(format_live_line(f), "delivered 5  2.5/s  in flight 1  retrying 0  dead 0");
}

TEST(LiveLine, ZeroRateIsShownAsZero) {
  EXPECT_EQ(format_live_line({}), "delivered 0  0/s  in flight 0  retrying 0  dead 0");
}

TEST(ProgressBar, WithACountShowsBarPercentCountRateAndEta) {
  const PublishProgress p{.published = 250, .total = 1000, .seconds = 5};
  EXPECT_EQ(format_progress_bar(p, 20), "[#####...............]  25%  250/1,000  50/s  ETA 15s");
}

TEST(ProgressBar, TheBarHasItsWidthFromEmptyToFull) {
  for (std::uint64_t done : {0ull, 1ull, 333ull, 999ull, 1000ull}) {
    const std::string line = format_progress_bar({.published = done, .total = 1000, .seconds = 1}, 30);
    ASSERT_EQ(line.front(), '[');
    EXPECT_EQ(line.find(']'), 31u) << line;
  }
  EXPECT_EQ(format_progress_bar({.published = 1000, .total = 1000, .seconds = 2}, 10),
            "[##########] 100%  1,000/1,000  500/s  ETA 0s");
  EXPECT_EQ(format_progress_bar({.published = 0, .total = 1000, .seconds = 2}, 4), "[....]   0%  0/1,000  0/s");
}

TEST(ProgressBar, AFileIsMeasuredInBytesRead) {
  const PublishProgress p{.published = 300, .bytes_read = 500, .bytes_total = 2000, .seconds = 10};
  EXPECT_EQ(format_progress_bar(p, 8), "[##......]  25%  300 published  30/s  ETA 30s");
}

TEST(ProgressBar, WithoutASizeShowsCountAndRateOnly) {
  EXPECT_EQ(format_progress_bar({.published = 123456, .seconds = 2}), "123,456 published  61,728/s");
  EXPECT_EQ(format_progress_bar({.published = 3, .bytes_total = 0, .seconds = 2}), "3 published  1.5/s");
}

TEST(ProgressBar, EtaFromTheFractionDone) {
  EXPECT_EQ(eta_from_fraction(0, 10), std::nullopt);
  EXPECT_EQ(eta_from_fraction(0.5, 0), std::nullopt);
  EXPECT_EQ(eta_from_fraction(0.5, 10), 10s);
  EXPECT_EQ(eta_from_fraction(0.1, 10), 90s);
  EXPECT_EQ(eta_from_fraction(1, 10), 0s);
}

admin::Status worker_status(bool queue_read) {
  admin::Status status;
  status.figures.delivered = 1000;
  status.figures.in_flight = 50;
  status.figures.retried = 7;
  status.figures.dead_lettered = 2;
  status.rate_per_second = 100;
  status.queue.ok = queue_read;
  status.queue.shards = {{.shard = "s:0", .waiting = 600, .in_flight = 50, .delayed = 10, .dead = 1},
                         {.shard = "s:1", .waiting = 340, .in_flight = 0, .delayed = 0, .dead = 1}};
  return status;
}

TEST(LiveFigures, FromTheWorkersStatusWithBacklogAndEtaToEmpty) {
  const LiveFigures f = live_figures(worker_status(true), true);
  EXPECT_EQ(format_live_line(f),
            "delivered 1,000  100/s  in flight 50  backlog 940  retrying 7  dead 2  ETA 10s");  // 1,000 left at 100/s
}

TEST(LiveFigures, NoEtaWithoutUntilEmptyOrARate) {
  EXPECT_EQ(live_figures(worker_status(true), false).eta, std::nullopt);  // the queue may be fed forever
  auto stalled = worker_status(true);
  stalled.rate_per_second = 0;
  EXPECT_EQ(live_figures(stalled, true).eta, std::nullopt);
  stalled.queue.shards.clear();
  EXPECT_EQ(live_figures(stalled, true).eta, std::chrono::seconds(0));  // nothing left
}

TEST(LiveFigures, NoBacklogBeforeTheQueueIsRead) {
  const LiveFigures f = live_figures(worker_status(false), true);
  EXPECT_EQ(f.backlog, std::nullopt);
  EXPECT_EQ(f.eta, std::nullopt);
}

}  // namespace
}  // namespace conveyor::cli
