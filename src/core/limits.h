// Process resource limits that a high-concurrency process needs at start.
// Each socket is a file descriptor, so thousands of connections need the
// RLIMIT_NOFILE soft limit raised as far as the hard limit allows.
#pragma once

#include <cstdint>

namespace conveyor {

// Raises the soft open-files limit to the hard limit (on Linux, capped at
// fs.nr_open when the hard limit is unlimited) and returns the soft limit in
// force afterwards. Never fails: if the limit cannot be raised, the current
// soft limit is returned and the caller decides whether it is enough.
std::uint64_t raise_open_files_limit();

}  // namespace conveyor
