// Conveyor through Redis Sentinel (one master, one replica, three sentinels on loopback): a run
// delivered exactly once, `stats` and `dlq` answered, a cluster-scope rate limit kept on the
// master, four worker processes sharing the queue, and the master killed with kill -9 mid-run: the
// sentinels promote the replica, the worker follows it, and no message is lost. Replication is
// asynchronous, so the failover may repeat messages whose acknowledgements (or leases) the replica
// never got: they are counted and printed, never failed on.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "support/conveyor_harness.h"
#include "support/redis_sentinel.h"
#include "support/temp_path.h"
#include "support/worker_split.h"

namespace conveyor::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kChannel = "shipments";

class Sentinel : public ::testing::Test {
 protected:
  std::vector<std::string> queue() const { return {"--channel", kChannel, "--redis-url", set.url()}; }
  std::vector<std::string> command(std::vector<std::string> head, std::vector<std::string> tail = {}) const {
    const auto q = queue();
    head.insert(head.end(), q.begin(), q.end());
    head.insert(head.end(), tail.begin(), tail.end());
    return head;
  }
  void publish(std::size_t n) {
    const auto run = run_conveyor(command({"publish"}, {"--count", std::to_string(n)}), 60s);
    ASSERT_EQ(run.exit_code, 0) << run.output;
  }
  // Nothing left of the channel on `server`.
  static void expect_drained(RedisServer& server) {
    EXPECT_EQ(server.integer({"LLEN", kChannel}), 0);
    EXPECT_EQ(server.integer({"ZCARD", std::string(kChannel) + ":leases"}), 0);
    EXPECT_EQ(server.integer({"ZCARD", std::string(kChannel) + ":delayed"}), 0);
    EXPECT_EQ(server.integer({"HLEN", std::string(kChannel) + ":bodies"}), 0);
  }

  RedisSentinels set;
};

