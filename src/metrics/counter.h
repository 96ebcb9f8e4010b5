// A counter written by exactly one thread and read by any: the writer's
// increment is a plain load+store (no locked instruction on the hot path),
// readers see a recent value. Share-nothing lanes each own theirs; totals are
// sums taken on read.
#pragma once

#include <atomic>
#include <cstdint>

namespace conveyor::metrics {

class Counter {
 public:
  void add(std::uint64_t n = 1) noexcept { value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void sub(std::uint64_t n = 1) noexcept { value_.store(value_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
  void set(std::uint64_t n) noexcept { value_.store(n, std::memory_order_relaxed); }
  void raise_to(std::uint64_t n) noexcept {
    if (n > get()) set(n);
  }
  std::uint64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

}  // namespace conveyor::metrics
