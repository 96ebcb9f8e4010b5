// The adaptive limit against a simulated congested partner in virtual time (no sleeping): up to
// capacity C concurrent calls each take `delay`; beyond, latency = delay × (n / C)², n being the
// calls in progress when this one arrived; past 2C it answers 503 at once. A client with an
// endless backlog keeps limit() calls in flight and feeds every result back.
#include "flow/adaptive_limit.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <queue>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace conveyor::flow {
namespace {

using namespace std::chrono_literals;
using Clock = AdaptiveLimit::Clock;
using std::chrono::nanoseconds;

const Clock::time_point kStart = Clock::time_point(1000s);

struct Partner {
  std::size_t capacity;
  nanoseconds delay;
};

struct Sample {
  Clock::time_point at;  // when the limit was read or a call started
  std::size_t limit;
  nanoseconds latency{0};
};

// Runs the closed loop from `from` for `length`; `partner_at` gives the partner at a time (for
// capacity changes). Returns the limit after every completion and each call's latency by start.
class Simulation {
 public:
  explicit Simulation(AdaptiveLimit& limit) : limit_(limit) {}

  template <class PartnerAt>
  void run(Clock::time_point until, PartnerAt partner_at, std::size_t backlog_cap = SIZE_MAX) {
    fill(partner_at, backlog_cap);
    while (!calls_.empty() && calls_.top().done <= until) {
      const Call call = calls_.top();
      calls_.pop();
      now_ = call.done;
      --in_progress_;
      limit_.on_result(call.done - call.started, call.overload ? Signal::overload : Signal::ok, call.in_flight, now_);
      limits.push_back({now_, limit_.limit()});
      if (!call.overload) latencies.push_back({call.started, 0, call.done - call.started});
      fill(partner_at, backlog_cap);
    }
    now_ = until;
  }

  std::vector<Sample> limits;     // after each completion
  std::vector<Sample> latencies;  // per successful call, by start time

 private:
  struct Call {
    Clock::time_point started, done;
    std::size_t in_flight;
    bool overload;
    bool operator>(const Call& other) const { return done > other.done; }
  };

  template <class PartnerAt>
  void fill(PartnerAt partner_at, std::size_t backlog_cap) {
    while (in_progress_ < std::min(limit_.limit(), backlog_cap)) {
      const Partner partner = partner_at(now_);
      const std::size_t n = ++in_progress_;
      const double load = static_cast<double>(n) / static_cast<double>(partner.capacity);
      Call call{now_, now_, n, false};
      if (n > 2 * partner.capacity) {
        call.done = now_ + 1ms;
        call.overload = true;
      } else {
        call.done = now_ + (n <= partner.capacity ? partner.delay
                                                  : std::chrono::duration_cast<nanoseconds>(partner.delay * load * load));
      }
      calls_.push(call);
    }
  }

