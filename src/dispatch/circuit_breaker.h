// A circuit breaker for one partner, per lane: after `threshold` consecutive failures that say
// the partner is unwell (no answer, 429, 5xx) it opens and no call starts for `cooldown`; then
// one probe goes through (half-open). A probe that succeeds closes it; one that fails opens it
// again for twice as long, up to `max_cooldown`. A partner that is down thus costs a lane a
// probe per cooldown, not a storm of doomed calls and CPU.
#pragma once

#include <chrono>
#include <cstdint>

#include "core/duration.h"

namespace conveyor::dispatch {

struct CircuitOptions {
  std::uint32_t threshold = 20;  // consecutive failures that open it; 0 disables the breaker
  Duration cooldown{1'000};      // first open period
  Duration max_cooldown{30'000};
};

class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;
  enum class State { closed, open, half_open };

  explicit CircuitBreaker(CircuitOptions options) : options_(options), cooldown_(options.cooldown) {}

  // May a call start now? While open, no; when the cooldown has passed, yes for exactly one
  // probe at a time (half-open).
  bool allow(Clock::time_point now);
  // Is it worth taking new work from the queue now? Not while open, nor while the probe is out.
  bool admits_work(Clock::time_point now) const {
    if (state_ == State::open) return now >= reopens_at_;
    return state_ == State::closed || !probing_;
  }
  // The outcome of a call that allow() let through.
  void record(bool partner_unwell, Clock::time_point now);

  State state() const { return state_; }
  // While open: when a probe will be allowed.
  Clock::time_point reopens_at() const { return reopens_at_; }

 private:
  CircuitOptions options_;
  State state_ = State::closed;
  std::uint32_t failures_ = 0;  // consecutive, while closed
  bool probing_ = false;        // the half-open probe is out
  Duration cooldown_;
  Clock::time_point reopens_at_{};
};

}  // namespace conveyor::dispatch
