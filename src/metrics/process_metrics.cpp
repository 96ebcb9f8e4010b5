#include "metrics/process_metrics.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace conveyor::metrics {
namespace {

// Boot time (btime in /proc/stat), in seconds since the epoch.
double boot_time() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double seconds = 0;
      in >> seconds;
      return seconds;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

}  // namespace

ProcessMetrics ProcessMetrics::read() {
  ProcessMetrics m;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  {
    std::ifstream in("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Fields after the command name, which may hold spaces and parentheses: start past the last ')'.
    const auto close = text.rfind(')');
    if (close != std::string::npos && ticks > 0) {
      std::istringstream fields(text.substr(close + 2));
      std::string field;
      // Field 3 (state) is the first here; utime, stime are fields 14 and 15, starttime 22, rss 24.
      for (int n = 3; fields >> field; ++n) {
        if (n == 14) m.cpu_seconds += std::stod(field) / ticks;
        if (n == 15) m.cpu_seconds += std::stod(field) / ticks;
        if (n == 22) m.start_time_seconds = boot_time() + std::stod(field) / ticks;
        if (n == 24) {
          m.resident_bytes = static_cast<std::uint64_t>(std::stod(field) * page);
          break;
        }
      }
    }
  }
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++m.open_fds;
  }
  if (m.open_fds > 0) --m.open_fds;  // the directory listing's own descriptor
  return m;
}

}  // namespace conveyor::metrics
