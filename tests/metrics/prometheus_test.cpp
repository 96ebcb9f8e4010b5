// The exposition writer: HELP and TYPE lines, label values escaped as the format requires, and
// numbers that read back exactly. (The integration suite parses a live page with the reference
// parser, python3-prometheus-client.)
#include "metrics/prometheus.h"

#include <gtest/gtest.h>

#include <limits>

namespace conveyor::metrics {
namespace {

TEST(Exposition, WritesFamiliesAndSamples) {
  Exposition e;
  e.family("conveyor_messages_total", "counter", "Messages.\nSecond line \\ here.");
  e.sample("conveyor_messages_total", {{"outcome", "delivered"}}, 42);
  e.sample("conveyor_in_flight", 0.25);
  EXPECT_EQ(e.text(),
            "# HELP conveyor_messages_total Messages.\\nSecond line \\\\ here.\n"
            "# TYPE conveyor_messages_total counter\n"
            "conveyor_messages_total{outcome=\"delivered\"} 42\n"
            "conveyor_in_flight 0.25\n");
}

TEST(Exposition, EscapesLabelValues) {
  Exposition e;
  e.sample("m", {{"shard", "a\"b\\c\nd"}, {"state", "x"}}, 1);
  EXPECT_EQ(e.text(), "m{shard=\"a\\\"b\\\\c\\nd\",state=\"x\"} 1\n");
}

TEST(Exposition, WritesSpecialAndLargeValues) {
  Exposition e;
  e.sample("a", std::numeric_limits<double>::infinity());
  e.sample("b", std::numeric_limits<double>::quiet_NaN());
  e.sample("c", 1e6);
  e.sample("d", 18446744073709551615.0);
  EXPECT_EQ(e.text(), "a +Inf\nb NaN\nc 1000000\nd 1.8446744073709552e+19\n");
}

}  // namespace
}  // namespace conveyor::metrics