TEST_F(Sentinel, ARunThroughSentinelDeliversEveryMessageExactlyOnce) {
  publish(5'000);
  EXPECT_EQ(set.master().integer({"LLEN", kChannel}), 5'000);
  PartnerSimulator partner({"--delay", "1ms"});
  const auto done = run_conveyor(command({"work", "--target-url", partner.url()}, {"--until-empty"}), 120s);
  ASSERT_EQ(done.exit_code, 0) << done.output;
  EXPECT_EQ(partner.stat("unique_keys"), 5'000u);
  EXPECT_EQ(partner.stat("duplicates"), 0u);
  EXPECT_EQ(partner.stat("ok"), 5'000u);
  EXPECT_EQ(partner.bodies(), generated_messages(5'000));
  expect_drained(set.master());
}

TEST_F(Sentinel, StatsAndTheDeadLetterListAnswerThroughSentinel) {
  publish(1'234);
  const auto stats = run_conveyor(command({"stats"}, {"--json"}), 30s);
  ASSERT_EQ(stats.exit_code, 0) << stats.output;
  const auto rows = boost::json::parse(stats.output.substr(stats.output.find('['))).as_array();
  ASSERT_EQ(rows.size(), 1u) << stats.output;
  EXPECT_EQ(rows[0].at("waiting").to_number<std::size_t>(), 1'234u) << stats.output;
  const auto dead = run_conveyor(command({"dlq", "list"}, {"--json"}), 30s);
  ASSERT_EQ(dead.exit_code, 0) << dead.output;
  EXPECT_EQ(boost::json::parse(dead.output.substr(dead.output.find('['))).as_array().size(), 0u);
}

TEST_F(Sentinel, AMasterKilledMidRunIsFollowedToThePromotedReplicaAndNothingIsLost) {
  constexpr std::size_t kMessages = 20'000;
  publish(kMessages);
  // The producer's writes must be on the replica before the kill, or the test would measure what
  // asynchronous replication can lose of a producer's RPUSH (docs/reliability.md), not Conveyor.
  ASSERT_TRUE(wait_until([&] { return set.replica().integer({"LLEN", kChannel}) == kMessages; }, 30s));

  PartnerSimulator partner({"--delay", "1ms", "--threads", "2"});
  auto worker = start_conveyor(command({"work", "--target-url", partner.url()},
                                       {"--until-empty", "--concurrency", "200", "--lease-timeout", "5s",
                                        "--request-timeout", "2s"}));
  ASSERT_TRUE(wait_until([&] { return partner.stat("ok") >= kMessages / 3 || !worker.running(); }, 120s));
  ASSERT_TRUE(worker.running()) << worker.read_all(1s);
  const auto killed = Clock::now();
  set.kill_master();
  const std::uint64_t delivered_at_kill = partner.stat("ok");

  ASSERT_TRUE(set.wait_for_failover(60s)) << "the sentinels did not promote the replica";
  const auto promoted = Clock::now();
  // The worker follows once it leases from the new master: its list gets shorter.
  const long long left_at_promotion = set.replica().integer({"LLEN", kChannel});
  ASSERT_TRUE(wait_until([&] { return set.replica().integer({"LLEN", kChannel}) < left_at_promotion; }, 60s, 10ms))
      << "the worker did not lease from the promoted replica";
  const auto followed = Clock::now();

  const auto code = worker.wait(240s);
  ASSERT_TRUE(code) << "the worker did not finish after the failover";
  EXPECT_EQ(*code, 0) << worker.read_all(1s);

  // Nothing lost: every message delivered, by content. Repeats are allowed (asynchronous
  // replication): acknowledgements the replica never got are delivered again under the same id,
  // leases it never got come back from the list under a new one.
  const auto bodies = partner.bodies();
  EXPECT_EQ(bodies, generated_messages(kMessages));
  const std::uint64_t ok = partner.stat("ok");
  using ms = std::chrono::milliseconds;
  std::printf(
      "sentinel failover: %zu messages, %llu delivered before the kill; kill -9 -> promoted %lld ms, -> worker "
      "leasing from the new master %lld ms; %llu deliveries, %llu repeats (%llu with the same id)\n",
      kMessages, static_cast<unsigned long long>(delivered_at_kill),
      static_cast<long long>(std::chrono::duration_cast<ms>(promoted - killed).count()),
      static_cast<long long>(std::chrono::duration_cast<ms>(followed - killed).count()),
      static_cast<unsigned long long>(ok), static_cast<unsigned long long>(ok - bodies.size()),
      static_cast<unsigned long long>(partner.stat("duplicates")));
  expect_drained(set.replica());
}

TEST_F(Sentinel, AClusterScopeRateLimitIsKeptInTheMasterTheSentinelsName) {
  constexpr std::size_t kMessages = 300;
  publish(kMessages);
  PartnerSimulator partner({"--delay", "1ms"});
  const std::string routes = temp_path("sentinel-routes.toml");
  std::ofstream(routes) << "[[route]]\nname = \"limited\"\nurl = \"" << partner.url()
                        << "\"\nrate = \"100/s\"\nburst = 10\nrate_scope = \"cluster\"\n";
  const auto started = Clock::now();
  auto worker = start_conveyor(command({"work", "--routes", routes}, {"--until-empty"}));
  EXPECT_TRUE(wait_until([&] { return set.master().integer({"EXISTS", "conveyor:rate:{limited}"}) == 1; }, 30s))
      << "the limit's state is not on the master";
  const auto code = worker.wait(60s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0) << worker.read_all(1s);
  const double took = std::chrono::duration<double>(Clock::now() - started).count();
  EXPECT_GE(took, (kMessages - 10) / 100.0 * 0.95) << "the limit was applied";
  EXPECT_EQ(partner.stat("unique_keys"), kMessages);
}

// The four-process check of worker_split_test.cpp, through the sentinels.
TEST_F(Sentinel, FourWorkerProcessesThroughSentinelShareTheQueue) {
  publish(8'000);
  PartnerSimulator partner({"--delay", "5ms", "--threads", "2"});
  const auto split =
      run_workers_side_by_side(4, queue(), {}, partner.url(), {"--concurrency", "20", "--threads", "1"}, 120s);
  std::printf("4 worker processes through sentinel, 8000 messages: %s\n", split.describe().c_str());
  for (const int code : split.exit_codes) EXPECT_EQ(code, 0) << split.output;
  EXPECT_EQ(split.total(), 8'000u);
  EXPECT_EQ(partner.stat("duplicates"), 0u);
  EXPECT_EQ(partner.bodies(), generated_messages(8'000));
}

}  // namespace
}  // namespace conveyor::testing
