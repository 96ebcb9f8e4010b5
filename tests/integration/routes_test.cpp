// Routes and flow control end to end, with real processes on loopback: redis-server, partner
// simulators and `conveyor work` with a routes file. Routing by a message field, a rate limit
// shared by two worker processes through Redis, a Retry-After that pauses its route, a limited
// route that does not slow its neighbour, and adaptive concurrency against a congested partner.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <cmath>
#include <boost/json/parse.hpp>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "support/conveyor_harness.h"
#include "support/queue_under_test.h"
#include "support/temp_path.h"

namespace conveyor::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr const char* kChannel = "shipments";

class RoutesEndToEnd : public ::testing::Test {
 protected:
  RoutesEndToEnd() : queue(Backend::redis) {}

  std::vector<std::string> command(std::initializer_list<std::string> head, std::initializer_list<std::string> extra = {}) const {
    return queue.command(head, kChannel, extra);
  }
  void publish(const std::vector<std::string>& lines) { queue.publish(kChannel, lines); }
  std::string routes_file(const std::string& toml) const {
    const std::string path = temp_path("routes.toml");
    std::ofstream(path) << toml;
    return path;
  }
  std::vector<std::string> work(const std::string& routes, std::initializer_list<std::string> extra) const {
    auto args = command({"work"}, {"--routes", routes, "--admin-listen", "off"});
    args.insert(args.end(), extra);
    return args;
  }

  QueueUnderTest queue;
};

// The most calls seen in any window of T >= 1 s, against what `rate` x T + `burst` allows; a call
// reaches the partner a little after its grant (loopback, the worker's loop): `jitter` of that is
// allowed. Returns the worst excess (<= 0 when within the limit).
double worst_excess(const std::vector<std::int64_t>& arrivals_us, double rate, double burst, double jitter_s) {
  double worst = -1e9;
  for (std::size_t i = 0; i < arrivals_us.size(); ++i) {
    for (std::size_t j = i; j < arrivals_us.size(); ++j) {
      const double window = std::max(1.0, static_cast<double>(arrivals_us[j] - arrivals_us[i]) / 1e6);
      worst = std::max(worst, static_cast<double>(j - i + 1) - (rate * (window + jitter_s) + burst));
    }
  }
  return worst;
}

TEST_F(RoutesEndToEnd, EachMessageGoesToTheFirstRouteThatMatchesAndTheRestAreDeadLettered) {
  PartnerSimulator a({"--delay", "1ms", "--record-bodies"});
  PartnerSimulator b({"--delay", "1ms", "--record-bodies"});
  std::vector<std::string> lines;
  std::multiset<std::string> to_a, to_b;
  for (int i = 0; i < 300; ++i) {
    const char* partner = i % 3 == 0 ? "acme" : i % 3 == 1 ? "b" : "nobody";
    const std::string line = fmt::format(R"({{"partner":"{}","i":{}}})", partner, i);
    lines.push_back(line);
    if (i % 3 == 0) to_a.insert(line);
    if (i % 3 == 1) to_b.insert(line);
  }
  publish(lines);
  const auto routes = routes_file(fmt::format(R"(
[[route]]
name = "carrier-a"
match = {{ field = "partner", equals = ["a", "acme"] }}
url = "{}"

[[route]]
name = "carrier-b"
match = {{ field = "partner", equals = ["b"] }}
url = "{}"
)", a.url(), b.url()));
  const auto done = run_conveyor(work(routes, {"--until-empty", "--concurrency", "50"}), 60s, queue.env());
  ASSERT_EQ(done.exit_code, 0) << done.output;
  EXPECT_EQ(a.bodies(), to_a);
  EXPECT_EQ(b.bodies(), to_b);
  const auto listed = run_conveyor(command({"dlq", "list"}, {"--json", "--limit", "1000"}), 30s, queue.env());
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  const auto rows = json::parse(listed.output.substr(listed.output.find('['))).as_array();
  EXPECT_EQ(rows.size(), 100u);
  for (const auto& row : rows) EXPECT_EQ(row.at("reason").at("reason"), "no route");
}

TEST_F(RoutesEndToEnd, ARoutesRequestTimeoutPastTheLeaseFailsAtStartNamingTheRouteAndTheKey) {
  queue.create(kChannel);
  const auto routes = routes_file(R"(
[[route]]
name = "slow"
url = "http://127.0.0.1:9/x"
request_timeout = "60s"
)");
  const auto refused = run_conveyor(work(routes, {"--lease-timeout", "30s"}), 30s, queue.env());
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find(R"(route "slow": request_timeout: must be shorter than LEASE_TIMEOUT (30s), got 60s)"),
            std::string::npos)
      << refused.output;
}

