// The admin listener of a real `conveyor work`, over both backends: /metrics parsed by the
// reference parser (python3-prometheus-client) and consistent with the run's own report,
// /healthz and /readyz (which follows the queue), /api/status, and who may change what; with two
// routes, a route label on every delivery series, agreeing with what each partner saw.
#include <gtest/gtest.h>

#include <signal.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "http/client.h"
#include "http/fetch.h"
#include "support/conveyor_harness.h"
#include "support/metrics_page.h"
#include "support/queue_under_test.h"
#include "support/temp_path.h"

namespace conveyor::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr const char* kChannel = "shipments";
constexpr const char* kToken = "s3cret-admin-token";

struct Page {
  unsigned status = 0;
  std::string body;
};

Page get(const std::string& url) {
  auto page = http::fetch(url, 10s);
  if (!page) return {0, page.error().message()};
  return {page->status, page->body};
}

// POST with an optional bearer token, through the project's own HTTP client.
Page post(const std::string& url, const std::string& body, const std::string& token) {
  boost::asio::io_context io;
  http::PartnerClientOptions options;
  options.url = url;
  options.max_connections = 1;
  options.keep_body = 4096;
  http::PartnerClient client(io.get_executor(), options);
  std::vector<http::HeaderField> headers = {{"X-Test", "admin"}};
  if (!token.empty()) headers.push_back({"Authorization", "Bearer " + token});
  Page out;
  boost::asio::co_spawn(io, client.post(body, headers), [&](std::exception_ptr e, Result<http::PartnerResponse> r) {
    if (e) std::rethrow_exception(e);
    if (r) out = {r->status, r->body_prefix};
    io.stop();
  });
  io.run_for(15s);
  return out;
}

// A worker with its admin listener on a free port, read from its start-up line.
class Worker {
 public:
  Worker(ChildProcess process) : process_(std::move(process)) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto line = process_.read_line(1s);
      if (!line) continue;
      log_ += *line + "\n";
      if (const auto at = line->find("admin http://"); at != std::string::npos) {
        base_ = line->substr(at + 6);
        return;
      }
    }
    ADD_FAILURE() << "no admin address in the worker's start-up:\n" << log_;
  }
  std::string url(const std::string& path) const { return base_ + path; }
  ChildProcess& process() { return process_; }
  json::object status() const {
    const Page page = get(url("/api/status"));
    EXPECT_EQ(page.status, 200u) << page.body;
    return page.status == 200 ? json::parse(page.body).as_object() : json::object{};
  }

 private:
  ChildProcess process_;
  std::string base_;
  std::string log_;
};

std::uint64_t number(const json::value& v) { return v.to_number<std::uint64_t>(); }

class Admin : public ::testing::TestWithParam<Backend> {
 protected:
  Admin() : queue(GetParam()) {}

  std::vector<std::string> command(const std::string& name, std::initializer_list<std::string> extra = {}) const {
    std::vector<std::string> args = {name, "--channel", kChannel};
    for (const auto& a : queue.args()) args.push_back(a);
    args.insert(args.end(), extra);
    return args;
  }
  void publish_file(const std::vector<std::string>& lines) {
    queue.create(kChannel);
    const std::string path = temp_path("admin-input.jsonl");
    {
      std::ofstream out(path);
      for (const auto& line : lines) out << line << "\n";
    }
    const auto done = run_conveyor(command("publish", {"--input", path}), 60s, queue.env());
    ASSERT_EQ(done.exit_code, 0) << done.output;
  }
  Worker start_worker(const PartnerSimulator& partner, std::initializer_list<std::string> extra,
                      std::vector<std::string> env = {}) {
    auto args = command("work", {"--target-url", partner.url(), "--admin-listen", "127.0.0.1:0"});
    args.insert(args.end(), extra);
    auto full_env = queue.env();
    full_env.insert(full_env.end(), env.begin(), env.end());
    return Worker(start_conveyor(args, full_env));
  }

  QueueUnderTest queue;
};

