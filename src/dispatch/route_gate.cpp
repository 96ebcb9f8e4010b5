#include "dispatch/route_gate.h"

#include <algorithm>
#include <cstdint>

namespace conveyor::dispatch {

RouteGate::RouteGate(std::string name, std::size_t concurrency, std::unique_ptr<RateLimit> rate,
                     std::unique_ptr<ConcurrencyLimit> adaptive)
    : name_(std::move(name)), concurrency_(concurrency), rate_(std::move(rate)), adaptive_(std::move(adaptive)) {}

std::size_t RouteGate::limit() const {
  std::size_t limit = concurrency_ == 0 ? SIZE_MAX : concurrency_;
  if (adaptive_) limit = std::min(limit, std::max<std::size_t>(adaptive_->limit(), 1));
  return limit;
}

Admission RouteGate::admit(std::size_t wanted, SteadyTime now) {
  Admission a;
  if (wanted == 0) return a;
  const SteadyTime paused = paused_until();
  if (now < paused) {
    a.waiting_for = Admission::Wait::pause;
    a.retry_at = paused;
    return a;
  }
  // Slots first (a CAS loop: lanes race for the same slots), then rate grants for those only.
  const std::size_t cap = limit();
  std::size_t taken = 0;
  std::size_t current = in_flight_.load(std::memory_order_relaxed);
  do {
    taken = current >= cap ? 0 : std::min(wanted, cap - current);
    if (taken == 0) break;
  } while (!in_flight_.compare_exchange_weak(current, current + taken, std::memory_order_relaxed));
  if (taken < wanted) a.waiting_for = Admission::Wait::slots;
  if (taken > 0 && rate_) {
    const RateGrant grant = rate_->take(taken, now);
    if (grant.granted < taken) {
      in_flight_.fetch_sub(taken - grant.granted, std::memory_order_relaxed);
      taken = grant.granted;
      a.waiting_for = Admission::Wait::rate;
      a.retry_at = grant.retry_at;
    }
  }
  a.admitted = taken;
  return a;
}

void RouteGate::finish(std::chrono::microseconds latency, bool overload, std::size_t in_flight_at_start) {
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  if (adaptive_) adaptive_->record(latency, overload, in_flight_at_start);
  // Weight 1/16: follows a change within a few dozen calls. Lanes may race on it; any recent
  // value will do for an estimate.
  const std::int64_t old = typical_latency_us_.load(std::memory_order_relaxed);
  const std::int64_t sample = latency.count();
  typical_latency_us_.store(old == 0 ? sample : old + (sample - old) / 16, std::memory_order_relaxed);
}

void RouteGate::pause_until(SteadyTime until) {
  SteadyTime::rep current = paused_until_.load(std::memory_order_relaxed);
  const SteadyTime::rep wanted = until.time_since_epoch().count();
  while (current < wanted && !paused_until_.compare_exchange_weak(current, wanted, std::memory_order_relaxed)) {
  }
}

}  // namespace conveyor::dispatch
