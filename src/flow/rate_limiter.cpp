#include "flow/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace conveyor::flow {

GcraConstants GcraConstants::of(const Rate& rate, double ticks_per_second) {
  // Written so that NaN fails too.
  if (!(rate.per_second > 0) || !std::isfinite(rate.per_second)) {
    throw std::invalid_argument("rate must be a positive number of calls per second");
  }
  if (!(rate.burst >= 1) || !std::isfinite(rate.burst)) {
    throw std::invalid_argument("burst must be at least 1");
  }
  const double interval = std::ceil(ticks_per_second / rate.per_second);
  if (interval > 1e15) throw std::invalid_argument("rate is too low");
  GcraConstants c;
  c.interval = std::max<std::int64_t>(1, static_cast<std::int64_t>(interval));
  // floor(burst) whole units fit at once: a fractional burst cannot start a fraction of a call.
  c.tolerance = static_cast<std::int64_t>(std::floor(rate.burst)) * c.interval;
  return c;
}

RateLimiter::RateLimiter(const Rate& rate) : rate_(rate), gcra_(GcraConstants::of(rate, 1e9)) {}

Grant RateLimiter::take(std::size_t wanted, Clock::time_point now) {
  const std::int64_t t = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  std::int64_t tat = tat_.load(std::memory_order_relaxed);
  for (;;) {
    // A unit fits while the TAT after it stays within now + tolerance (a bucket of `burst` tokens).
    const std::int64_t from = std::max(tat, t);
    const std::int64_t room = std::max<std::int64_t>(0, (t + gcra_.tolerance - from) / gcra_.interval);
    const auto granted = static_cast<std::size_t>(std::min<std::int64_t>(room, static_cast<std::int64_t>(
                                                                                   std::min<std::size_t>(wanted, INT64_MAX))));
    const std::int64_t next = from + static_cast<std::int64_t>(granted) * gcra_.interval;
    if (granted > 0 && !tat_.compare_exchange_weak(tat, next, std::memory_order_relaxed)) continue;
    Grant grant{granted, now};
    if (granted < wanted) {
      // The next unit fits once now' + tolerance >= next + interval.
      grant.retry_at = Clock::time_point(std::chrono::nanoseconds(std::max(t, next + gcra_.interval - gcra_.tolerance)));
    }
    return grant;
  }
}

}  // namespace conveyor::flow