TEST_P(Admin, MetricsParseAndAgreeWithTheRunsOwnReport) {
  constexpr std::size_t kMessages = 2'000, kRefused = 20;
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < kMessages; ++i) {
    lines.push_back(i % (kMessages / kRefused) == 0 ? R"({"i":)" + std::to_string(i) + R"(,"status":400})"
                                                    : R"({"i":)" + std::to_string(i) + "}");
  }
  publish_file(lines);
  PartnerSimulator partner({"--delay", "5ms", "--status-field", "status"});
  const std::string report_path = temp_path("admin-report.json");
  Worker worker = start_worker(partner, {"--concurrency", "200", "--report", report_path});

  ASSERT_TRUE(wait_until([&] {
    const auto s = worker.status();
    return !s.empty() && number(s.at("messages").at("delivered")) == kMessages - kRefused &&
           number(s.at("messages").at("dead_lettered")) == kRefused && number(s.at("in_flight")) == 0;
  }, 60s));
  EXPECT_EQ(get(worker.url("/healthz")).status, 200u);
  EXPECT_EQ(get(worker.url("/readyz")).status, 200u);

  const Page page = get(worker.url("/metrics"));
  ASSERT_EQ(page.status, 200u);
  const auto samples = parse_metrics(page.body);
  ASSERT_FALSE(samples.empty());
  // Counters are checked by sample name: the parser strips _total from family names only.
  EXPECT_EQ(find(samples, "conveyor_messages_total", {{"outcome", "delivered"}}), kMessages - kRefused);
  EXPECT_EQ(find(samples, "conveyor_messages_total", {{"outcome", "dead_lettered"}}), kRefused);
  EXPECT_EQ(find(samples, "conveyor_messages_total", {{"outcome", "retried"}}), 0.0);
  EXPECT_EQ(find(samples, "conveyor_messages_total", {{"outcome", "released"}}), 0.0);
  EXPECT_EQ(find(samples, "conveyor_partner_requests_total", {{"result", "2xx"}}), kMessages - kRefused);
  EXPECT_EQ(find(samples, "conveyor_partner_requests_total", {{"result", "4xx"}}), kRefused);
  for (const char* result : {"3xx", "5xx", "dns_error", "connect_timeout", "refused", "timeout", "reset", "tls_error",
                             "malformed", "too_large"}) {
    EXPECT_EQ(find(samples, "conveyor_partner_requests_total", {{"result", result}}), 0.0) << result;
  }
  EXPECT_EQ(find(samples, "conveyor_partner_request_duration_seconds_count"), kMessages);
  EXPECT_EQ(find(samples, "conveyor_partner_request_duration_seconds_bucket", {{"le", "+Inf"}}), kMessages);
  EXPECT_GT(find(samples, "conveyor_partner_request_duration_seconds_sum").value_or(0), 0.005 * kMessages);
  EXPECT_EQ(find(samples, "conveyor_partner_request_duration_seconds_bucket", {{"le", "0.005"}}), 0.0)
      << "no call beats the partner's 5 ms delay";
  EXPECT_EQ(find(samples, "conveyor_in_flight"), 0.0);
  EXPECT_EQ(find(samples, "conveyor_circuit_open"), 0.0);
  EXPECT_GE(find(samples, "conveyor_partner_connections").value_or(-1), 1.0);
  EXPECT_EQ(find(samples, "conveyor_ready"), 1.0);
  for (const char* state : {"waiting", "in_flight", "delayed", "dead"}) {
    EXPECT_TRUE(find(samples, "conveyor_queue_messages", {{"state", state}})) << state;
  }
  EXPECT_GT(find(samples, "process_cpu_seconds_total").value_or(0), 0.0);
  EXPECT_GT(find(samples, "process_resident_memory_bytes").value_or(0), 1e6);
  EXPECT_GT(find(samples, "process_open_fds").value_or(0), 3.0);
  EXPECT_GT(find(samples, "process_start_time_seconds").value_or(0), 1.7e9);
  EXPECT_EQ(find(samples, "conveyor_build_info"), 1.0);

  if (GetParam() == Backend::redis) {  // SQS counts are approximate and lag
    ASSERT_TRUE(wait_until([&] {
      const auto s = worker.status();
      if (s.empty() || s.at("shards").as_array().empty()) return false;
      const auto& shard = s.at("shards").as_array().front().as_object();
      return number(shard.at("waiting")) == 0 && number(shard.at("dead")) == kRefused;
    }, 30s));
    const auto s = worker.status();
    EXPECT_EQ(s.at("dead_letters").as_array().size(), kRefused);
    EXPECT_EQ(s.at("dead_letters").as_array().front().at("status").to_number<int>(), 400);
  }

  worker.process().signal(SIGTERM);
  ASSERT_EQ(worker.process().wait(30s), 0);
  std::ifstream in(report_path);
  std::stringstream text;
  text << in.rdbuf();
  const auto report = json::parse(text.str()).as_object();
  EXPECT_EQ(number(report.at("delivered")), kMessages - kRefused);
  EXPECT_EQ(number(report.at("dead_lettered")), kRefused);
}

