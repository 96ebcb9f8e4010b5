// What a worker logs while Redis is down or refuses it: one line per lane per reconnect attempt
// (from the queue that owns the reconnects; the dispatcher above stays quiet), the reason in
// Redis's or the socket's words, and one line per lane when Redis is back. The per-minute
// summaries that follow the first minute are timed exactly in tests/core/outage_log_test.cpp.
#include <gtest/gtest.h>

#include <signal.h>

#include <functional>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "support/conveyor_harness.h"
#include "support/redis_server.h"

namespace conveyor::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kChannel = "shipments";

// The worker's log, read as it is written.
class LogReader {
 public:
  explicit LogReader(ChildProcess& process) : process_(process) {}

  // Reads lines until `done` holds for the log so far; false at the deadline or EOF.
  bool read_until(const std::function<bool()>& done, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) return false;
      auto line = process_.read_line(left);
      if (!line) return false;
      lines.push_back(std::move(*line));
    }
    return true;
  }

  std::size_t count(const std::string& text, std::size_t from = 0) const {
    std::size_t n = 0;
    for (std::size_t i = from; i < lines.size(); ++i) n += lines[i].find(text) != std::string::npos;
    return n;
  }

  std::string since(std::size_t from) const {
    std::string out;
    for (std::size_t i = from; i < lines.size(); ++i) out += lines[i] + "\n";
    return out;
  }

  std::vector<std::string> lines;

 private:
  ChildProcess& process_;
};

// Every warning from `from` on is one of the queue's outage lines; no attempt is logged twice: a
// reconnect attempt's line names its backoff ("next attempt in 200ms"), which grows along the
// same steps in every lane, so each step (below the 2 s cap) shows up at most once per lane.
void expect_one_line_per_lane_per_attempt(const LogReader& log, std::size_t from, std::size_t lanes) {
  const std::regex attempt("next attempt in ([0-9.]+m?s)");
  std::map<std::string, std::size_t> per_step;
  for (std::size_t i = from; i < log.lines.size(); ++i) {
    const std::string& line = log.lines[i];
    EXPECT_EQ(line.find("cannot lease messages"), std::string::npos) << "the dispatcher repeats the queue: " << line;
    if (line.find(" warning ") == std::string::npos) continue;
    EXPECT_NE(line.find("redis (queue shipments) unreachable"), std::string::npos) << line;
    std::smatch step;
    if (std::regex_search(line, step, attempt) && step[1] != "2s") ++per_step[step[1]];
  }
  EXPECT_FALSE(per_step.empty()) << log.since(from);
  for (const auto& [step, n] : per_step) {
    EXPECT_LE(n, lanes) << "attempts with backoff " << step << " logged " << n << " times:\n" << log.since(from);
  }
}

TEST(RedisOutageLog, RedisDownForSecondsLogsOneLinePerLanePerAttemptAndOneWhenBack) {
  RedisServer redis;
  PartnerSimulator partner;
  auto worker = start_conveyor({"work", "--channel", kChannel, "--redis-url", redis.url(), "--target-url",
                                partner.url(), "--concurrency", "20", "--threads", "2"});
  LogReader log(worker);
  ASSERT_EQ(
      run_conveyor({"publish", "--channel", kChannel, "--redis-url", redis.url(), "--count", "20"}, 30s).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return partner.stat("ok") >= 20; }, 30s));

  const std::size_t from = log.lines.size();
  redis.kill();
  // Down until both lanes have backed off to 1.6 s (about 3 s of attempts), bounded.
  ASSERT_TRUE(log.read_until([&] { return log.count("next attempt in 1.6s", from) >= 2; }, 30s)) << log.since(from);
  redis.restart();
  ASSERT_TRUE(log.read_until([&] { return log.count("reachable again after", from) >= 2; }, 30s)) << log.since(from);

  expect_one_line_per_lane_per_attempt(log, from, 2);
  EXPECT_EQ(log.count("reachable again after", from), 2u) << log.since(from);
  EXPECT_GE(log.count("Connection refused", from), 2u) << "the reason is the socket's: " << log.since(from);

  // And it works again.
  ASSERT_EQ(
      run_conveyor({"publish", "--channel", kChannel, "--redis-url", redis.url(), "--count", "20"}, 30s).exit_code, 0);
  EXPECT_TRUE(wait_until([&] { return partner.stat("ok") >= 40; }, 30s));
  worker.signal(SIGTERM);
  EXPECT_EQ(worker.wait(30s), 0);
}

// A password rotated under a running worker can heal (the operator fixes one side or the other),
// so it is retried, logged under the same policy, quoting Redis and never the password.
TEST(RedisOutageLog, ARotatedPasswordMidRunIsRetriedAndLoggedOncePerAttempt) {
  RedisServer redis;
  redis.require_password("first-secret-1");
  const std::string url = "redis://:first-secret-1@127.0.0.1:" + std::to_string(redis.port()) + "/0";
  PartnerSimulator partner;
  auto worker = start_conveyor({"work", "--channel", kChannel, "--redis-url", url, "--target-url", partner.url(),
                                "--concurrency", "10", "--threads", "1"});
  LogReader log(worker);
  ASSERT_EQ(run_conveyor({"publish", "--channel", kChannel, "--redis-url", url, "--count", "10"}, 30s).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return partner.stat("ok") >= 10; }, 30s));

  const std::size_t from = log.lines.size();
  redis.require_password("second-secret-2");
  redis.query({"CLIENT", "KILL", "TYPE", "normal"});  // the worker must log in again
  ASSERT_TRUE(log.read_until([&] { return log.count("next attempt in 800ms", from) >= 1; }, 30s)) << log.since(from);
  redis.require_password("first-secret-1");  // rotated back
  ASSERT_TRUE(log.read_until([&] { return log.count("reachable again after", from) >= 1; }, 30s)) << log.since(from);

  expect_one_line_per_lane_per_attempt(log, from, 1);
  EXPECT_GE(log.count("refused the login: WRONGPASS", from), 1u) << log.since(from);
  EXPECT_EQ(log.count("first-secret-1", from), 0u) << log.since(from);
  EXPECT_EQ(log.count("second-secret-2", from), 0u) << log.since(from);
  EXPECT_TRUE(worker.running());
  worker.signal(SIGTERM);
  EXPECT_EQ(worker.wait(30s), 0);
}

}  // namespace
}  // namespace conveyor::testing
