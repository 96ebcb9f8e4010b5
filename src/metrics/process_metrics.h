// The process figures every Prometheus client exports (process_cpu_seconds_total,
// process_resident_memory_bytes, process_open_fds, process_start_time_seconds), read from
// Linux's /proc/self. Any thread; a failed read leaves that figure at 0.
#pragma once

#include <cstdint>

namespace conveyor::metrics {

struct ProcessMetrics {
  double cpu_seconds = 0;          // user + system
  std::uint64_t resident_bytes = 0;
  std::uint64_t open_fds = 0;
  double start_time_seconds = 0;   // since the Unix epoch

  static ProcessMetrics read();
};

}  // namespace conveyor::metrics
