#include "metrics/process_metrics.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
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

// Entries of /proc/self/fd, read with getdents64 in large blocks, without an allocation per entry.
std::uint64_t ProcessMetrics::count_open_fds() {
  const int dir = ::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return 0;
  std::uint64_t n = 0;
  alignas(8) static thread_local char buffer[1 << 16];
  while (true) {
    const long got = ::syscall(SYS_getdents64, dir, buffer, sizeof buffer);
    if (got <= 0) break;
    for (long at = 0; at < got;) {
      const auto* entry = reinterpret_cast<const struct dirent64*>(buffer + at);
      if (entry->d_name[0] != '.') ++n;
      at += entry->d_reclen;
    }
  }
  ::close(dir);
  return n > 0 ? n - 1 : 0;  // not the listing's own descriptor
}

namespace {

// Counting costs the kernel about 0.6 µs per descriptor (9 ms at 16,000): fine every 10 s, not
// at every scrape of a busy worker. Any thread; a race only counts twice.
std::uint64_t open_fds_recently() {
  static std::atomic<std::int64_t> counted_at{0};
  static std::atomic<std::uint64_t> count{0};
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now().time_since_epoch()).count();
  const std::int64_t at = counted_at.load(std::memory_order_relaxed);
  if (at == 0 || now - at >= 10'000) {
    count.store(ProcessMetrics::count_open_fds(), std::memory_order_relaxed);
    counted_at.store(now, std::memory_order_relaxed);
  }
  return count.load(std::memory_order_relaxed);
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
  m.open_fds = open_fds_recently();
  return m;
}

}  // namespace conveyor::metrics
