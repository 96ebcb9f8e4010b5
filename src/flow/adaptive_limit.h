// Adaptive concurrency for one route in one process: finds, and keeps tracking, the number of calls
// in flight at which the partner's latency stays near its unloaded latency, within [1, max].
// Shared by every lane of the process: limit() is one relaxed atomic load (read at every call
// start); on_result() takes a small mutex (a few dozen nanoseconds per completed call, never held
// across I/O) and may be called from any thread.
//
// The algorithm (docs/flow-control.md, "Adaptive concurrency"): TCP-style slow start, then AIMD
// driven by latency and overload, as in Vector's adaptive request concurrency (ARC) and Netflix's
// concurrency-limits (its Gradient2's tolerance of RTT over the unloaded RTT):
//   - Results are judged a window at a time: a window closes after max(limit, kMinWindow) results
//     of calls that STARTED after the last change of the limit (older calls measured the old
//     limit), and its mean latency is compared with the baseline, the lowest window mean seen in
//     the last kBaselineHorizon (BBR's min-RTT filter: it expires, so a partner whose unloaded
//     latency changes is followed).
//   - Slow start: while the window's mean stays within kTolerance × baseline, double the limit.
//     The first window above it (or an overload) halves the limit, back to the last good one,
//     and ends slow start. From 16 to 256 takes four doublings, about eight round trips.
//   - Then AIMD: a window within tolerance adds ceil(sqrt(limit)) (a fixed +1 per round trip
//     would take minutes to move by hundreds); a window above it multiplies by kDecrease.
//   - Overload (429, 503, a timeout) decreases at once, without waiting for the window, once
//     more than kOverloadShare of the limit (and at least two) were overloads in the window; results of calls
//     started before the last decrease are ignored (one decrease per round trip, as TCP).
//   - The limit grows only when the window saw at least half of the limit in flight: a route
//     that is not using its limit learns nothing about a larger one (Netflix's rule).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>

namespace conveyor::flow {

// How a completed call answered, for the limit. Overload: 429, 503, or a timeout. Everything else
// (2xx, other 4xx and 5xx, unreachable) is ok: its latency counts, it is no back-pressure.
enum class Signal { ok, overload };

class AdaptiveLimit {
 public:
  using Clock = std::chrono::steady_clock;

  // Limit at start: ramps from here by slow start (Netflix's initial limit is 20; a power of two
  // keeps the doublings round). Clamped to max.
  static constexpr std::size_t kInitial = 16;
  // A window judges at least this many results: the mean of fewer is too noisy to compare
  // against 1.2 × baseline (a partner's latency jitters by more than 20 % call to call).
  static constexpr std::size_t kMinWindow = 16;
  // The mean latency may be this many times the baseline before the limit comes down. Latency
  // that grows with the square of the overload (a congested server) reaches 1.2 × at 1.1 × its
  // capacity, so the limit stays within 10 % above the knee; below it, latency is flat and
  // gives no signal, so the AIMD saw-tooth probes the knee from below.
  static constexpr double kTolerance = 1.2;
  // Multiplicative decrease: Vector ARC's decrease_ratio (0.9). Halving, as TCP does, would
  // drop to half the partner's capacity at every probe.
  static constexpr double kDecrease = 0.9;
  // Overloads in a window that trigger an immediate decrease: more than 2 % of the limit, and at
  // least two, so that a partner failing 1 % of calls at random does not pin the limit down (one
  // stray 503 per window would), while a partner refusing what exceeds its limit (many 429s at
  // once) is answered within the round trip.
  static constexpr double kOverloadShare = 0.02;
  static constexpr std::size_t kOverloadsAtLeast = 2;
  // How long the unloaded latency (baseline) is remembered: BBR's min-RTT window (10 s).
  static constexpr std::chrono::seconds kBaselineHorizon{10};

  // `max` (>= 1; 0 is taken as 1) is the route's concurrency. `now` is for tests in virtual time.
  explicit AdaptiveLimit(std::size_t max, Clock::time_point now = Clock::now());
  AdaptiveLimit(const AdaptiveLimit&) = delete;
  AdaptiveLimit& operator=(const AdaptiveLimit&) = delete;

  // Calls that may be in flight on the route now, in [1, max].
  std::size_t limit() const { return limit_.load(std::memory_order_relaxed); }
  std::size_t max() const { return max_; }

  // One completed call: its latency (start to answer; a timeout's is the timeout), how it
  // answered, and the route's calls in flight in this process when it started (itself included).
  // Never fails; a latency below zero is taken as zero.
  void on_result(std::chrono::nanoseconds latency, Signal signal, std::size_t in_flight,
                 Clock::time_point now = Clock::now());

  // True until the first sign of congestion (for metrics and tests).
  bool in_slow_start() const;

 private:
  void change(std::size_t limit, Clock::time_point now, bool decrease);  // mutex held
  void close_window(Clock::time_point now);                              // mutex held
  double baseline(Clock::time_point now, double window_mean);            // mutex held

  const std::size_t max_;
  std::atomic<std::size_t> limit_;

  mutable std::mutex mutex_;  // guards everything below
  bool slow_start_ = true;
  Clock::time_point changed_at_;    // the limit's last change: older calls measured the old one
  Clock::time_point decreased_at_;  // its last decrease: older calls' overloads are ignored
  // The window being collected.
  std::size_t count_ = 0;
  double latency_sum_ = 0;  // seconds
  std::size_t overloads_ = 0;
  std::size_t most_in_flight_ = 0;
  // Lowest window mean (seconds) in the current and the previous half of kBaselineHorizon.
  double baseline_current_;
  double baseline_previous_;
  Clock::time_point baseline_rotated_at_;
};

}  // namespace conveyor::flow
