#include "admin/status.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "http/failure_class.h"
#include "metrics/prometheus.h"
#include "metrics/process_metrics.h"
#include "queue/dead_letter.h"

namespace conveyor::admin {
namespace json = boost::json;

namespace {

// A dead letter's stored reason JSON, spread into the row (reason, status, response, attempts, dead_at).
json::object dead_letter_row(const queue::DeadMessage& d) {
  json::object row{{"id", d.id}, {"body", queue::printable(d.body.substr(0, 4096))}};
  error_code ec;
  json::value reason = json::parse(d.reason, ec);
  if (!ec && reason.is_object()) {
    for (const auto& [key, value] : reason.as_object()) row[key] = value;
  } else {
    row["reason"] = d.reason;
  }
  return row;
}

json::object call_results(const std::array<std::uint64_t, metrics::DeliveryStats::kCallResults>& counts) {
  json::object results;
  for (auto c : http::all_failure_classes) results[http::label(c)] = counts[static_cast<std::size_t>(c)];
  return results;
}

json::object route_row(const RouteFigures& r, const RouteRecent& recent) {
  json::value limit = nullptr;
  if (r.limit) limit = *r.limit;
  return json::object{
      {"name", r.name},
      {"delivered", r.delivered},
      {"retried", r.retried},
      {"dead_lettered", r.dead_lettered},
      {"released", r.released},
      {"parked", r.parked},
      {"in_flight", r.in_flight},
      {"limit", std::move(limit)},
      {"paused", r.paused},
      {"rate_limit_per_second", r.rate_limit_per_second},
      {"circuit_open", r.circuit_open > 0},
      {"rate_per_second", recent.rate_per_second},
      {"latency_ms", json::object{{"p50", recent.latency_p50_ms}, {"p99", recent.latency_p99_ms}}},
      {"partner_requests", call_results(r.call_results)},
  };
}

// The buckets (cumulative, as `le` wants them), sum and count of one duration histogram.
void duration_samples(metrics::Exposition& e, const metrics::DurationHistogram::Snapshot& d, std::string_view route) {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < metrics::DurationHistogram::kBuckets; ++i) {
    cumulative += d.buckets[i];
    const std::string le = i < metrics::DurationHistogram::kBounds.size()
                               ? fmt::format("{}", metrics::DurationHistogram::kBounds[i])
                               : std::string("+Inf");
    e.sample("conveyor_partner_request_duration_seconds_bucket", {{"route", route}, {"le", le}},
             static_cast<double>(cumulative));
  }
  e.sample("conveyor_partner_request_duration_seconds_sum", {{"route", route}}, d.sum_seconds());
  e.sample("conveyor_partner_request_duration_seconds_count", {{"route", route}}, static_cast<double>(d.count));
}

}  // namespace

std::string to_json(const Status& s, const StaticInfo& info) {
  const LaneFigures& f = s.figures;
  json::array routes;
  for (std::size_t r = 0; r < f.routes.size(); ++r) {
    routes.push_back(route_row(f.routes[r], r < s.routes_recent.size() ? s.routes_recent[r] : RouteRecent{}));
  }
  json::array shards;
  for (const auto& shard : s.queue.shards) {
    shards.push_back(json::object{{"shard", shard.shard}, {"waiting", shard.waiting}, {"in_flight", shard.in_flight},
                                  {"delayed", shard.delayed}, {"dead", shard.dead}});
  }
  json::array dead;
  for (const auto& d : s.queue.dead_letters) dead.push_back(dead_letter_row(d));
  const json::object out{
      {"version", info.version},
      {"commit", info.commit},
      {"uptime_seconds", s.uptime_seconds},
      {"queue", info.queue},
      {"concurrency", info.concurrency},
      {"messages", json::object{{"delivered", f.delivered}, {"retried", f.retried},
                                {"dead_lettered", f.dead_lettered}, {"released", f.released},
                                {"parked", f.parked}}},
      {"in_flight", f.in_flight},
      {"rate_per_second", s.rate_per_second},
      {"latency_ms", json::object{{"p50", s.latency_p50_ms}, {"p99", s.latency_p99_ms}}},
      {"partner_requests", call_results(f.call_results)},
      {"partner_connections", f.partner_connections},
      {"circuit_open", f.circuit_open > 0},
      {"routes", std::move(routes)},
      {"ready", s.ready},
      {"ready_reason", s.ready_reason},
      {"healthy", s.healthy},
      {"health_reason", s.health_reason},
      {"shards", std::move(shards)},
      {"dead_letters", std::move(dead)},
  };
  return json::serialize(out);
}

