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

}  // namespace

std::string to_json(const Status& s, const StaticInfo& info) {
  const LaneFigures& f = s.figures;
  json::object results;
  for (auto c : http::all_failure_classes) results[http::label(c)] = f.call_results[static_cast<std::size_t>(c)];
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
                                {"dead_lettered", f.dead_lettered}, {"released", f.released}}},
      {"in_flight", f.in_flight},
      {"rate_per_second", s.rate_per_second},
      {"latency_ms", json::object{{"p50", s.latency_p50_ms}, {"p99", s.latency_p99_ms}}},
      {"partner_requests", std::move(results)},
      {"partner_connections", f.partner_connections},
      {"circuit_open", f.circuit_open > 0},
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
  e.family("conveyor_messages_total", "counter", "Messages settled by this worker, by outcome.");
  e.sample("conveyor_messages_total", {{"outcome", "delivered"}}, static_cast<double>(f.delivered));
  e.sample("conveyor_messages_total", {{"outcome", "retried"}}, static_cast<double>(f.retried));
  e.sample("conveyor_messages_total", {{"outcome", "dead_lettered"}}, static_cast<double>(f.dead_lettered));
  e.sample("conveyor_messages_total", {{"outcome", "released"}}, static_cast<double>(f.released));

  e.family("conveyor_partner_requests_total", "counter",
           "Partner calls by result: the status class, or how the call failed.");
  for (auto c : http::all_failure_classes) {
    e.sample("conveyor_partner_requests_total", {{"result", http::label(c)}},
             static_cast<double>(f.call_results[static_cast<std::size_t>(c)]));
  }

  e.family("conveyor_partner_request_duration_seconds", "histogram", "Duration of partner calls, whatever their result.");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < metrics::DurationHistogram::kBuckets; ++i) {
    cumulative += f.call_duration.buckets[i];
    const std::string le = i < metrics::DurationHistogram::kBounds.size()
                               ? fmt::format("{}", metrics::DurationHistogram::kBounds[i])
                               : std::string("+Inf");
    e.sample("conveyor_partner_request_duration_seconds_bucket", {{"le", le}}, static_cast<double>(cumulative));
  }
  e.sample("conveyor_partner_request_duration_seconds_sum", f.call_duration.sum_seconds());
  e.sample("conveyor_partner_request_duration_seconds_count", static_cast<double>(f.call_duration.count));

  e.family("conveyor_in_flight", "gauge", "Messages this worker holds: leased and not yet settled.");
  e.sample("conveyor_in_flight", static_cast<double>(f.in_flight));

  e.family("conveyor_queue_messages", "gauge",
           "Messages in the shared queue by shard and state, as this worker last read it (aggregate with max()).");
  for (const auto& shard : s.queue.shards) {
    e.sample("conveyor_queue_messages", {{"shard", shard.shard}, {"state", "waiting"}}, static_cast<double>(shard.waiting));
    e.sample("conveyor_queue_messages", {{"shard", shard.shard}, {"state", "in_flight"}},
             static_cast<double>(shard.in_flight));
    e.sample("conveyor_queue_messages", {{"shard", shard.shard}, {"state", "delayed"}}, static_cast<double>(shard.delayed));
    e.sample("conveyor_queue_messages", {{"shard", shard.shard}, {"state", "dead"}}, static_cast<double>(shard.dead));
  }

  e.family("conveyor_circuit_open", "gauge", "Lanes whose circuit breaker is open or half-open (0: closed everywhere).");
  e.sample("conveyor_circuit_open", static_cast<double>(f.circuit_open));
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
