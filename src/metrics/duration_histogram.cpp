#include "metrics/duration_histogram.h"

#include <algorithm>

namespace conveyor::metrics {
namespace {

// kBounds in microseconds, for comparisons without floating point on the hot path.
constexpr std::array<std::int64_t, DurationHistogram::kBounds.size()> kBoundsUs = [] {
  std::array<std::int64_t, DurationHistogram::kBounds.size()> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::int64_t>(DurationHistogram::kBounds[i] * 1e6);
  return out;
}();

}  // namespace

void DurationHistogram::record(std::chrono::microseconds duration) noexcept {
  const std::int64_t us = std::max<std::int64_t>(0, duration.count());
  std::size_t bucket = 0;
  while (bucket < kBoundsUs.size() && us > kBoundsUs[bucket]) ++bucket;
  buckets_[bucket].add();
  sum_us_.add(static_cast<std::uint64_t>(us));
  count_.add();
}

DurationHistogram::Snapshot DurationHistogram::snapshot() const noexcept {
  Snapshot s;
  for (std::size_t i = 0; i < kBuckets; ++i) s.buckets[i] = buckets_[i].get();
  s.sum_us = sum_us_.get();
  // The count is the buckets' total, so a snapshot taken mid-record stays consistent.
  s.count = 0;
  for (auto n : s.buckets) s.count += n;
  return s;
}

void DurationHistogram::Snapshot::merge(const Snapshot& other) noexcept {
  for (std::size_t i = 0; i < kBuckets; ++i) buckets[i] += other.buckets[i];
  sum_us += other.sum_us;
  count += other.count;
}

DurationHistogram::Snapshot DurationHistogram::Snapshot::since(const Snapshot& earlier) const noexcept {
  Snapshot d;
  for (std::size_t i = 0; i < kBuckets; ++i) d.buckets[i] = buckets[i] - std::min(buckets[i], earlier.buckets[i]);
  d.sum_us = sum_us - std::min(sum_us, earlier.sum_us);
  d.count = count - std::min(count, earlier.count);
  return d;
}

double DurationHistogram::Snapshot::quantile(double q) const noexcept {
  if (count == 0) return 0;
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(count);
  double seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    const double in_bucket = static_cast<double>(buckets[i]);
    if (in_bucket > 0 && seen + in_bucket >= rank) {
      if (i == kBounds.size()) return kBounds.back();  // +Inf: the last finite bound
      const double lower = i == 0 ? 0.0 : kBounds[i - 1];
      return lower + (kBounds[i] - lower) * ((rank - seen) / in_bucket);
    }
    seen += in_bucket;
  }
  return kBounds.back();
}

}  // namespace conveyor::metrics
