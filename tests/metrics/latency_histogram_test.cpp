#include "metrics/latency_histogram.h"

#include <gtest/gtest.h>

#include "metrics/run_report.h"

namespace conveyor::metrics {
namespace {

using std::chrono::microseconds;

TEST(LatencyHistogram, EmptyIsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.quantile(0.5), microseconds(0));
}

TEST(LatencyHistogram, QuantilesWithinThreePercent) {
  LatencyHistogram h;
  for (int v = 1; v <= 100'000; ++v) h.record(microseconds(v));
  EXPECT_EQ(h.count(), 100'000u);
  const double p50 = static_cast<double>(h.quantile(0.50).count());
  const double p99 = static_cast<double>(h.quantile(0.99).count());
  EXPECT_NEAR(p50, 50'000, 50'000 * 0.03);
  EXPECT_NEAR(p99, 99'000, 99'000 * 0.03);
  EXPECT_EQ(h.quantile(1.0), microseconds(100'000));
  EXPECT_EQ(h.max(), microseconds(100'000));
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  LatencyHistogram h;
  for (int v : {3, 3, 7, 20}) h.record(microseconds(v));
  EXPECT_EQ(h.quantile(0.5), microseconds(3));
  EXPECT_EQ(h.quantile(0.75), microseconds(7));
  EXPECT_EQ(h.quantile(1.0), microseconds(20));
}

TEST(LatencyHistogram, MergeAddsSamples) {
  LatencyHistogram a, b;
  for (int i = 0; i < 100; ++i) a.record(microseconds(1000));
  for (int i = 0; i < 100; ++i) b.record(microseconds(900'000));
  a.merge(b);
  EXPECT_EQ(a.count(), 200u);
  EXPECT_NEAR(static_cast<double>(a.quantile(0.99).count()), 900'000, 900'000 * 0.03);
  EXPECT_NEAR(static_cast<double>(a.quantile(0.25).count()), 1000, 1000 * 0.03);
}

TEST(RunReport, SumsLanes) {
  DeliveryStats one, two;
  one.delivered.add(10);
  two.delivered.add(30);
  one.failed.add(2);
  one.peak_in_flight.raise_to(5);
  two.peak_in_flight.raise_to(7);
  for (int i = 0; i < 40; ++i) (i < 10 ? one : two).latency.record(microseconds(2000));
  const DeliveryStats* lanes[] = {&one, &two};
  const RunReport r = RunReport::from(lanes, std::chrono::seconds(2));
  EXPECT_EQ(r.delivered, 40u);
  EXPECT_EQ(r.failed, 2u);
  EXPECT_EQ(r.peak_in_flight, 12u);
  EXPECT_DOUBLE_EQ(r.messages_per_second, 20.0);
  EXPECT_NEAR(r.latency_p50_ms, 2.0, 0.06);
  EXPECT_EQ(r.to_json().at("delivered").as_uint64(), 40u);
}

}  // namespace
}  // namespace conveyor::metrics
