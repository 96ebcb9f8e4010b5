// One moment of a running worker as operators see it: the lanes' figures summed, in all and per
// route (with each route's process-wide flow control), the recent rate and latency, the queue as
// the sampler last read it, and health and readiness with their reasons. Rendered two ways from the same values, so the dashboard, the tests and Prometheus
// always agree: JSON for GET /api/status and the text exposition for GET /metrics. Plain values,
// built by the Monitor and read by the admin server's thread.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "metrics/delivery_stats.h"
#include "metrics/duration_histogram.h"
#include "queue/queue_admin.h"

namespace conveyor::admin {

// One route's counters summed over the lanes, and its gate's process-wide flow control.
struct RouteFigures {
  std::string name;
  std::uint64_t delivered = 0, retried = 0, dead_lettered = 0, released = 0;
  std::uint64_t parked = 0;     // given back unattempted: the route could not take them then
  std::uint64_t in_flight = 0;  // admitted by the route's gate and not yet settled (this process)
  std::array<std::uint64_t, metrics::DeliveryStats::kCallResults> call_results{};  // by http::FailureClass
  metrics::DurationHistogram::Snapshot call_duration;
  std::uint64_t circuit_open = 0;           // lanes whose circuit for this route is not closed
  std::optional<std::uint64_t> limit;       // concurrency limit in force (fixed or adaptive); none: no limit
  bool paused = false;                      // a partner's Retry-After holds the route now
  double rate_limit_per_second = 0;         // 0: not rate-limited
};

// The lanes' live counters, summed; partner connections from the lanes' clients.
struct LaneFigures {
  std::uint64_t delivered = 0, retried = 0, dead_lettered = 0, released = 0, parked = 0, in_flight = 0;
  std::array<std::uint64_t, metrics::DeliveryStats::kCallResults> call_results{};  // by http::FailureClass
  metrics::DurationHistogram::Snapshot call_duration;
  std::uint64_t circuit_open = 0;  // lanes' routes whose circuit is not closed
  std::uint64_t partner_connections = 0;
  std::vector<std::int64_t> heartbeats_ms;  // each lane's last heartbeat (steady clock, ms)
  std::vector<RouteFigures> routes;         // in the routes' order
  // Dead letters no route owns: poison (not JSON, too large) and messages no route takes.
  std::uint64_t unrouted_dead_lettered = 0;
};
// Reads every lane's counters; called from the admin threads, so it must only read atomics.
using FigureSource = std::function<LaneFigures()>;

// The queue as the one sampler per process last read it.
struct QueueSample {
  bool ok = false;
  std::string reason = "the queue has not been read yet";  // why not ok
  std::vector<queue::ShardCounts> shards;
  std::vector<queue::DeadMessage> dead_letters;  // the first few, oldest first
};

// What never changes while the worker runs.
struct StaticInfo {
  std::string version, commit, queue;
  std::uint64_t concurrency = 0;
};

// A route's recent window, in the order of LaneFigures::routes.
struct RouteRecent {
  double rate_per_second = 0;  // delivered per second
  double latency_p50_ms = 0, latency_p99_ms = 0;
};

struct Status {
  LaneFigures figures;
  std::vector<RouteRecent> routes_recent;  // as many as figures.routes
  double rate_per_second = 0;  // delivered per second over the recent window
  double latency_p50_ms = 0, latency_p99_ms = 0;  // partner calls over the recent window
  QueueSample queue;
  bool ready = false;
  std::string ready_reason;
  bool healthy = true;
  std::string health_reason;
  double uptime_seconds = 0;
};

// The route label of what no route owns (route names are letters, digits, '-', '_' and '.').
inline constexpr const char* kUnroutedLabel = "(none)";

std::string to_json(const Status& status, const StaticInfo& info);
// Per-route families carry a route label on every sample (no unlabelled totals: sum() them).
std::string to_prometheus(const Status& status, const StaticInfo& info);

}  // namespace conveyor::admin
