#include "dispatch/circuit_breaker.h"

#include <algorithm>

namespace conveyor::dispatch {

bool CircuitBreaker::allow(Clock::time_point now) {
  switch (state_) {
    case State::closed:
      return true;
    case State::open:
      if (now < reopens_at_) return false;
      state_ = State::half_open;
      probing_ = false;
      [[fallthrough]];
    case State::half_open:
      if (probing_) return false;
      probing_ = true;
      return true;
  }
  return true;
}

void CircuitBreaker::record(bool partner_unwell, Clock::time_point now) {
  if (options_.threshold == 0) return;
  if (!partner_unwell) {
    state_ = State::closed;
    failures_ = 0;
    probing_ = false;
    cooldown_ = options_.cooldown;
    return;
  }
  if (state_ == State::half_open) {  // the probe failed: longer next time
    probing_ = false;
    cooldown_ = std::min(cooldown_ * 2, std::max(options_.max_cooldown, options_.cooldown));
    state_ = State::open;
    reopens_at_ = now + cooldown_;
    return;
  }
  if (state_ == State::closed && ++failures_ >= options_.threshold) {
    state_ = State::open;
    reopens_at_ = now + cooldown_;
  }
}

}  // namespace conveyor::dispatch
