#include "flow/adaptive_limit.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace conveyor::flow {
namespace {

constexpr double kNone = std::numeric_limits<double>::infinity();

}  // namespace

AdaptiveLimit::AdaptiveLimit(std::size_t max, Clock::time_point now)
    : max_(std::max<std::size_t>(1, max)),
      limit_(std::min(kInitial, max_)),
      changed_at_(now),
      decreased_at_(now),
      baseline_current_(kNone),
      baseline_previous_(kNone),
      baseline_rotated_at_(now) {}

bool AdaptiveLimit::in_slow_start() const {
  std::lock_guard lock(mutex_);
  return slow_start_;
}

void AdaptiveLimit::on_result(std::chrono::nanoseconds latency, Signal signal, std::size_t in_flight,
                              Clock::time_point now) {
  latency = std::max(latency, std::chrono::nanoseconds(0));
  const Clock::time_point started = now - latency;
  std::lock_guard lock(mutex_);
  const std::size_t limit = limit_.load(std::memory_order_relaxed);
  if (signal == Signal::overload && started >= decreased_at_) {
    ++overloads_;
    const auto threshold = std::max(kOverloadsAtLeast, static_cast<std::size_t>(kOverloadShare * limit) + 1);
    if (overloads_ >= threshold) {
      const auto lower = slow_start_ ? limit / 2 : static_cast<std::size_t>(limit * kDecrease);
      slow_start_ = false;
      change(lower, now, true);
    }
  }
  // An overload's latency says nothing of the queueing (a 503 may come back at once), and a
  // call started before the last change measured the previous limit.
  if (signal == Signal::overload || started < changed_at_) return;
  ++count_;
  latency_sum_ += std::chrono::duration<double>(latency).count();
  most_in_flight_ = std::max(most_in_flight_, in_flight);
  if (count_ >= std::max(limit, kMinWindow)) close_window(now);
}

double AdaptiveLimit::baseline(Clock::time_point now, double window_mean) {
  if (now - baseline_rotated_at_ >= kBaselineHorizon / 2) {
    baseline_previous_ = baseline_current_;
    baseline_current_ = kNone;
    baseline_rotated_at_ = now;
  }
  baseline_current_ = std::min(baseline_current_, window_mean);
  return std::min(baseline_current_, baseline_previous_);
}

void AdaptiveLimit::close_window(Clock::time_point now) {
  const std::size_t limit = limit_.load(std::memory_order_relaxed);
  const double mean = latency_sum_ / static_cast<double>(count_);
  const bool congested = mean > kTolerance * baseline(now, mean);
  const bool used = 2 * most_in_flight_ >= limit;
  if (congested) {
    const auto lower = slow_start_ ? limit / 2 : static_cast<std::size_t>(limit * kDecrease);
    slow_start_ = false;
    change(lower, now, true);
  } else if (used && limit < max_) {
    const auto step = slow_start_ ? limit : static_cast<std::size_t>(std::ceil(std::sqrt(limit)));
    change(limit + step, now, false);
  } else {
    // Nothing learnt that moves the limit: judge the next window afresh.
    count_ = 0;
    latency_sum_ = 0;
    overloads_ = 0;
    most_in_flight_ = 0;
  }
}

void AdaptiveLimit::change(std::size_t limit, Clock::time_point now, bool decrease) {
  limit = std::clamp<std::size_t>(limit, 1, max_);
  if (decrease) decreased_at_ = now;
  changed_at_ = now;
  count_ = 0;
  latency_sum_ = 0;
  overloads_ = 0;
  most_in_flight_ = 0;
  limit_.store(limit, std::memory_order_relaxed);
}

}  // namespace conveyor::flow
