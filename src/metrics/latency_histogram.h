// Latency distribution with bounded memory and ~3% relative error: values in
// microseconds fall into log-linear buckets (32 sub-buckets per power of two),
// so a million samples cost the same as ten. One writer; merge after the
// writers have stopped.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

namespace conveyor::metrics {

class LatencyHistogram {
 public:
  void record(std::chrono::microseconds value) noexcept;
  void merge(const LatencyHistogram& other) noexcept;

  std::uint64_t count() const noexcept { return count_; }
  // The smallest recorded-bucket value v such that at least q (0..1) of the
  // samples are <= v; zero when empty. Reports the bucket's upper bound.
  std::chrono::microseconds quantile(double q) const noexcept;
  std::chrono::microseconds max() const noexcept { return std::chrono::microseconds(max_); }

 private:
  static constexpr int kSubBits = 5;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = (64 - kSubBits + 1) * kSub;

  static std::size_t bucket_of(std::uint64_t v) noexcept;
  static std::uint64_t upper_bound_of(std::size_t bucket) noexcept;

  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace conveyor::metrics
