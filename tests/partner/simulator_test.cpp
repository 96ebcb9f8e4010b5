#include "partner/simulator.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "core/limits.h"
#include "partner/test_client.h"
#include "support/child_process.h"

namespace conveyor::partner {
namespace {

using namespace std::chrono_literals;
using conveyor::testing::wait_until;
using testing::Reply;
using testing::TestClient;
using Clock = std::chrono::steady_clock;

// A simulator on 127.0.0.1, port 0, serving on its own threads for one test.
class Running {
 public:
  explicit Running(SimulatorOptions options) : simulator_(std::move(options)) {
    const auto ec = simulator_.start();
    if (ec) throw std::runtime_error("simulator did not start: " + ec.message());
  }

  Simulator& operator*() { return simulator_; }
  Simulator* operator->() { return &simulator_; }
  boost::asio::ip::tcp::endpoint endpoint() const { return simulator_.local_endpoint(); }

 private:
  Simulator simulator_;
};

SimulatorOptions with(std::chrono::milliseconds delay, double fail_rate = 0.0, unsigned threads = 1) {
  SimulatorOptions options;
  options.delay = delay;
  options.fail_rate = fail_rate;
  options.threads = threads;
  return options;
}

// GET /stats over HTTP, parsed; the counters the tests compare exactly.
StatsSnapshot http_stats(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint) {
  TestClient client(io, endpoint);
  const Reply reply = client.request("GET", "/stats");
  EXPECT_EQ(reply.status, 200u) << reply.error.message();
  const auto object = boost::json::parse(reply.body).as_object();
  EXPECT_EQ(object.size(), 6u) << reply.body;
  auto field = [&](const char* name) { return object.at(name).to_number<std::uint64_t>(); };
  return StatsSnapshot{field("requests"), field("ok"), field("failed"),
                       field("unique_keys"), field("duplicates"), field("in_flight")};
}

TEST(Simulator, AnswersOkNoSoonerThanTheDelay) {
  Running sim(with(200ms));
  boost::asio::io_context io;
  TestClient client(io, sim.endpoint());
  ASSERT_FALSE(client.connect_error()) << client.connect_error().message();

  const auto started = Clock::now();
  const Reply reply = client.request("POST", "/deliver", R"({"id":1})", "key-1");
  const auto elapsed = Clock::now() - started;

  ASSERT_FALSE(reply.error) << reply.error.message();
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.body, R"({"ok":true})");
  EXPECT_EQ(reply.message[boost::beast::http::field::content_type], "application/json");
  EXPECT_GE(elapsed, 200ms);
  EXPECT_EQ(sim->stats(), (StatsSnapshot{1, 1, 0, 1, 0, 0}));
}

TEST(Simulator, PadsOkBodiesToResponseBytes) {
  auto options = with(0ms);
  options.response_bytes = 1024 * 1024;  // a carrier's base64 label
  Running sim(options);
  boost::asio::io_context io;
  TestClient client(io, sim.endpoint());
  const Reply reply = client.request("POST", "/", "{}", "key-1");
  ASSERT_FALSE(reply.error) << reply.error.message();
  EXPECT_EQ(reply.status, 200u);
  ASSERT_EQ(reply.body.size(), 1024u * 1024u);
  EXPECT_EQ(reply.body.substr(0, 20), R"({"ok":true,"label":")");
  EXPECT_EQ(reply.body.substr(reply.body.size() - 3), R"(A"})");
  EXPECT_TRUE(boost::json::parse(reply.body).as_object().at("ok").as_bool());

  auto tiny = with(0ms);
  tiny.response_bytes = 5;  // too small to pad: the usual answer
  Running small(tiny);
  TestClient small_client(io, small.endpoint());
  EXPECT_EQ(small_client.request("POST", "/", "{}", "key-1").body, R"({"ok":true})");
}

