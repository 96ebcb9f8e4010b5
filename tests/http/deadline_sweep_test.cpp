// The deadline sweep on a real io_context: entries expire at their own deadlines, in any order of
// arming, disarmed entries never do, and an empty sweep holds no pending work.
#include "http/deadline_sweep.h"

#include <chrono>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;
using conveyor::http::DeadlineEntry;
using conveyor::http::DeadlineSweep;
using Clock = std::chrono::steady_clock;

struct Probe final : DeadlineEntry {
  void on_deadline() override { at = Clock::now(); }
  Clock::time_point at{};
};

TEST(DeadlineSweep, EachEntryExpiresAtItsOwnDeadlineWhateverTheOrderOfArming) {
  boost::asio::io_context io;
  auto sweep = std::make_shared<DeadlineSweep>(io.get_executor());
  const auto start = Clock::now();
  // Armed latest first, then an earlier one, as a request that waited for a slot arms late.
  const std::vector<std::chrono::milliseconds> after = {300ms, 200ms, 100ms, 250ms};
  std::vector<Probe> probes(after.size());
  for (std::size_t i = 0; i < after.size(); ++i) sweep->arm(probes[i], start + after[i]);
  Probe disarmed;
  sweep->arm(disarmed, start + 50ms);
  sweep->disarm(disarmed);
  EXPECT_EQ(sweep->armed(), after.size());

  io.run_for(5s);  // returns once the last entry expired: nothing else keeps the io_context busy
  EXPECT_LT(Clock::now() - start, 2s) << "the sweep kept the io_context busy after the last deadline";
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_TRUE(probes[i].expired());
    EXPECT_GE(probes[i].at - start, after[i]) << "entry " << i << " expired before its deadline";
    EXPECT_LT(probes[i].at - start, after[i] + 400ms) << "entry " << i << " expired late";
  }
  EXPECT_FALSE(disarmed.expired());
  EXPECT_EQ(disarmed.at, Clock::time_point{});
  EXPECT_EQ(sweep->armed(), 0u);
}

TEST(DeadlineSweep, DisarmingTheLastEntryLeavesNoPendingWork) {
  boost::asio::io_context io;
  auto sweep = std::make_shared<DeadlineSweep>(io.get_executor());
  Probe probe;
  sweep->arm(probe, Clock::now() + 1h);
  sweep->disarm(probe);
  const auto start = Clock::now();
  io.run_for(5s);
  EXPECT_LT(Clock::now() - start, 1s) << "a cancelled deadline still held the io_context";
  EXPECT_FALSE(probe.expired());
}

TEST(DeadlineSweep, AnEntryDestroyedWhileArmedLeavesTheSweep) {
  boost::asio::io_context io;
  auto sweep = std::make_shared<DeadlineSweep>(io.get_executor());
  Probe kept;
  {
    Probe gone;
    sweep->arm(gone, Clock::now() + 20ms);
    sweep->arm(kept, Clock::now() + 60ms);
  }
  EXPECT_EQ(sweep->armed(), 1u);
  io.run_for(5s);
  EXPECT_TRUE(kept.expired());
  EXPECT_EQ(sweep->armed(), 0u);
}

}  // namespace
