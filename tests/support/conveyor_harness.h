// Runs the real `conveyor` binary for integration tests: the partner
// simulator as a child process on a free port (with its /stats and /bodies
// read over HTTP), and `conveyor publish` / `conveyor work` runs with bounded
// time. Children are killed when their handles go out of scope.
#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "core/child_process.h"

namespace conveyor::testing {

// `conveyor partner --listen 127.0.0.1:0 --record-bodies <extra args>`.
class PartnerSimulator {
 public:
  explicit PartnerSimulator(std::vector<std::string> extra_args = {});
  // `extra_args` may repeat --listen with a fixed address (the last one counts), e.g. to start a
  // partner again where a killed one was.
  std::string url(const std::string& path = "/shipments") const;  // http://127.0.0.1:PORT/path
  const std::string& address() const { return address_; }        // 127.0.0.1:PORT
  boost::json::object stats() const;                               // GET /stats
  std::uint64_t stat(const char* name) const;
  std::multiset<std::string> bodies() const;                       // GET /bodies (distinct bodies answered OK)
  void outage(std::chrono::milliseconds duration) const;            // GET /outage: play dead for a while
  std::vector<std::int64_t> arrivals() const;  // GET /arrivals (--record-arrivals): µs since its start, in order
  std::multiset<std::string> targets() const;  // GET /targets (--record-arrivals): every POST's request target
  struct Served {
    std::int64_t arrived_us = 0;  // since its start
    std::int64_t delay_us = 0;    // the delay it was given: the partner-side latency
  };
  std::vector<Served> delays() const;  // GET /delays (--record-arrivals), in order of arrival

 private:
  ChildProcess process_;
  std::string address_;
};

struct Finished {
  int exit_code = -1;   // -1: did not end within the bound (and was killed)
  std::string output;   // stdout and stderr together
};

// Starts `conveyor <args>` with stderr merged into stdout.
ChildProcess start_conveyor(const std::vector<std::string>& args, const std::vector<std::string>& env = {});
// Runs it to the end, bounded by `timeout`.
Finished run_conveyor(const std::vector<std::string>& args, std::chrono::seconds timeout,
                      const std::vector<std::string>& env = {});

// CPU seconds (user + system) a running process has used so far.
double cpu_seconds(pid_t pid);
// A running process's peak resident memory so far (VmHWM), in MiB.
double peak_rss_mib(pid_t pid);

// The messages `conveyor publish --count n` generates, as a multiset.
std::multiset<std::string> generated_messages(std::size_t n);

}  // namespace conveyor::testing