TEST_F(RoutesEndToEnd, TwoWorkerProcessesShareOneClusterRateLimitThroughRedis) {
  constexpr double kRate = 100, kBurst = 10;
  constexpr std::size_t kMessages = 800;
  PartnerSimulator partner({"--delay", "1ms", "--record-arrivals"});
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < kMessages; ++i) lines.push_back(fmt::format(R"({{"i":{}}})", i));
  publish(lines);
  const auto routes = routes_file(fmt::format(R"(
[[route]]
name = "limited"
url = "{}"
rate = "100/s"
burst = 10
rate_scope = "cluster"
)", partner.url()));
  auto first = start_conveyor(work(routes, {"--until-empty", "--concurrency", "100"}), queue.env());
  auto second = start_conveyor(work(routes, {"--until-empty", "--concurrency", "100"}), queue.env());
  const std::string first_output = first.read_all(120s), second_output = second.read_all(120s);
  ASSERT_EQ(first.wait(10s), 0) << first_output;
  ASSERT_EQ(second.wait(10s), 0) << second_output;
  EXPECT_EQ(partner.stat("unique_keys"), kMessages);
  EXPECT_EQ(partner.stat("duplicates"), 0u);
  const auto arrivals = partner.arrivals();
  ASSERT_EQ(arrivals.size(), kMessages);
  EXPECT_LE(worst_excess(arrivals, kRate, kBurst, 0.005), 0.0) << "a window saw more than rate x T + burst";
  const double took = static_cast<double>(arrivals.back() - arrivals.front()) / 1e6;
  std::printf("cluster limit 100/s + 10 shared by 2 workers: %zu calls in %.2f s (%.1f/s); worst window %.2f calls %s the bound\n",
              arrivals.size(), took, static_cast<double>(arrivals.size() - 1) / took,
              std::abs(worst_excess(arrivals, kRate, kBurst, 0.0)),
              worst_excess(arrivals, kRate, kBurst, 0.0) <= 0 ? "under" : "over");
  // Two processes each limited on its own would take half as long.
  EXPECT_GE(took, (kMessages - kBurst) / kRate * 0.95) << "the limit is shared, not per process";
  EXPECT_LE(took, (kMessages - kBurst) / kRate * 1.5) << "and it is used, not starved";
  // Both workers took part.
  EXPECT_EQ(first_output.find("delivered 0 "), std::string::npos) << first_output;
  EXPECT_EQ(second_output.find("delivered 0 "), std::string::npos) << second_output;
}