  AdaptiveLimit& limit_;
  Clock::time_point now_ = kStart;
  std::size_t in_progress_ = 0;
  std::priority_queue<Call, std::vector<Call>, std::greater<>> calls_;
};

// The first time from which the limit stays within [low, high] until the end of `limits`.
Clock::time_point settled_at(const std::vector<Sample>& limits, double low, double high) {
  Clock::time_point at = kStart;
  for (const auto& s : limits) {
    if (s.limit < low || s.limit > high) at = s.at;
  }
  return at;
}

nanoseconds p99_after(const std::vector<Sample>& latencies, Clock::time_point from) {
  std::vector<nanoseconds> after;
  for (const auto& s : latencies) {
    if (s.at >= from) after.push_back(s.latency);
  }
  if (after.empty()) return nanoseconds::max();
  std::sort(after.begin(), after.end());
  return after[after.size() * 99 / 100];
}

double seconds_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

TEST(AdaptiveLimit, SettlesNearACongestedPartnersCapacityWithinThirtySecondsAndKeepsP99Low) {
  const Partner partner{200, 200ms};
  AdaptiveLimit limit(2000, kStart);
  Simulation sim(limit);
  sim.run(kStart + 90s, [&](auto) { return partner; });

  const auto settled = settled_at(sim.limits, 0.8 * 200, 1.2 * 200);
  EXPECT_LT(settled, kStart + 30s) << "settled after " << seconds_between(kStart, settled) << " s";
  EXPECT_FALSE(limit.in_slow_start());
  const auto p99 = p99_after(sim.latencies, settled);
  EXPECT_LT(p99, 2 * partner.delay) << std::chrono::duration<double, std::milli>(p99).count() << " ms";
  // And it delivers: at least 90 % of the partner's best (C / delay = 1,000 calls a second).
  std::size_t after = 0;
  for (const auto& s : sim.latencies) after += s.at >= kStart + 30s && s.at < kStart + 89s;
  EXPECT_GE(static_cast<double>(after) / 59.0, 0.9 * 1000);
  std::size_t low = SIZE_MAX, high = 0;
  for (const auto& s : sim.limits) {
    if (s.at > settled) low = std::min(low, s.limit), high = std::max(high, s.limit);
  }
  std::printf("settled after %.1f s within [%zu, %zu], p99 %.0f ms, %.0f calls/s\n", seconds_between(kStart, settled),
              low, high, std::chrono::duration<double, std::milli>(p99).count(), static_cast<double>(after) / 59.0);
}

TEST(AdaptiveLimit, SlowStartReachesHundredsInAFewRoundTrips) {
  AdaptiveLimit limit(5000, kStart);
  Simulation sim(limit);
  sim.run(kStart + 5s, [](auto) { return Partner{1000, 100ms}; });
  // Unloaded latency up to 1,000 in flight: from 16, doubling every ~2 round trips of 100 ms.
  const auto reached = std::find_if(sim.limits.begin(), sim.limits.end(), [](const Sample& s) { return s.limit >= 500; });
  ASSERT_NE(reached, sim.limits.end());
  EXPECT_LT(reached->at, kStart + 2s);
}

TEST(AdaptiveLimit, FollowsThePartnersCapacityDownAndUp) {
  AdaptiveLimit limit(2000, kStart);
  Simulation sim(limit);
  auto partner_at = [](Clock::time_point t) {
    if (t < kStart + 40s) return Partner{200, 200ms};
    if (t < kStart + 80s) return Partner{80, 200ms};
    return Partner{500, 200ms};
  };
  sim.run(kStart + 40s, partner_at);
  sim.limits.clear();
  sim.run(kStart + 80s, partner_at);
  EXPECT_LT(settled_at(sim.limits, 0.8 * 80, 1.2 * 80), kStart + 70s);
  sim.limits.clear();
  sim.run(kStart + 120s, partner_at);
  EXPECT_LT(settled_at(sim.limits, 0.8 * 500, 1.2 * 500), kStart + 110s);
}

TEST(AdaptiveLimit, StaysWithinOneAndMax) {
  AdaptiveLimit small(3, kStart);
  EXPECT_EQ(small.limit(), 3u);
  Simulation sim(small);
  sim.run(kStart + 10s, [](auto) { return Partner{1000, 10ms}; });
  for (const auto& s : sim.limits) ASSERT_LE(s.limit, 3u);

  AdaptiveLimit limit(100, kStart);
  auto now = kStart;
  for (int i = 0; i < 200; ++i) {
    now += 10ms;
    limit.on_result(5ms, Signal::overload, 1, now);
    ASSERT_GE(limit.limit(), 1u);
  }
  EXPECT_EQ(limit.limit(), 1u);
  EXPECT_EQ(AdaptiveLimit(0, kStart).limit(), 1u);
}

TEST(AdaptiveLimit, OverloadDecreasesOncePerRoundTrip) {
  AdaptiveLimit limit(1000, kStart);
  ASSERT_EQ(limit.limit(), 16u);
  // Sixteen 503s of calls started together, answered at once: one halving, not sixteen.
  const auto now = kStart + 200ms;
  for (int i = 0; i < 16; ++i) limit.on_result(100ms, Signal::overload, 16, now);
  EXPECT_EQ(limit.limit(), 8u);
  EXPECT_FALSE(limit.in_slow_start());
  // Calls started after that decrease count again: 8 × 0.9 = 7.
  limit.on_result(10ms, Signal::overload, 8, now + 50ms);
  EXPECT_EQ(limit.limit(), 8u);  // one overload is not enough
  limit.on_result(10ms, Signal::overload, 8, now + 50ms);
  EXPECT_EQ(limit.limit(), 7u);
}

TEST(AdaptiveLimit, ARouteNotUsingItsLimitDoesNotGrowIt) {
  AdaptiveLimit limit(2000, kStart);
  Simulation sim(limit);
  sim.run(kStart + 20s, [](auto) { return Partner{1000, 50ms}; }, 4);
  EXPECT_EQ(limit.limit(), 16u);  // four in flight never reach half of 16
}

TEST(AdaptiveLimit, RandomFailuresOfOnePercentDoNotPinTheLimitDown) {
  // 1 % of calls answered 503 at random on a partner with room for 400.
  AdaptiveLimit limit(2000, kStart);
  auto now = kStart;
  std::size_t call = 0;
  for (int round = 0; round < 400; ++round) {
    now += 100ms;
    const std::size_t n = limit.limit();
    for (std::size_t i = 0; i < n; ++i, ++call) {
      const bool failed = call % 100 == 0;
      limit.on_result(failed ? 1ms : (n <= 400 ? 100ms : 300ms), failed ? Signal::overload : Signal::ok, n, now);
    }
  }
  EXPECT_GE(limit.limit(), 300u);
  EXPECT_LE(limit.limit(), 480u);
}

TEST(AdaptiveLimit, ManyThreadsFeedingResultsKeepItConsistent) {
  AdaptiveLimit limit(500);
  std::vector<std::thread> threads;
  std::atomic<bool> out_of_range{false};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50'000; ++i) {
        const bool overload = (i + t) % 997 == 0;
        limit.on_result(std::chrono::microseconds(100 + i % 50), overload ? Signal::overload : Signal::ok,
                        limit.limit());
        const auto l = limit.limit();
        if (l < 1 || l > 500) out_of_range = true;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(out_of_range);
}

}  // namespace
}  // namespace conveyor::flow
