// The summary a worker prints when it ends (and writes as JSON with
// --report): totals over every lane, rate and latency percentiles.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>

#include <boost/json/object.hpp>

#include "metrics/delivery_stats.h"

namespace conveyor::metrics {

struct RunReport {
  std::uint64_t delivered = 0;
  std::uint64_t failed = 0;
  std::uint64_t retried = 0;
  std::uint64_t dead_lettered = 0;
  std::uint64_t released = 0;
  double elapsed_seconds = 0;
  double messages_per_second = 0;
  double latency_p50_ms = 0;
  double latency_p99_ms = 0;
  std::uint64_t peak_in_flight = 0;
  std::uint64_t connections_opened = 0;  // partner connections, all lanes (set by the caller)

  // Sums lanes that have stopped; the peak is the sum of lane peaks (an upper
  // bound on the process-wide peak, exact when lanes peak together).
  static RunReport from(std::span<const DeliveryStats* const> lanes, std::chrono::steady_clock::duration elapsed);

  boost::json::object to_json() const;
  std::string to_text() const;
};

}  // namespace conveyor::metrics