TEST_F(RoutesEndToEnd, ARetryAfterFromThePartnerPausesTheWholeRoute) {
  PartnerSimulator partner({"--delay", "20ms", "--status-field", "status", "--retry-after", "2", "--record-arrivals"});
  std::vector<std::string> lines = {R"({"status":503,"i":0})"};
  for (int i = 1; i <= 300; ++i) lines.push_back(fmt::format(R"({{"i":{}}})", i));
  publish(lines);
  const auto routes = routes_file(fmt::format(R"(
[[route]]
name = "partner"
url = "{}"
max_attempts = 2
retry_base = "10ms"
)", partner.url()));
  const auto done = run_conveyor(work(routes, {"--until-empty", "--concurrency", "5"}), 60s, queue.env());
  ASSERT_EQ(done.exit_code, 0) << done.output;
  EXPECT_EQ(partner.stat("ok"), 300u);
  const auto arrivals = partner.arrivals();
  ASSERT_EQ(arrivals.size(), 302u);  // the marked message twice
  // Each 503 paused the route for its Retry-After of 2 s: two gaps of about 2 s, nothing in them.
  std::vector<double> gaps;
  for (std::size_t i = 1; i < arrivals.size(); ++i) gaps.push_back(static_cast<double>(arrivals[i] - arrivals[i - 1]) / 1e6);
  std::sort(gaps.rbegin(), gaps.rend());
  EXPECT_GE(gaps[0], 1.9);
  EXPECT_GE(gaps[1], 1.9) << "the second attempt's 503 paused the route again";
  EXPECT_LT(gaps[2], 0.5) << "and nothing else did";
}

TEST_F(RoutesEndToEnd, PlaceholdersFillThePathAndQueryFromTheMessageEncodedAndNothingElse) {
  PartnerSimulator partner({"--delay", "1ms", "--record-arrivals"});
  publish({R"({"p":"A-1","ref":"x y","i":1})", R"({"p":"../../admin","ref":"a&b=c","i":2})",
           R"({"p":"evil.example/x","ref":"#frag","i":3})", R"({"p":7,"ref":"n","i":4})",
           R"({"ref":"no p","i":5})"});
  const auto routes = routes_file(fmt::format(R"(
[[route]]
name = "templated"
url = "{}/v2/shipments/{{p}}?ref={{ref}}"
)", "http://" + partner.address()));
  const auto done = run_conveyor(work(routes, {"--until-empty", "--concurrency", "5"}), 60s, queue.env());
  ASSERT_EQ(done.exit_code, 0) << done.output;
  EXPECT_EQ(partner.targets(), (std::multiset<std::string>{"/v2/shipments/A-1?ref=x%20y",
                                                           "/v2/shipments/..%2F..%2Fadmin?ref=a%26b%3Dc",
                                                           "/v2/shipments/evil.example%2Fx?ref=%23frag",
                                                           "/v2/shipments/7?ref=n"}));
  const auto listed = run_conveyor(command({"dlq", "list"}, {"--json"}), 30s, queue.env());
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  const auto rows = json::parse(listed.output.substr(listed.output.find('['))).as_array();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at("reason").at("reason"), R"(field "p" for the URL is missing)");
}

TEST_F(RoutesEndToEnd, OAuth2TokensAreFetchedOnceAndA401GetsAFreshTokenAndOneMoreTry) {
  const std::vector<std::string> partner_args = {"--delay", "1ms", "--oauth-client", "conveyor:s3cret-value",
                                                 "--token-ttl", "3600s"};
  auto first = std::make_unique<PartnerSimulator>(partner_args);
  const std::string address = first->address();
  const auto routes = routes_file(fmt::format(R"(
[[route]]
name = "carrier"
url = "http://{0}/shipments"
max_attempts = 1
auth = {{ type = "oauth2_client_credentials", token_url = "http://{0}/oauth/token", client_id = "conveyor", client_secret = "${{CARRIER_SECRET}}" }}
)", address));
  std::vector<std::string> lines;
  for (int i = 0; i < 200; ++i) lines.push_back(fmt::format(R"({{"i":{}}})", i));
  publish(lines);
  auto env = queue.env();
  env.push_back("CARRIER_SECRET=s3cret-value");
  auto worker = start_conveyor(work(routes, {"--concurrency", "10"}), env);
  const auto wait_for = [](const PartnerSimulator& p, std::uint64_t ok) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (p.stat("ok") < ok && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
    return p.stat("ok") == ok;
  };
  ASSERT_TRUE(wait_for(*first, 200));
  EXPECT_EQ(first->stat("tokens_issued"), 1u) << "one token for the process, its lanes and its 200 calls";
  EXPECT_EQ(first->stat("unauthorized"), 0u);
  // The partner restarts and forgets its tokens: the worker's token is refused with a 401, so
  // the worker fetches a fresh one and tries once more; with MAX_ATTEMPTS=1 a 401 that was not
  // retried that way would be a dead letter.
  first.reset();
  std::vector<std::string> again = partner_args;
  again.insert(again.end(), {"--listen", address});
  PartnerSimulator second(again);
  lines.clear();
  for (int i = 200; i < 300; ++i) lines.push_back(fmt::format(R"({{"i":{}}})", i));
  const std::string path = temp_path("routes-more.jsonl");
  {
    std::ofstream out(path);
    for (const auto& line : lines) out << line << "\n";
  }
  ASSERT_EQ(run_conveyor(command({"publish"}, {"--input", path}), 60s, queue.env()).exit_code, 0);
  ASSERT_TRUE(wait_for(second, 100));
  EXPECT_GE(second.stat("unauthorized"), 1u) << "the old token was refused";
  EXPECT_GE(second.stat("tokens_issued"), 1u);
  worker.signal(SIGTERM);
  const std::string output = worker.read_all(30s);
  EXPECT_EQ(worker.wait(30s), 0) << output;
  EXPECT_EQ(output.find("s3cret-value"), std::string::npos) << "the secret is never logged";
  const auto listed = run_conveyor(command({"dlq", "list"}, {"--json"}), 30s, queue.env());
  EXPECT_EQ(json::parse(listed.output.substr(listed.output.find('['))).as_array().size(), 0u) << listed.output;
}

// B's throughput: its partner's calls over the time from its first to its last.
double throughput(const std::vector<std::int64_t>& arrivals) {
  return static_cast<double>(arrivals.size() - 1) / (static_cast<double>(arrivals.back() - arrivals.front()) / 1e6);
}

TEST_F(RoutesEndToEnd, ARateLimitedRouteDoesNotSlowItsUnlimitedNeighbour) {
#if defined(__SANITIZE_ADDRESS__)
  // Under AddressSanitizer the worker is several times slower and B becomes bound by the CPU, so a
  // throughput ratio measures the sanitizer; CI's optimised run (and bench/hol.sh) holds this figure.
  GTEST_SKIP() << "a throughput ratio is not measured in a sanitizer build";
#endif
  constexpr std::size_t kB = 20'000, kA = 10'000;  // the issue's 30,000, one in three for A
  PartnerSimulator a({"--delay", "1ms"});
  // B is bound by its partner's latency (50 in flight x 10 ms: 5,000/s), not by the CPU the two
  // cores share with the other tests: what is measured is whether A's waiting holds B back.
  PartnerSimulator b({"--delay", "10ms", "--record-arrivals"});
  // Route a is limited to 100/s; route b, the rest, is not.
  const auto limited_a_and_b = [&](const PartnerSimulator& to_b) {
    return routes_file(fmt::format(R"(
[[route]]
name = "a"
match = {{ field = "to", equals = ["a"] }}
url = "{}"
rate = "100/s"

[[route]]
name = "b"
url = "{}"
)", a.url(), to_b.url()));
  };
  const auto routes = limited_a_and_b(b);
  // B alone.
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < kB; ++i) lines.push_back(fmt::format(R"({{"to":"b","i":{}}})", i));
  publish(lines);
  const auto alone = run_conveyor(work(routes, {"--until-empty", "--concurrency", "50"}), 120s, queue.env());
  ASSERT_EQ(alone.exit_code, 0) << alone.output;
  const double b_alone = throughput(b.arrivals());
  // B with A: one message in three is A's, limited to 100/s; the worker stops once B is done.
  PartnerSimulator b2({"--delay", "10ms", "--record-arrivals"});
  const auto routes2 = limited_a_and_b(b2);
  lines.clear();
  for (std::size_t i = 0; i < kA + kB; ++i) {
    lines.push_back(fmt::format(R"({{"to":"{}","i":{}}})", i % 3 == 0 ? "a" : "b", i));
  }
  publish(lines);
  auto mixed = start_conveyor(work(routes2, {"--concurrency", "50"}), queue.env());
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (b2.stat("ok") < kB && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
  ASSERT_EQ(b2.stat("ok"), kB);
  mixed.signal(SIGTERM);
  const std::string output = mixed.read_all(60s);
  EXPECT_EQ(mixed.wait(30s), 0) << output;
  const double b_mixed = throughput(b2.arrivals());
  RecordProperty("b_alone_per_second", std::to_string(b_alone));
  RecordProperty("b_with_limited_a_per_second", std::to_string(b_mixed));
  std::printf("B alone %.0f/s, B beside A limited to 100/s %.0f/s (%.0f%%); A delivered %llu\n", b_alone, b_mixed,
              100 * b_mixed / b_alone, static_cast<unsigned long long>(a.stat("ok")));
  EXPECT_GE(b_mixed, 0.9 * b_alone);
  EXPECT_EQ(b2.stat("duplicates"), 0u);
}

}  // namespace
}  // namespace conveyor::testing