TEST(Simulator, FailRateOneAnswersEvery503AndRecordsNoKey) {
  auto options = with(0ms, 1.0);
  options.retry_after = std::chrono::seconds(7);
  Running sim(options);
  boost::asio::io_context io;
  TestClient client(io, sim.endpoint());
  for (int i = 0; i < 20; ++i) {
    const Reply reply = client.request("POST", "/", "{}", fmt::format("key-{}", i));
    ASSERT_FALSE(reply.error) << reply.error.message();
    EXPECT_EQ(reply.status, 503u);
    EXPECT_EQ(reply.message["Retry-After"], "7");
  }
  EXPECT_EQ(http_stats(io, sim.endpoint()), (StatsSnapshot{20, 0, 20, 0, 0, 0}));
}

TEST(Simulator, FailRateBetweenZeroAndOneAnswersBoth) {
  Running sim(with(0ms, 0.5));
  boost::asio::io_context io;
  TestClient client(io, sim.endpoint());
  unsigned ok = 0;
  unsigned failed = 0;
  for (int i = 0; i < 400; ++i) {
    const Reply reply = client.request("POST", "/", "{}", fmt::format("key-{}", i));
    ASSERT_FALSE(reply.error) << reply.error.message();
    (reply.status == 200 ? ok : failed) += 1;
  }
  // Both outcomes occur (the odds of either being absent are 2^-400).
  EXPECT_GT(ok, 0u);
  EXPECT_GT(failed, 0u);
  const auto stats = sim->stats();
  EXPECT_EQ(stats.ok, ok);
  EXPECT_EQ(stats.failed, failed);
  EXPECT_EQ(stats.unique_keys, ok);
  EXPECT_EQ(stats.duplicates, 0u);
}

TEST(Simulator, StatsAreExactAfterAKnownSequenceOnOneKeepAliveConnection) {
  Running sim(with(0ms));
  boost::asio::io_context io;
  TestClient client(io, sim.endpoint());
  // a, b, a again, one without a key, c, b again.
  const std::vector<std::string> keys = {"a", "b", "a", "", "c", "b"};
  for (const auto& key : keys) {
    const Reply reply = client.request("POST", "/v1/messages", "{}", key);
    ASSERT_FALSE(reply.error) << reply.error.message();  // same connection throughout
    ASSERT_EQ(reply.status, 200u);
  }
  const Reply stats = client.request("GET", "/stats");
  ASSERT_EQ(stats.status, 200u);
  EXPECT_EQ(stats.body,
            R"({"requests":6,"ok":6,"failed":0,"unique_keys":3,"duplicates":2,"in_flight":0})");
  EXPECT_EQ(sim->stats(), (StatsSnapshot{6, 6, 0, 3, 2, 0}));
}

TEST(Simulator, DuplicatesAreCountedExactlyAcrossConnectionsAndThreads) {
  constexpr unsigned kServerThreads = 4;
  constexpr unsigned kClients = 8;  // two connections on each server thread
  constexpr unsigned kKeys = 300;
  Running sim(with(0ms, 0.0, kServerThreads));

  std::atomic<unsigned> answered_ok{0};
  std::vector<std::thread> clients;
  for (unsigned c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      boost::asio::io_context io;
      TestClient client(io, sim.endpoint());
      // Each client walks the keys from a different start, so the same key
      // arrives on different threads at nearly the same time.
      for (unsigned i = 0; i < kKeys; ++i) {
        const unsigned k = (i + c * 37) % kKeys;
        const Reply reply = client.request("POST", "/", "{}", fmt::format("key-{}", k));
        if (!reply.error && reply.status == 200) answered_ok.fetch_add(1);
      }
    });
  }
  for (auto& t : clients) t.join();

  ASSERT_EQ(answered_ok.load(), kClients * kKeys);
  boost::asio::io_context io;
  EXPECT_EQ(http_stats(io, sim.endpoint()),
            (StatsSnapshot{kClients * kKeys, kClients * kKeys, 0, kKeys, (kClients - 1) * kKeys, 0}));
}

