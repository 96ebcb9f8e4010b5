#include "metrics/run_report.h"

#include <fmt/format.h>

namespace conveyor::metrics {

RunReport RunReport::from(std::span<const DeliveryStats* const> lanes, std::chrono::steady_clock::duration elapsed) {
  RunReport r;
  LatencyHistogram latency;
  for (const DeliveryStats* lane : lanes) {
    r.delivered += lane->delivered.get();
    r.failed += lane->failed.get();
    r.retried += lane->retried.get();
    r.dead_lettered += lane->dead_lettered.get();
    r.released += lane->released.get();
    r.peak_in_flight += lane->peak_in_flight.get();
    latency.merge(lane->latency);
  }
  r.elapsed_seconds = std::chrono::duration<double>(elapsed).count();
  r.messages_per_second = r.elapsed_seconds > 0 ? static_cast<double>(r.delivered) / r.elapsed_seconds : 0;
  r.latency_p50_ms = static_cast<double>(latency.quantile(0.50).count()) / 1000.0;
  r.latency_p99_ms = static_cast<double>(latency.quantile(0.99).count()) / 1000.0;
  return r;
}

boost::json::object RunReport::to_json() const {
  return {
      {"delivered", delivered},
      {"failed", failed},
      {"retried", retried},
      {"dead_lettered", dead_lettered},
      {"released", released},
      {"elapsed_seconds", elapsed_seconds},
      {"messages_per_second", messages_per_second},
      {"latency_p50_ms", latency_p50_ms},
      {"latency_p99_ms", latency_p99_ms},
      {"peak_in_flight", peak_in_flight},
      {"connections_opened", connections_opened},
  };
}

std::string RunReport::to_text() const {
  return fmt::format(
      "delivered {}  failed {}  retried {}  dead-lettered {}  released {}  elapsed {:.2f}s  {:.0f} msg/s  "
      "latency p50 {:.1f}ms p99 {:.1f}ms  peak in-flight {}  connections opened {}",
      delivered, failed, retried, dead_lettered, released, elapsed_seconds, messages_per_second, latency_p50_ms, latency_p99_ms,
      peak_in_flight, connections_opened);
}

}  // namespace conveyor::metrics
