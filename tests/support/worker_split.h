// Several `conveyor work --until-empty` processes draining one queue side by side, for the tests of
// many workers on one Redis (or a cluster, or through Sentinel: the queue is whatever the flags
// and environment given name). Each process writes its --report; the split is what each one's
// `delivered` says.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace conveyor::testing {

struct WorkerSplit {
  std::vector<int> exit_codes;            // per process; -1: did not end in time (and was killed)
  std::vector<std::uint64_t> delivered;   // per process, its report's `delivered`
  std::string output;                     // every process's output, for failure messages
  std::uint64_t total() const;
  std::string describe() const;           // "10021 (25.1 %), 9987 (25.0 %), ..."
};

// Starts `processes` × `conveyor work --until-empty --target-url <target_url> <queue_args...>
// <extra...> --report <file>` with `env` at once, and waits (up to `timeout`) until each ends.
WorkerSplit run_workers_side_by_side(std::size_t processes, const std::vector<std::string>& queue_args,
                                     const std::vector<std::string>& env, const std::string& target_url,
                                     const std::vector<std::string>& extra, std::chrono::seconds timeout);

}  // namespace conveyor::testing
