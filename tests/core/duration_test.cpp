#include "core/duration.h"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

using namespace std::chrono_literals;

TEST(Duration, ParsesUnits) {
  EXPECT_EQ(parse_duration("1s"), 1000ms);
  EXPECT_EQ(parse_duration("250ms"), 250ms);
  EXPECT_EQ(parse_duration("1.5s"), 1500ms);
  EXPECT_EQ(parse_duration("2m"), 120'000ms);
  EXPECT_EQ(parse_duration("1h"), 3'600'000ms);
  EXPECT_EQ(parse_duration("1d"), 86'400'000ms);  // a day is 24 hours
  EXPECT_EQ(parse_duration("180d"), std::chrono::hours(24 * 180));
  EXPECT_EQ(parse_duration("0.5d"), 12h);
  EXPECT_EQ(parse_duration("0d"), 0ms);
  EXPECT_EQ(parse_duration("3"), 3000ms);  // a bare number is seconds
  EXPECT_EQ(parse_duration("0"), 0ms);
}

TEST(Duration, RefusesGarbage) {
  for (const char* bad : {"", "s", "-1s", "1 s", "1sec", "1D", "1 d", "1dd", "abc", "1e300s", "nan"}) {
    EXPECT_EQ(parse_duration(bad), std::nullopt) << bad;
  }
}

TEST(Duration, FormatsRoundTrip) {
  EXPECT_EQ(format_duration(30s), "30s");
  EXPECT_EQ(format_duration(250ms), "250ms");
  EXPECT_EQ(parse_duration(format_duration(1500ms)), 1500ms);
  EXPECT_EQ(format_duration(std::chrono::hours(24 * 180)), "180d");
  EXPECT_EQ(format_duration(24h), "1d");
  EXPECT_EQ(format_duration(36h), "129600s");  // not whole days: seconds
  EXPECT_EQ(format_duration(0ms), "0s");
  EXPECT_EQ(parse_duration(format_duration(std::chrono::hours(24 * 180))), std::chrono::hours(24 * 180));
}

}  // namespace
}  // namespace conveyor