TEST(Simulator, ThreeThousandConcurrentDelayedRequestsAreAllInFlightThenAllOk) {
  constexpr int kConnections = 3000;
  // Each connection is two descriptors in this process (client and server).
  if (raise_open_files_limit() < 2 * kConnections + 200) {
    GTEST_SKIP() << "the open-files limit is too low for " << kConnections << " connections";
  }
  Running sim(with(3s, 0.0, 2));
  boost::asio::io_context io;

  std::vector<std::unique_ptr<TestClient>> clients;
  clients.reserve(kConnections);
  for (int i = 0; i < kConnections; ++i) {
    clients.push_back(std::make_unique<TestClient>(io, sim.endpoint()));
    ASSERT_FALSE(clients.back()->connect_error()) << i << ": " << clients.back()->connect_error().message();
    ASSERT_FALSE(clients.back()->send("POST", "/", fmt::format(R"({{"n":{}}})", i), fmt::format("key-{}", i)));
  }

  EXPECT_TRUE(wait_until([&] { return http_stats(io, sim.endpoint()).in_flight == kConnections; }, 30s))
      << "in_flight never reached " << kConnections << ": " << to_json(sim->stats());

  for (int i = 0; i < kConnections; ++i) {
    const Reply reply = clients[i]->receive();
    ASSERT_FALSE(reply.error) << i << ": " << reply.error.message();
    ASSERT_EQ(reply.status, 200u) << i;
  }
  EXPECT_EQ(http_stats(io, sim.endpoint()),
            (StatsSnapshot{kConnections, kConnections, 0, kConnections, 0, 0}));
}

TEST(Simulator, RecordsDistinctOkBodiesWhenAsked) {
  auto options = with(0ms);
  options.record_bodies = true;
  Running sim(options);
  boost::asio::io_context io;
  TestClient client(io, sim.endpoint());
  for (const char* body : {R"({"m":1})", R"({"m":2})", R"({"m":1})", R"({"m":"\u00e9"})"}) {
    ASSERT_EQ(client.request("POST", "/", body, "").status, 200u);
  }
  const Reply reply = client.request("GET", "/bodies");
  ASSERT_EQ(reply.status, 200u);
  std::vector<std::string> bodies;
  const auto parsed = boost::json::parse(reply.body);
  for (const auto& v : parsed.as_array()) bodies.emplace_back(v.as_string());
  std::sort(bodies.begin(), bodies.end());
  EXPECT_EQ(bodies, (std::vector<std::string>{R"({"m":"\u00e9"})", R"({"m":1})", R"({"m":2})"}));
}

TEST(Simulator, BodiesAreNotRecordedByDefault) {
  Running sim(with(0ms));
  boost::asio::io_context io;
  TestClient client(io, sim.endpoint());
  ASSERT_EQ(client.request("POST", "/", "{}", "k").status, 200u);
  EXPECT_EQ(client.request("GET", "/bodies").status, 404u);
  EXPECT_TRUE(sim->bodies().empty());
}

TEST(Simulator, HealthzUnknownPathsAndMethods) {
  Running sim(with(0ms));
  boost::asio::io_context io;
  TestClient client(io, sim.endpoint());
  EXPECT_EQ(client.request("GET", "/healthz").status, 200u);
  EXPECT_EQ(client.request("GET", "/stats?pretty=1").status, 200u);
  EXPECT_EQ(client.request("GET", "/nope").status, 404u);
  EXPECT_EQ(client.request("DELETE", "/stats").status, 405u);
  EXPECT_EQ(sim->stats().requests, 0u);  // only POSTs count
}

