// `conveyor demo`: the whole path on this machine with nothing to set up — an
// embedded redis-server, the partner simulator, the publisher and the worker
// — ending in a report that checks nothing was lost or doubled.
#pragma once

#include <chrono>
#include <cstddef>

namespace conveyor::cli {

struct DemoOptions {
  std::size_t count = 100'000;
  std::chrono::milliseconds delay{1000};
  std::size_t concurrency = 10'000;
  std::size_t threads = 2;
};

// 0 when every message reached the partner exactly once, 1 otherwise.
// `self` is this program's path, used to start the partner simulator.
int run_demo(const DemoOptions& options, const char* self);

}  // namespace conveyor::cli
