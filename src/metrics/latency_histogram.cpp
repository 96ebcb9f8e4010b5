#include "metrics/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace conveyor::metrics {

std::size_t LatencyHistogram::bucket_of(std::uint64_t v) noexcept {
  if (v < static_cast<std::uint64_t>(kSub)) return static_cast<std::size_t>(v);
  const int msb = 63 - std::countl_zero(v);  // >= kSubBits
  const int shift = msb - kSubBits;
  const std::uint64_t sub = (v >> shift) & (kSub - 1);
  return static_cast<std::size_t>((shift + 1) * kSub + sub);
}

std::uint64_t LatencyHistogram::upper_bound_of(std::size_t bucket) noexcept {
  if (bucket < static_cast<std::size_t>(kSub)) return bucket;
  const int shift = static_cast<int>(bucket / kSub) - 1;
  const std::uint64_t sub = bucket % kSub;
  const std::uint64_t base = (static_cast<std::uint64_t>(kSub) | sub) << shift;
  return base + ((std::uint64_t{1} << shift) - 1);
}

void LatencyHistogram::record(std::chrono::microseconds value) noexcept {
  const std::uint64_t v = value.count() > 0 ? static_cast<std::uint64_t>(value.count()) : 0;
  ++buckets_[bucket_of(v)];
  ++count_;
  max_ = std::max(max_, v);
}

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept {
  for (std::size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

std::chrono::microseconds LatencyHistogram::quantile(double q) const noexcept {
  if (count_ == 0) return std::chrono::microseconds(0);
  q = std::clamp(q, 0.0, 1.0);
  const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      return std::chrono::microseconds(static_cast<std::int64_t>(std::min(upper_bound_of(i), max_)));
    }
  }
  return std::chrono::microseconds(static_cast<std::int64_t>(max_));
}

}  // namespace conveyor::metrics
