// A rate limit for one route in one process: GCRA (the generic cell rate algorithm), i.e. a token
// bucket of `burst` tokens refilled at `per_second`, kept as one number, the theoretical arrival
// time (TAT). One RateLimiter is shared by every lane (thread) of the process; take() is lock-free
// (a CAS loop on the TAT) and may be called from any thread. The limiter owns nothing else.
//
// Guarantee: over ANY window [t, t + W] the grants total at most per_second × W + burst. A take of
// several units grants only what fits now (0..wanted), so batching never overshoots the bound.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace conveyor::flow {

// A limit as a route states it: `rate = "500/s"`, `burst = 50`.
struct Rate {
  double per_second = 0;  // > 0 and finite
  double burst = 0;       // >= 1: the calls that may start at once after an idle spell
};

// What a take() hands back: `granted` units may start now; if granted < wanted, the next unit is
// available at `retry_at` (never earlier than the `now` given); else retry_at is that `now`.
struct Grant {
  std::size_t granted = 0;
  std::chrono::steady_clock::time_point retry_at{};
};

// The GCRA's two constants in whole `Tick`s: the emission interval (one unit's worth of time,
// rounded UP so the rate is never exceeded) and the tolerance (burst × interval). Shared by the
// process limiter (nanoseconds) and the cluster limiter (microseconds, Redis TIME's unit).
// Throws std::invalid_argument for a rate that is not > 0 or a burst under 1 (start-up only: a
// route's configuration is validated before it gets here).
struct GcraConstants {
  std::int64_t interval = 0;
  std::int64_t tolerance = 0;
  static GcraConstants of(const Rate& rate, double ticks_per_second);
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // Throws std::invalid_argument as GcraConstants::of does.
  explicit RateLimiter(const Rate& rate);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Grants up to `wanted` units at `now` (a steady-clock reading; tests pass virtual times, which
  // must not go backwards by more than the caller accepts: a grant is never undone). wanted == 0
  // grants nothing and succeeds. Thread-safe, wait-free for the caller except for CAS retries
  // while other threads take at the same instant.
  Grant take(std::size_t wanted, Clock::time_point now = Clock::now());

  const Rate& rate() const { return rate_; }

 private:
  const Rate rate_;
  const GcraConstants gcra_;  // nanoseconds
  // Theoretical arrival time: nanoseconds on the steady clock. Everything the limiter knows.
  std::atomic<std::int64_t> tat_{0};
};

}  // namespace conveyor::flow