TEST_P(Admin, ChangesNeedTheTokenAndRequeueWorksWithIt) {
  publish_file({R"({"i":1,"status":400})", R"({"i":2,"status":400})", R"({"i":3})"});
  PartnerSimulator partner({"--delay", "1ms", "--status-field", "status"});
  {
    Worker untokened = start_worker(partner, {});
    ASSERT_TRUE(wait_until([&] { return number(untokened.status().at("messages").at("dead_lettered")) == 2; }, 60s));
    EXPECT_EQ(post(untokened.url("/api/dlq/requeue"), R"({"all":true})", kToken).status, 403u)
        << "no ADMIN_TOKEN configured: no change, whatever is sent";
    untokened.process().signal(SIGTERM);
    ASSERT_EQ(untokened.process().wait(30s), 0);
  }
  Worker worker = start_worker(partner, {}, {std::string("ADMIN_TOKEN=") + kToken});
  EXPECT_EQ(post(worker.url("/api/dlq/requeue"), R"({"all":true})", "").status, 401u);
  EXPECT_EQ(post(worker.url("/api/dlq/purge"), "", "wrong-token").status, 401u);
  const Page bad = post(worker.url("/api/dlq/requeue"), R"({"nothing":1})", kToken);
  EXPECT_EQ(bad.status, 400u) << bad.body;
  const Page requeued = post(worker.url("/api/dlq/requeue"), R"({"all":true})", kToken);
  ASSERT_EQ(requeued.status, 200u) << requeued.body;
  EXPECT_EQ(number(json::parse(requeued.body).at("requeued")), 2u);
  // Refused again by the partner, so dead-lettered again: the requeue reached the worker.
  ASSERT_TRUE(wait_until([&] { return number(worker.status().at("messages").at("dead_lettered")) == 2; }, 60s));
  const Page purged = post(worker.url("/api/dlq/purge"), "", kToken);
  ASSERT_EQ(purged.status, 200u) << purged.body;
  EXPECT_EQ(number(json::parse(purged.body).at("purged")), 2u);
  worker.process().signal(SIGTERM);
  const std::string output = worker.process().read_all(30s);
  EXPECT_EQ(output.find(kToken), std::string::npos) << "the token is never logged";
  EXPECT_EQ(worker.process().wait(30s), 0);
}

INSTANTIATE_TEST_SUITE_P(BothBackends, Admin, ::testing::Values(Backend::redis, Backend::sqs),
                         [](const auto& info) { return info.param == Backend::redis ? "Redis" : "Sqs"; });