std::string to_prometheus(const Status& s, const StaticInfo& info) {
  const LaneFigures& f = s.figures;
  metrics::Exposition e;
  e.family("conveyor_messages_total", "counter",
           "Messages settled by this worker, by route and outcome (parked: given back unattempted, to wait for "
           "its route).");
  for (const RouteFigures& r : f.routes) {
    e.sample("conveyor_messages_total", {{"route", r.name}, {"outcome", "delivered"}}, static_cast<double>(r.delivered));
    e.sample("conveyor_messages_total", {{"route", r.name}, {"outcome", "retried"}}, static_cast<double>(r.retried));
    e.sample("conveyor_messages_total", {{"route", r.name}, {"outcome", "dead_lettered"}},
             static_cast<double>(r.dead_lettered));
    e.sample("conveyor_messages_total", {{"route", r.name}, {"outcome", "released"}}, static_cast<double>(r.released));
    e.sample("conveyor_messages_total", {{"route", r.name}, {"outcome", "parked"}}, static_cast<double>(r.parked));
  }
  // Poison and messages no route takes never reach a route: their own series, so sum() adds up.
  e.sample("conveyor_messages_total", {{"route", kUnroutedLabel}, {"outcome", "dead_lettered"}},
           static_cast<double>(f.unrouted_dead_lettered));

  e.family("conveyor_partner_requests_total", "counter",
           "Partner calls by route and result: the status class, or how the call failed.");
  for (const RouteFigures& r : f.routes) {
    for (auto c : http::all_failure_classes) {
      e.sample("conveyor_partner_requests_total", {{"route", r.name}, {"result", http::label(c)}},
               static_cast<double>(r.call_results[static_cast<std::size_t>(c)]));
    }
  }

  e.family("conveyor_partner_request_duration_seconds", "histogram",
           "Duration of partner calls by route, whatever their result.");
  for (const RouteFigures& r : f.routes) duration_samples(e, r.call_duration, r.name);

  e.family("conveyor_in_flight", "gauge",
           "Messages this worker holds for a route: admitted by it and not yet settled.");
  for (const RouteFigures& r : f.routes) e.sample("conveyor_in_flight", {{"route", r.name}}, static_cast<double>(r.in_flight));

  e.family("conveyor_queue_messages", "gauge",
           "Messages in the shared queue by shard and state, as this worker last read it (aggregate with max()).");
  for (const auto& shard : s.queue.shards) {
    e.sample("conveyor_queue_messages", {{"shard", shard.shard}, {"state", "waiting"}}, static_cast<double>(shard.waiting));
    e.sample("conveyor_queue_messages", {{"shard", shard.shard}, {"state", "in_flight"}},
             static_cast<double>(shard.in_flight));
    e.sample("conveyor_queue_messages", {{"shard", shard.shard}, {"state", "delayed"}}, static_cast<double>(shard.delayed));
    e.sample("conveyor_queue_messages", {{"shard", shard.shard}, {"state", "dead"}}, static_cast<double>(shard.dead));
  }

  e.family("conveyor_circuit_open", "gauge",
           "Lanes whose circuit breaker for the route is open or half-open (0: closed everywhere).");
  for (const RouteFigures& r : f.routes) {
    e.sample("conveyor_circuit_open", {{"route", r.name}}, static_cast<double>(r.circuit_open));
  }
  e.family("conveyor_route_concurrency_limit", "gauge",
           "Most calls the route may have in flight in this worker now, fixed or adaptive (absent: no limit).");
  for (const RouteFigures& r : f.routes) {
    if (r.limit) e.sample("conveyor_route_concurrency_limit", {{"route", r.name}}, static_cast<double>(*r.limit));
  }
  e.family("conveyor_route_paused", "gauge", "1 while the route is paused by a partner's Retry-After.");
  for (const RouteFigures& r : f.routes) e.sample("conveyor_route_paused", {{"route", r.name}}, r.paused ? 1 : 0);
  e.family("conveyor_route_rate_limit_per_second", "gauge", "Calls per second the route may start (0: no rate limit); a cluster-scope limit is shared by every worker, "
           "so max() it.");
  for (const RouteFigures& r : f.routes) {
    e.sample("conveyor_route_rate_limit_per_second", {{"route", r.name}}, r.rate_limit_per_second);
  }
  e.family("conveyor_partner_connections", "gauge", "Open connections to the partner.");
  e.sample("conveyor_partner_connections", static_cast<double>(f.partner_connections));
  e.family("conveyor_ready", "gauge", "1 when the queue is reachable and the worker is not shutting down.");
  e.sample("conveyor_ready", s.ready ? 1 : 0);
  e.family("conveyor_build_info", "gauge", "The running build: always 1.");
  e.sample("conveyor_build_info", {{"version", info.version}, {"commit", info.commit}}, 1);

  const auto process = metrics::ProcessMetrics::read();
  e.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
  e.sample("process_cpu_seconds_total", process.cpu_seconds);
  e.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  e.sample("process_resident_memory_bytes", static_cast<double>(process.resident_bytes));
  e.family("process_open_fds", "gauge", "Number of open file descriptors.");
  e.sample("process_open_fds", static_cast<double>(process.open_fds));
  e.family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
  e.sample("process_start_time_seconds", process.start_time_seconds);
  return e.take();
}

}  // namespace conveyor::admin
