// The status rendering with routes: every per-route Prometheus family labels each sample with its
// route (no unlabelled totals), parked is an outcome, the routes' flow-control gauges follow their
// gates (a limit only where there is one), the page parses with the reference parser
// (python3-prometheus-client), and /api/status lists the routes with the same figures.
#include "admin/status.h"

#include <map>
#include <set>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "http/failure_class.h"
#include "support/metrics_page.h"

namespace conveyor::admin {
namespace {

namespace json = boost::json;

using conveyor::testing::MetricSample;
using conveyor::testing::parse_metrics;
using conveyor::testing::samples_of;

// The value of the one sample named `name` with `labels`; none if there is not exactly one.
std::optional<double> value(const std::vector<MetricSample>& samples, const std::string& name,
                            const std::map<std::string, std::string>& labels) {
  const auto found = samples_of(samples, name, labels);
  if (found.size() != 1) return std::nullopt;
  return found.front()->value;
}

// Two routes: "carrier-a" limited (adaptive 40 of 100, 50/s, paused now) and "default" with no limits.
Status two_routes() {
  Status s;
  LaneFigures& f = s.figures;
  RouteFigures a;
  a.name = "carrier-a";
  a.delivered = 7;
  a.retried = 2;
  a.dead_lettered = 1;
  a.released = 0;
  a.parked = 30;
  a.in_flight = 40;
  a.call_results[static_cast<std::size_t>(http::FailureClass::status_2xx)] = 7;
  a.call_results[static_cast<std::size_t>(http::FailureClass::status_5xx)] = 3;
  a.call_duration.buckets[1] = 10;  // 5-10 ms
  a.call_duration.count = 10;
  a.call_duration.sum_us = 80'000;
  a.circuit_open = 1;
  a.limit = 40;
  a.paused = true;
  a.rate_limit_per_second = 50;
  RouteFigures b;
  b.name = "default";
  b.delivered = 100;
  b.in_flight = 3;
  b.call_results[static_cast<std::size_t>(http::FailureClass::status_2xx)] = 100;
  b.call_duration.buckets[4] = 100;  // 50-100 ms
  b.call_duration.count = 100;
  b.call_duration.sum_us = 7'000'000;
  f.routes = {a, b};
  f.unrouted_dead_lettered = 4;
  f.delivered = 107;
  f.retried = 2;
  f.dead_lettered = 5;
  f.parked = 30;
  f.in_flight = 43;
  f.circuit_open = 1;
  s.routes_recent = {{.rate_per_second = 1.5, .latency_p50_ms = 7.5, .latency_p99_ms = 9.9},
                     {.rate_per_second = 20, .latency_p50_ms = 75, .latency_p99_ms = 99.5}};
  return s;
}

const StaticInfo kInfo{.version = "1.2.3", .commit = "abc", .queue = "redis", .concurrency = 100};

TEST(StatusPrometheus, EveryPerRouteFamilyLabelsEachSampleWithItsRoute) {
  const auto samples = parse_metrics(to_prometheus(two_routes(), kInfo));
  for (const char* name : {"conveyor_messages_total", "conveyor_partner_requests_total",
                           "conveyor_partner_request_duration_seconds_bucket",
                           "conveyor_partner_request_duration_seconds_sum",
                           "conveyor_partner_request_duration_seconds_count", "conveyor_in_flight",
                           "conveyor_circuit_open", "conveyor_route_concurrency_limit", "conveyor_route_paused",
                           "conveyor_route_rate_limit_per_second"}) {
    const auto found = samples_of(samples, name);
    ASSERT_FALSE(found.empty()) << name;
    std::set<std::string> routes;
    for (const MetricSample* s : found) {
      ASSERT_TRUE(s->labels.count("route")) << name << " has a sample without a route label";
      routes.insert(s->labels.at("route"));
    }
    EXPECT_TRUE(routes.count("carrier-a")) << name;
  }
}

TEST(StatusPrometheus, CountsEachRouteOnItsOwnAndTheirSumIsTheWorkersTotal) {
  const Status status = two_routes();
  const auto samples = parse_metrics(to_prometheus(status, kInfo));
  using L = std::map<std::string, std::string>;
  EXPECT_EQ(value(samples, "conveyor_messages_total", L{{"route", "carrier-a"}, {"outcome", "delivered"}}), 7);
  EXPECT_EQ(value(samples, "conveyor_messages_total", L{{"route", "default"}, {"outcome", "delivered"}}), 100);
  EXPECT_EQ(value(samples, "conveyor_messages_total", L{{"route", "carrier-a"}, {"outcome", "retried"}}), 2);
  EXPECT_EQ(value(samples, "conveyor_messages_total", L{{"route", "carrier-a"}, {"outcome", "parked"}}), 30);
  EXPECT_EQ(value(samples, "conveyor_messages_total", L{{"route", "default"}, {"outcome", "parked"}}), 0);
  EXPECT_EQ(value(samples, "conveyor_messages_total", L{{"route", "(none)"}, {"outcome", "dead_lettered"}}), 4);
  // sum() over the routes gives back the worker's totals.
  for (const auto& [outcome, total] : std::map<std::string, std::uint64_t>{
           {"delivered", status.figures.delivered}, {"retried", status.figures.retried},
           {"dead_lettered", status.figures.dead_lettered}, {"parked", status.figures.parked}}) {
    double sum = 0;
    for (const MetricSample* s : samples_of(samples, "conveyor_messages_total", {{"outcome", outcome}})) sum += s->value;
    EXPECT_EQ(sum, total) << outcome;
  }
  double in_flight = 0;
  for (const MetricSample* s : samples_of(samples, "conveyor_in_flight")) in_flight += s->value;
  EXPECT_EQ(in_flight, 43);
  EXPECT_EQ(value(samples, "conveyor_partner_requests_total", L{{"route", "carrier-a"}, {"result", "5xx"}}), 3);
  EXPECT_EQ(value(samples, "conveyor_partner_requests_total", L{{"route", "default"}, {"result", "2xx"}}), 100);
  EXPECT_EQ(value(samples, "conveyor_partner_request_duration_seconds_bucket",
                  L{{"route", "carrier-a"}, {"le", "0.01"}}), 10);
  EXPECT_EQ(value(samples, "conveyor_partner_request_duration_seconds_bucket",
                  L{{"route", "default"}, {"le", "0.05"}}), 0);
  EXPECT_EQ(value(samples, "conveyor_partner_request_duration_seconds_bucket",
                  L{{"route", "default"}, {"le", "+Inf"}}), 100);
  EXPECT_EQ(value(samples, "conveyor_partner_request_duration_seconds_count", L{{"route", "default"}}), 100);
  EXPECT_DOUBLE_EQ(value(samples, "conveyor_partner_request_duration_seconds_sum", L{{"route", "default"}}).value_or(0), 7.0);
  EXPECT_EQ(value(samples, "conveyor_circuit_open", L{{"route", "carrier-a"}}), 1);
  EXPECT_EQ(value(samples, "conveyor_circuit_open", L{{"route", "default"}}), 0);
}

TEST(StatusPrometheus, ExportsEachRoutesFlowControlAndALimitOnlyWhereThereIsOne) {
  const auto samples = parse_metrics(to_prometheus(two_routes(), kInfo));
  using L = std::map<std::string, std::string>;
  EXPECT_EQ(value(samples, "conveyor_route_concurrency_limit", L{{"route", "carrier-a"}}), 40);
  EXPECT_TRUE(samples_of(samples, "conveyor_route_concurrency_limit", L{{"route", "default"}}).empty())
      << "a route with no limit exports none (not 0, not a huge number)";
  EXPECT_EQ(value(samples, "conveyor_route_paused", L{{"route", "carrier-a"}}), 1);
  EXPECT_EQ(value(samples, "conveyor_route_paused", L{{"route", "default"}}), 0);
  EXPECT_EQ(value(samples, "conveyor_route_rate_limit_per_second", L{{"route", "carrier-a"}}), 50);
  EXPECT_EQ(value(samples, "conveyor_route_rate_limit_per_second", L{{"route", "default"}}), 0);
}

TEST(StatusJson, ListsTheRoutesWithTheirFiguresAndRecentWindow) {
  const auto out = json::parse(to_json(two_routes(), kInfo)).as_object();
  EXPECT_EQ(out.at("messages").at("parked").to_number<int>(), 30);
  const auto& routes = out.at("routes").as_array();
  ASSERT_EQ(routes.size(), 2u);
  const auto& a = routes[0].as_object();
  EXPECT_EQ(a.at("name"), "carrier-a");
  EXPECT_EQ(a.at("delivered").to_number<int>(), 7);
  EXPECT_EQ(a.at("retried").to_number<int>(), 2);
  EXPECT_EQ(a.at("dead_lettered").to_number<int>(), 1);
  EXPECT_EQ(a.at("parked").to_number<int>(), 30);
  EXPECT_EQ(a.at("in_flight").to_number<int>(), 40);
  EXPECT_EQ(a.at("limit").to_number<int>(), 40);
  EXPECT_EQ(a.at("paused"), true);
  EXPECT_EQ(a.at("rate_limit_per_second").to_number<double>(), 50);
  EXPECT_EQ(a.at("circuit_open"), true);
  EXPECT_EQ(a.at("rate_per_second").to_number<double>(), 1.5);
  EXPECT_EQ(a.at("latency_ms").at("p50").to_number<double>(), 7.5);
  EXPECT_EQ(a.at("latency_ms").at("p99").to_number<double>(), 9.9);
  EXPECT_EQ(a.at("partner_requests").at("5xx").to_number<int>(), 3);
  const auto& b = routes[1].as_object();
  EXPECT_EQ(b.at("name"), "default");
  EXPECT_TRUE(b.at("limit").is_null()) << "no limit: null";
  EXPECT_EQ(b.at("paused"), false);
  EXPECT_EQ(b.at("rate_limit_per_second").to_number<double>(), 0);
  EXPECT_EQ(b.at("circuit_open"), false);
  EXPECT_EQ(b.at("latency_ms").at("p99").to_number<double>(), 99.5);
}

}  // namespace
}  // namespace conveyor::admin