// Two routes and messages no route takes: every per-route series carries its route, the counts
// agree with what each partner saw, and the routes' limits are exported.
TEST(AdminRoutes, MetricsCarryEachRouteAndAgreeWithEachPartner) {
  constexpr std::size_t kToA = 300, kRefusedByA = 10, kToB = 200, kNoRoute = 10;
  QueueUnderTest queue(Backend::redis);
  queue.create(kChannel);
  PartnerSimulator a({"--delay", "2ms", "--status-field", "status"});
  PartnerSimulator b({"--delay", "2ms"});
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < kToA; ++i) {
    lines.push_back(i < kRefusedByA ? fmt::format(R"({{"partner":"a","i":{},"status":400}})", i)
                                    : fmt::format(R"({{"partner":"a","i":{}}})", i));
  }
  for (std::size_t i = 0; i < kToB; ++i) lines.push_back(fmt::format(R"({{"partner":"b","i":{}}})", i));
  for (std::size_t i = 0; i < kNoRoute; ++i) lines.push_back(fmt::format(R"({{"partner":"nobody","i":{}}})", i));
  const std::string input = temp_path("admin-routes-input.jsonl");
  {
    std::ofstream out(input);
    for (const auto& line : lines) out << line << "\n";
  }
  std::vector<std::string> publish = {"publish", "--channel", kChannel, "--input", input};
  for (const auto& arg : queue.args()) publish.push_back(arg);
  const auto published = run_conveyor(publish, 60s, queue.env());
  ASSERT_EQ(published.exit_code, 0) << published.output;
  const std::string routes = temp_path("admin-routes.toml");
  std::ofstream(routes) << fmt::format(R"([[route]]
name = "a"
match = {{ field = "partner", equals = ["a"] }}
url = "{}"
concurrency = 5
rate = "200/s"

[[route]]
name = "b"
match = {{ field = "partner", equals = ["b"] }}
url = "{}"
)", a.url(), b.url());
  std::vector<std::string> args = {"work", "--channel", kChannel, "--routes", routes, "--admin-listen", "127.0.0.1:0"};
  for (const auto& arg : queue.args()) args.push_back(arg);
  Worker worker(start_conveyor(args, queue.env()));
  ASSERT_TRUE(wait_until([&] {
    const auto s = worker.status();
    return !s.empty() && number(s.at("messages").at("delivered")) == kToA - kRefusedByA + kToB &&
           number(s.at("messages").at("dead_lettered")) == kRefusedByA + kNoRoute && number(s.at("in_flight")) == 0;
  }, 60s));

  const Page page = get(worker.url("/metrics"));
  ASSERT_EQ(page.status, 200u);
  const auto samples = parse_metrics(page.body);
  using Labels = std::map<std::string, std::string>;
  for (const char* route : {"a", "b"}) {
    const PartnerSimulator& partner = route == std::string("a") ? a : b;
    EXPECT_EQ(find(samples, "conveyor_messages_total", Labels{{"route", route}, {"outcome", "delivered"}}),
              partner.stat("ok")) << route;
    EXPECT_EQ(find(samples, "conveyor_partner_requests_total", Labels{{"route", route}, {"result", "2xx"}}),
              partner.stat("ok")) << route;
    EXPECT_EQ(find(samples, "conveyor_partner_requests_total", Labels{{"route", route}, {"result", "4xx"}}),
              partner.stat("failed")) << route;
    EXPECT_EQ(find(samples, "conveyor_partner_request_duration_seconds_count", Labels{{"route", route}}),
              partner.stat("requests")) << route;
    EXPECT_EQ(find(samples, "conveyor_in_flight", Labels{{"route", route}}), 0.0) << route;
    EXPECT_EQ(find(samples, "conveyor_circuit_open", Labels{{"route", route}}), 0.0) << route;
    EXPECT_EQ(find(samples, "conveyor_route_paused", Labels{{"route", route}}), 0.0) << route;
  }
  EXPECT_EQ(a.stat("ok"), kToA - kRefusedByA);
  EXPECT_EQ(b.stat("ok"), kToB);
  EXPECT_EQ(find(samples, "conveyor_messages_total", Labels{{"route", "a"}, {"outcome", "dead_lettered"}}), kRefusedByA);
  EXPECT_EQ(find(samples, "conveyor_messages_total", Labels{{"route", "b"}, {"outcome", "dead_lettered"}}), 0.0);
  EXPECT_EQ(find(samples, "conveyor_messages_total", Labels{{"route", "(none)"}, {"outcome", "dead_lettered"}}),
            kNoRoute) << "what no route takes has its own series, so sum() adds up";
  EXPECT_EQ(find(samples, "conveyor_route_concurrency_limit", Labels{{"route", "a"}}), 5.0);
  EXPECT_EQ(find(samples, "conveyor_route_concurrency_limit", Labels{{"route", "b"}}), std::nullopt)
      << "no limit, no series";
  EXPECT_EQ(find(samples, "conveyor_route_rate_limit_per_second", Labels{{"route", "a"}}), 200.0);
  EXPECT_EQ(find(samples, "conveyor_route_rate_limit_per_second", Labels{{"route", "b"}}), 0.0);
  for (const auto& s : samples) {
    if (s.name.rfind("conveyor_", 0) == 0 && s.name != "conveyor_queue_messages" && s.name != "conveyor_ready" &&
        s.name != "conveyor_build_info" && s.name != "conveyor_partner_connections") {
      EXPECT_TRUE(s.labels.count("route")) << s.name << " has a sample without a route";
    }
  }

  const auto status = worker.status();
  const auto& listed = status.at("routes").as_array();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].at("name"), "a");
  EXPECT_EQ(number(listed[0].at("delivered")), a.stat("ok"));
  EXPECT_EQ(number(listed[0].at("dead_lettered")), kRefusedByA);
  EXPECT_EQ(number(listed[0].at("limit")), 5u);
  EXPECT_EQ(listed[0].at("rate_limit_per_second").to_number<double>(), 200.0);
  EXPECT_EQ(listed[1].at("name"), "b");
  EXPECT_EQ(number(listed[1].at("delivered")), b.stat("ok"));
  EXPECT_TRUE(listed[1].at("limit").is_null());
  worker.process().signal(SIGTERM);
  EXPECT_EQ(worker.process().wait(30s), 0);
}