TEST(Simulator, RejectsInvalidOptions) {
  for (double rate : {-0.1, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    Simulator sim(with(0ms, rate));
    EXPECT_EQ(sim.start(), boost::system::errc::invalid_argument) << rate;
  }
  auto options = with(0ms);
  options.listen = "127.0.0.1";  // no port
  Simulator sim(options);
  EXPECT_EQ(sim.start(), boost::system::errc::invalid_argument);
}

TEST(Simulator, StopReturnsPromptlyWithWaitingAndIdleConnections) {
  Running sim(with(60s, 0.0, 2));
  boost::asio::io_context io;
  std::vector<std::unique_ptr<TestClient>> waiting;
  for (int i = 0; i < 10; ++i) {
    waiting.push_back(std::make_unique<TestClient>(io, sim.endpoint()));
    ASSERT_FALSE(waiting.back()->send("POST", "/", "{}", fmt::format("key-{}", i)));
  }
  std::vector<std::unique_ptr<TestClient>> idle;
  for (int i = 0; i < 5; ++i) idle.push_back(std::make_unique<TestClient>(io, sim.endpoint()));
  ASSERT_TRUE(wait_until([&] { return sim->stats().in_flight == 10; }, 10s));

  std::atomic<bool> returned{false};
  std::thread runner([&] {
    sim->run();
    returned = true;
  });
  sim->stop();
  // The delay is 60 s: only a stop that cancels the waits returns this soon.
  const bool prompt = wait_until([&] { return returned.load(); }, 10s);
  runner.join();
  EXPECT_TRUE(prompt);

  for (auto& client : waiting) EXPECT_TRUE(client->receive().error);  // closed, unanswered
  for (auto& client : idle) EXPECT_TRUE(client->receive().error);
  EXPECT_EQ(sim->stats(), (StatsSnapshot{10, 0, 0, 0, 0, 0}));
}

// run_partner in a forked child: the one stdout line, a working port, and a
// clean exit on SIGTERM.
TEST(RunPartner, PrintsTheListeningLineAndStopsOnSigterm) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    SimulatorOptions options;
    options.listen = "127.0.0.1:0";
    ::_exit(run_partner(options));
  }
  ::close(fds[1]);

  std::string out;
  const auto deadline = Clock::now() + 10s;
  while (out.find('\n') == std::string::npos && Clock::now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char chunk[256];
    const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    if (n <= 0) break;
    out.append(chunk, static_cast<std::size_t>(n));
  }
  const std::string prefix = "listening on 127.0.0.1:";
  ASSERT_EQ(out.rfind(prefix, 0), 0u) << out;
  ASSERT_EQ(out.back(), '\n') << out;
  const auto port = static_cast<unsigned short>(std::stoi(out.substr(prefix.size())));

  {
    boost::asio::io_context io;
    TestClient client(io, {boost::asio::ip::make_address("127.0.0.1"), port});
    EXPECT_EQ(client.request("POST", "/", "{}", "k").status, 200u);
  }

  ::kill(pid, SIGTERM);
  int status = -1;
  const bool exited = wait_until([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, 10s);
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  ::close(fds[0]);
  ASSERT_TRUE(exited);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace conveyor::partner

namespace conveyor::partner {
namespace {

// --order-field / --seq-field: GET /stats adds the ordering check's counts.
TEST(Simulator, OrderFieldAddsOrderViolationsAndOverlapsToStats) {
  auto options = with(0ms);
  options.order_field = "k";
  options.seq_field = "n";
  Running sim(options);
  boost::asio::io_context io;
  TestClient client(io, sim.endpoint());
  for (const char* body : {R"({"k":"a","n":1})", R"({"k":"a","n":2})", R"({"k":"a","n":2})", R"({"k":"b","n":0})"}) {
    ASSERT_EQ(client.request("POST", "/", body, body).status, 200u);
  }
  const Reply stats = client.request("GET", "/stats");
  ASSERT_EQ(stats.status, 200u);
  const auto object = boost::json::parse(stats.body).as_object();
  EXPECT_EQ(object.at("order_violations").to_number<int>(), 1) << stats.body;
  EXPECT_EQ(object.at("overlaps").to_number<int>(), 0) << stats.body;
  EXPECT_EQ(object.at("ok").to_number<int>(), 4) << stats.body;
  EXPECT_EQ(sim->order().order_violations(), 1u);
}

// --delay-jitter: each delay is a draw from [delay, delay + jitter].
TEST(Simulator, DelayJitterSpreadsTheDelays) {
  auto options = with(10ms);
  options.delay_jitter = 60ms;
  Running sim(options);
  boost::asio::io_context io;
  TestClient client(io, sim.endpoint());
  std::vector<Clock::duration> took;
  for (int i = 0; i < 20; ++i) {
    const auto started = Clock::now();
    ASSERT_EQ(client.request("POST", "/", "{}", fmt::format("key-{}", i)).status, 200u);
    took.push_back(Clock::now() - started);
  }
  const auto [shortest, longest] = std::minmax_element(took.begin(), took.end());
  EXPECT_GE(*shortest, 10ms);
  // 20 uniform draws over 60 ms all within 10 ms of each other: odds below 1e-13.
  EXPECT_GT(*longest - *shortest, 10ms);
}

}  // namespace
}  // namespace conveyor::partner
