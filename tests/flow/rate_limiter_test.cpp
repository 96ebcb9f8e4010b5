// The process rate limiter (GCRA) in virtual time: the window bound holds over a long run of
// bursts and batch takes, retry_at is exact to the nanosecond, and many threads taking at once
// never break the bound nor lose capacity.
#include "flow/rate_limiter.h"

#include <atomic>
#include <cmath>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "flow/window_check.h"

namespace conveyor::flow {
namespace {

using namespace std::chrono_literals;
using testing::Granted;
using testing::most_in_any_window;
using testing::total_of;
using Clock = RateLimiter::Clock;

const Clock::time_point kStart = Clock::time_point(1000s);

TEST(RateLimiter, AfterAnIdleSpellGrantsTheBurstAtOnceAndNoMore) {
  RateLimiter limiter(Rate{100, 20});
  const Grant grant = limiter.take(50, kStart);
  EXPECT_EQ(grant.granted, 20u);
  EXPECT_EQ(grant.retry_at, kStart + 10ms);  // one unit every 10 ms
  EXPECT_EQ(limiter.take(1, kStart + 10ms - 1ns).granted, 0u);
  EXPECT_EQ(limiter.take(5, kStart + 10ms).granted, 1u);
  EXPECT_EQ(limiter.take(5, kStart + 50ms).granted, 4u);
}

TEST(RateLimiter, RetryAtIsTheFirstInstantTheNextUnitFits) {
  RateLimiter limiter(Rate{3, 1});  // 333,333,334 ns per unit (rounded up: never faster)
  EXPECT_EQ(limiter.take(1, kStart).granted, 1u);
  const Grant denied = limiter.take(1, kStart + 1ms);
  EXPECT_EQ(denied.granted, 0u);
  EXPECT_EQ(denied.retry_at, kStart + 333'333'334ns);
  EXPECT_EQ(limiter.take(1, denied.retry_at - 1ns).granted, 0u);
  EXPECT_EQ(limiter.take(1, denied.retry_at).granted, 1u);
}

TEST(RateLimiter, AFullGrantSaysNow) {
  RateLimiter limiter(Rate{10, 10});
  const Grant grant = limiter.take(3, kStart);
  EXPECT_EQ(grant.granted, 3u);
  EXPECT_EQ(grant.retry_at, kStart);
  EXPECT_EQ(limiter.take(0, kStart).granted, 0u);
}

TEST(RateLimiter, RefusesARateOrBurstThatCannotWork) {
  EXPECT_THROW(RateLimiter(Rate{0, 10}), std::invalid_argument);
  EXPECT_THROW(RateLimiter(Rate{-1, 10}), std::invalid_argument);
  EXPECT_THROW(RateLimiter(Rate{std::nan(""), 10}), std::invalid_argument);
  EXPECT_THROW(RateLimiter(Rate{10, 0.5}), std::invalid_argument);
}

// Ten virtual minutes of bursty demand: idle spells, floods of batch takes at random instants,
// steady trickles. Every window of every length stays within rate × W + burst, and while demand
// exceeds the rate the limiter hands out the full rate.
TEST(RateLimiter, NoWindowOfALongBurstyRunExceedsRateTimesWindowPlusBurst) {
  const Rate rate{250, 40};
  RateLimiter limiter(rate);
  std::mt19937_64 random(42);
  std::vector<Granted> grants;
  auto now = kStart;
  const auto end = kStart + 600s;
  std::size_t saturated_units = 0;
  std::chrono::nanoseconds saturated_time{0};
  while (now < end) {
    const auto phase = random() % 3;
    const auto length = std::chrono::milliseconds(200 + random() % 5000);
    const auto phase_end = std::min(end, now + length);
    if (phase == 0) {  // idle: the bucket refills
      now = phase_end;
      continue;
    }
    // Flood (ask far more than the rate) or trickle (about half of it), in batches of 1..64.
    const std::size_t units_before = total_of(grants);
    const auto started = now;
    while (now < phase_end) {
      const std::size_t wanted = 1 + random() % 64;
      const Grant grant = limiter.take(wanted, now);
      if (grant.granted > 0) grants.push_back({now.time_since_epoch(), grant.granted});
      ASSERT_LE(grant.granted, wanted);
      if (grant.granted < wanted) {
        ASSERT_GT(grant.retry_at, now);
      }
      if (phase == 1) {
        now += std::chrono::nanoseconds(random() % 3'000'000);  // a flood: ~700 asks/s of ~32 units
      } else {
        now += std::chrono::nanoseconds(random() % 500'000'000);  // a trickle
      }
    }
    if (phase == 1 && now - started > 1s) {
      saturated_units += total_of(grants) - units_before;
      saturated_time += now - started;
    }
  }
  ASSERT_GT(grants.size(), 1'000u);
  for (const auto window : {1ms, 10ms, 100ms, 1000ms, 2500ms, 10'000ms, 60'000ms}) {
    const double bound = rate.per_second * std::chrono::duration<double>(window).count() + rate.burst;
    EXPECT_LE(static_cast<double>(most_in_any_window(grants, window)), bound) << window.count() << " ms";
  }
  // While flooded, the limiter gives the whole rate (plus at most one burst per flood).
  const double expected = rate.per_second * std::chrono::duration<double>(saturated_time).count();
  EXPECT_GE(static_cast<double>(saturated_units), 0.99 * expected);
}

// Eight threads take batches as fast as they can on the real clock for 0.6 s (two cores:
// preemption between reading the clock and the CAS is common, the out-of-order case).
TEST(RateLimiter, ManyThreadsHammeringKeepTheBoundAndTheRate) {
  const Rate rate{5000, 100};
  RateLimiter limiter(rate);
  constexpr int kThreads = 8;
  std::vector<std::vector<Granted>> per_thread(kThreads);
  std::atomic<bool> go{false};
  const auto stop_at = Clock::now() + 600ms;
  const auto started = Clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      std::minstd_rand random(i);
      while (!go.load()) std::this_thread::yield();
      for (auto now = Clock::now(); now < stop_at; now = Clock::now()) {
        const Grant grant = limiter.take(1 + random() % 8, now);
        if (grant.granted > 0) per_thread[i].push_back({now.time_since_epoch(), grant.granted});
      }
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::vector<Granted> grants;
  for (auto& g : per_thread) grants.insert(grants.end(), g.begin(), g.end());
  for (const auto window : {1ms, 50ms, 250ms, 500ms}) {
    const double bound = rate.per_second * std::chrono::duration<double>(window).count() + rate.burst;
    EXPECT_LE(static_cast<double>(most_in_any_window(grants, window)), bound) << window.count() << " ms";
  }
  const auto total = static_cast<double>(total_of(grants));
  EXPECT_LE(total, rate.per_second * seconds + rate.burst);
  EXPECT_GE(total, 0.9 * rate.per_second * 0.6);
}

}  // namespace
}  // namespace conveyor::flow
