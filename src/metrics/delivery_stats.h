// What one dispatcher lane counts while it delivers, in all or on one route. Counters and the call
// duration histogram are written by the lane's own thread only and may be read
// live by any thread (progress logs, /metrics); the latency histogram is read
// only after the lane has stopped.
#pragma once

#include <array>
#include <cstddef>

#include "metrics/counter.h"
#include "metrics/duration_histogram.h"
#include "metrics/latency_histogram.h"

namespace conveyor::metrics {

struct DeliveryStats {
  Counter leased;          // messages taken from the queue
  Counter delivered;       // partner answered 2xx; acknowledged
  Counter failed;          // attempts that did not deliver (non-2xx, transport error)
  Counter retried;         // failed attempts scheduled again in the queue
  Counter dead_lettered;   // taken out for good: refused by the partner, out of attempts, or poison
  Counter released;        // given back unfinished on shutdown
  Counter parked;          // given back unattempted: the route could not take them then
  Counter in_flight;       // partner calls running now
  Counter peak_in_flight;  // highest in_flight seen
  LatencyHistogram latency;  // lease to partner answer, delivered messages only

  // Partner calls by how they ended, indexed by http::FailureClass (dns_error … 5xx).
  static constexpr std::size_t kCallResults = 12;
  std::array<Counter, kCallResults> call_results;
  DurationHistogram call_duration;  // every partner call, whatever its result
  Counter circuit_open;             // 1 while this lane's circuit is open or half-open
};

}  // namespace conveyor::metrics
