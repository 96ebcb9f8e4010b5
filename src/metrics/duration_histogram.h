// Partner-call durations in Prometheus' fixed buckets (5 ms … 30 s, then +Inf), readable live:
// one lane's thread records, any thread takes a snapshot, and snapshots of every lane merge into
// the process's histogram on read. Recording is a dozen comparisons and two relaxed stores.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "metrics/counter.h"

namespace conveyor::metrics {

class DurationHistogram {
 public:
  // Upper bounds in seconds, as Prometheus' `le` labels; a last bucket (+Inf) follows.
  static constexpr std::array<double, 12> kBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                     0.5,   1,    2.5,   5,    10,  30};
  static constexpr std::size_t kBuckets = kBounds.size() + 1;

  // Per-bucket counts (not cumulative), the sum and the count, at one moment.
  struct Snapshot {
    std::array<std::uint64_t, kBuckets> buckets{};
    std::uint64_t sum_us = 0;
    std::uint64_t count = 0;

    void merge(const Snapshot& other) noexcept;
    // What was recorded between `earlier` and this snapshot.
    Snapshot since(const Snapshot& earlier) const noexcept;
    double sum_seconds() const noexcept { return static_cast<double>(sum_us) / 1e6; }
    // Estimated q-quantile (0..1) in seconds by linear interpolation inside its bucket, as
    // Prometheus' histogram_quantile does; 0 when empty; the last finite bound past it.
    double quantile(double q) const noexcept;
  };

  void record(std::chrono::microseconds duration) noexcept;
  Snapshot snapshot() const noexcept;

 private:
  std::array<Counter, kBuckets> buckets_;
  Counter sum_us_;
  Counter count_;
};

}  // namespace conveyor::metrics