TEST(AdminReadiness, FollowsRedisDownAndBack) {
  QueueUnderTest queue(Backend::redis);
  PartnerSimulator partner({"--delay", "1ms"});
  std::vector<std::string> args = {"work", "--channel", kChannel, "--target-url", partner.url(),
                                   "--admin-listen", "127.0.0.1:0"};
  for (const auto& a : queue.args()) args.push_back(a);
  Worker worker(start_conveyor(args, queue.env()));
  ASSERT_TRUE(wait_until([&] { return get(worker.url("/readyz")).status == 200; }, 30s));
  queue.redis().kill();
  ASSERT_TRUE(wait_until([&] { return get(worker.url("/readyz")).status == 503; }, 30s));
  EXPECT_NE(get(worker.url("/readyz")).body.find("queue"), std::string::npos) << "the reason says what is wrong";
  EXPECT_EQ(get(worker.url("/healthz")).status, 200u) << "a queue outage is not a hung worker";
  queue.redis().restart();
  ASSERT_TRUE(wait_until([&] { return get(worker.url("/readyz")).status == 200; }, 30s));
  worker.process().signal(SIGTERM);
  EXPECT_EQ(worker.process().wait(30s), 0);
}

TEST(AdminListen, AnAddressOtherHostsReachNeedsAToken) {
  QueueUnderTest queue(Backend::redis);
  std::vector<std::string> args = {"work", "--channel", kChannel, "--target-url", "http://127.0.0.1:9/x",
                                   "--admin-listen", "0.0.0.0:0"};
  for (const auto& a : queue.args()) args.push_back(a);
  const auto refused = run_conveyor(args, 30s, queue.env());
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find("ADMIN_LISTEN"), std::string::npos) << refused.output;

  auto env = queue.env();
  env.push_back(std::string("ADMIN_TOKEN=") + kToken);
  Worker worker(start_conveyor(args, env));
  const std::string port = worker.url("").substr(worker.url("").rfind(':') + 1);
  const std::string base = "http://127.0.0.1:" + port;
  EXPECT_EQ(get(base + "/api/status").status, 401u) << "off loopback, the status needs the token";
  EXPECT_EQ(get(base + "/").status, 401u) << "and so does the dashboard";
  EXPECT_EQ(get(base + "/metrics").status, 200u) << "scrapers stay open";
  EXPECT_EQ(get(base + "/healthz").status, 200u) << "probes stay open";
  worker.process().signal(SIGTERM);
  EXPECT_EQ(worker.process().wait(30s), 0);
}

TEST(AdminListen, AnAddressInUseExitsTwoNamingTheKey) {
  QueueUnderTest queue(Backend::redis);
  PartnerSimulator taken;  // holds a port
  std::vector<std::string> args = {"work", "--channel", kChannel, "--target-url", taken.url(),
                                   "--admin-listen", taken.address()};
  for (const auto& a : queue.args()) args.push_back(a);
  const auto run = run_conveyor(args, 30s, queue.env());
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("ADMIN_LISTEN"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("in use"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace conveyor::testing
