#include "core/limits.h"

#include <sys/resource.h>

#include <fstream>

namespace conveyor {
namespace {

// An unlimited hard limit cannot be used as the soft one: the kernel refuses
// anything above fs.nr_open.
rlim_t nr_open_or(rlim_t fallback) {
  std::ifstream in("/proc/sys/fs/nr_open");
  unsigned long long value = 0;
  if (in >> value && value > 0) return static_cast<rlim_t>(value);
  return fallback;
}

}  // namespace

std::uint64_t raise_open_files_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  rlim_t target = limit.rlim_max;
  if (target == RLIM_INFINITY) target = nr_open_or(limit.rlim_cur);
  if (target > limit.rlim_cur) {
    rlimit raised = limit;
    raised.rlim_cur = target;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) return static_cast<std::uint64_t>(target);
  }
  return static_cast<std::uint64_t>(limit.rlim_cur);
}

}  // namespace conveyor
