// The call-duration histogram: Prometheus' buckets (a value on a bound falls in that bound's
// bucket, le = "less or equal"), snapshots that merge and subtract, and quantiles interpolated
// inside their bucket as histogram_quantile does.
#include "metrics/duration_histogram.h"

#include <gtest/gtest.h>

namespace conveyor::metrics {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(DurationHistogram, ValuesFallInTheFirstBucketWhoseBoundTheyDoNotExceed) {
  DurationHistogram h;
  h.record(microseconds(0));
  h.record(microseconds(5'000));  // exactly 0.005 s: le="0.005"
  h.record(microseconds(5'001));
  h.record(milliseconds(1'000));
  h.record(milliseconds(31'000));  // past 30 s: +Inf only
  const auto s = h.snapshot();
  EXPECT_EQ(s.buckets[0], 2u);
  EXPECT_EQ(s.buckets[1], 1u);
  EXPECT_EQ(s.buckets[7], 1u);  // le="1"
  EXPECT_EQ(s.buckets[DurationHistogram::kBuckets - 1], 1u);
  EXPECT_EQ(s.count, 5u);
  EXPECT_DOUBLE_EQ(s.sum_seconds(), 0.005 + 0.005001 + 1 + 31);
}

TEST(DurationHistogram, SnapshotsMergeAndSubtract) {
  DurationHistogram a, b;
  for (int i = 0; i < 10; ++i) a.record(milliseconds(20));
  const auto before = a.snapshot();
  for (int i = 0; i < 5; ++i) a.record(milliseconds(200));
  b.record(milliseconds(3));
  auto total = a.snapshot();
  total.merge(b.snapshot());
  EXPECT_EQ(total.count, 16u);
  const auto recent = a.snapshot().since(before);
  EXPECT_EQ(recent.count, 5u);
  EXPECT_EQ(recent.buckets[5], 5u);  // le="0.25"
  EXPECT_EQ(recent.sum_us, 1'000'000u);
}

TEST(DurationHistogram, QuantilesInterpolateInsideTheirBucket) {
  DurationHistogram h;
  EXPECT_EQ(h.snapshot().quantile(0.5), 0.0);
  for (int i = 0; i < 100; ++i) h.record(milliseconds(60));  // all in (0.05, 0.1]
  const auto s = h.snapshot();
  EXPECT_GT(s.quantile(0.5), 0.05);
  EXPECT_LE(s.quantile(0.5), 0.1);
  EXPECT_DOUBLE_EQ(s.quantile(0.5), 0.075);
  EXPECT_DOUBLE_EQ(s.quantile(1.0), 0.1);
  DurationHistogram slow;
  slow.record(milliseconds(60'000));
  EXPECT_DOUBLE_EQ(slow.snapshot().quantile(0.99), 30.0) << "+Inf reports the last finite bound";
}

}  // namespace
}  // namespace conveyor::metrics
