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
  EXPECT_EQ(parse_duration("3"), 3000ms);  // a bare number is seconds
  EXPECT_EQ(parse_duration("0"), 0ms);
}

TEST(Duration, RefusesGarbage) {
  for (const char* bad : {"", "s", "-1s", "1 s", "1sec", "abc", "1e300s", "nan"}) {
    EXPECT_EQ(parse_duration(bad), std::nullopt) << bad;
  }
}

TEST(Duration, FormatsRoundTrip) {
  EXPECT_EQ(format_duration(30s), "30s");
  EXPECT_EQ(format_duration(250ms), "250ms");
  EXPECT_EQ(parse_duration(format_duration(1500ms)), 1500ms);
}

}  // namespace
}  // namespace conveyor
