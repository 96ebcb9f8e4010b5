// For the rate-limit tests: grants as (time, units) and the most units granted in any window
// [t, t + W], found by two pointers over the grants sorted by time (the worst window starts at a
// grant).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

namespace conveyor::flow::testing {

struct Granted {
  std::chrono::nanoseconds at;
  std::size_t units;
};

inline std::size_t most_in_any_window(std::vector<Granted> grants, std::chrono::nanoseconds window) {
  std::sort(grants.begin(), grants.end(), [](const Granted& a, const Granted& b) { return a.at < b.at; });
  std::size_t most = 0, sum = 0, end = 0;
  for (std::size_t begin = 0; begin < grants.size(); ++begin) {
    while (end < grants.size() && grants[end].at <= grants[begin].at + window) sum += grants[end++].units;
    most = std::max(most, sum);
    sum -= grants[begin].units;
  }
  return most;
}

inline std::size_t total_of(const std::vector<Granted>& grants) {
  std::size_t total = 0;
  for (const auto& g : grants) total += g.units;
  return total;
}

}  // namespace conveyor::flow::testing
