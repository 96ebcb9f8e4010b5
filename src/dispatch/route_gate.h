// A route's flow control in one process, shared by every lane of it: how many calls may run at
// once (a fixed `concurrency`, or an adaptive limit below it), how fast calls may start (a rate
// limit whose scope is this process or every worker sharing a Redis), and a pause the partner
// asked for (Retry-After on a 429 or 503). Lanes call it concurrently: the slots in use are one
// atomic counter taken by compare-and-swap, the pause one atomic time; only a rate limit's take()
// may lock, briefly. Created by cli/ before the lanes start; lanes hold it by shared_ptr.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace conveyor::dispatch {

using SteadyTime = std::chrono::steady_clock::time_point;

// How many of `wanted` calls may start now; if fewer, when to ask again for the next one.
struct RateGrant {
  std::size_t granted = 0;
  SteadyTime retry_at{};
};

// A rate limit over any window of T seconds: at most rate × T + burst grants (flow/ implements it,
// per process or through Redis). take() is called by every lane, concurrently.
class RateLimit {
 public:
  virtual ~RateLimit() = default;
  virtual RateGrant take(std::size_t wanted, SteadyTime now) = 0;
  virtual double per_second() const = 0;
};

// An adaptive concurrency limit (flow/ implements it): read on every admission, fed every result.
class ConcurrencyLimit {
 public:
  virtual ~ConcurrencyLimit() = default;
  virtual std::size_t limit() const = 0;
  // One call ended; `in_flight`: the route's calls in flight in this process when it started.
  virtual void record(std::chrono::microseconds latency, bool overload, std::size_t in_flight) = 0;
};

struct Admission {
  enum class Wait { none, slots, rate, pause };
  std::size_t admitted = 0;  // slots taken: each must be given back through finish()
  Wait waiting_for = Wait::none;  // why fewer than wanted were admitted
  SteadyTime retry_at{};          // rate, pause: when it is worth asking again
};

class RouteGate {
 public:
  // `concurrency`: most calls in flight on the route in this process (0: no limit of its own).
  RouteGate(std::string name, std::size_t concurrency, std::unique_ptr<RateLimit> rate = nullptr,
            std::unique_ptr<ConcurrencyLimit> adaptive = nullptr);

  // Takes up to `wanted` slots and rate grants for calls starting now.
  Admission admit(std::size_t wanted, SteadyTime now);
  // A call admitted earlier has ended after `latency`; `overload` if the partner said it is
  // overloaded; `in_flight_at_start`: in_flight() when it started. Frees its slot.
  void finish(std::chrono::microseconds latency, bool overload, std::size_t in_flight_at_start);
  // A slot admitted earlier is given back unused (the call never started: shutdown).
  void cancel() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }
  // Starts no call before `until` (a later pause wins; an earlier one is ignored).
  void pause_until(SteadyTime until);

  const std::string& name() const { return name_; }
  std::size_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  // The concurrency limit in force now (SIZE_MAX: none).
  std::size_t limit() const;
  SteadyTime paused_until() const { return SteadyTime(SteadyTime::duration(paused_until_.load(std::memory_order_relaxed))); }
  // Calls per second this route may start, 0 when not rate-limited.
  double rate_per_second() const { return rate_ ? rate_->per_second() : 0.0; }
  // A recent call's latency (an exponentially weighted mean), for estimating waits.
  std::chrono::microseconds typical_latency() const {
    return std::chrono::microseconds(typical_latency_us_.load(std::memory_order_relaxed));
  }

 private:
  const std::string name_;
  const std::size_t concurrency_;
  std::unique_ptr<RateLimit> rate_;
  std::unique_ptr<ConcurrencyLimit> adaptive_;
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<SteadyTime::rep> paused_until_{0};
  std::atomic<std::int64_t> typical_latency_us_{0};
};

}  // namespace conveyor::dispatch
