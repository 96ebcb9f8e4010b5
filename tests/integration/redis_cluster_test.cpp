// Conveyor on a real Redis Cluster (three masters, three replicas, tests/support/redis_cluster.h):
// 100,000 messages over six shards delivered exactly once with the shards on several masters;
// a master killed with SIGKILL mid-run, its replica promoted, and nothing lost; stats and the
// dead-letter commands; a cluster-scope rate limit.
#include <gtest/gtest.h>

#include <signal.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "queue/redis/redis_queue.h"
#include "support/conveyor_harness.h"
#include "support/redis_cluster.h"
#include "support/temp_path.h"

namespace conveyor::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Counts = std::pair<std::size_t, std::size_t>;  // dead, waiting

constexpr const char* kChannel = "shipments";

class RedisClusterDelivery : public ::testing::Test {
 protected:
  std::vector<std::string> command(std::initializer_list<std::string> head, std::initializer_list<std::string> extra = {}) {
    std::vector<std::string> out(head);
    out.insert(out.end(), {"--channel", kChannel, "--queue", "REDIS", "--redis-url", cluster.url()});
    out.insert(out.end(), extra);
    return out;
  }
  std::string shard(std::size_t i) const { return std::string(kChannel) + ":" + std::to_string(i); }

  // Every shard's list, leases and bodies are empty.
  void expect_drained(std::size_t shards) {
    for (std::size_t i = 0; i < shards; ++i) {
      const auto keys = queue::RedisQueue::keys_of(shard(i), queue::KeyLayout::hash_tagged);
      EXPECT_EQ(cluster.integer({"LLEN", keys.list}), 0) << keys.list;
      EXPECT_EQ(cluster.integer({"ZCARD", keys.leases}), 0) << keys.leases;
      EXPECT_EQ(cluster.integer({"ZCARD", keys.delayed}), 0) << keys.delayed;
      EXPECT_EQ(cluster.integer({"HLEN", keys.bodies}), 0) << keys.bodies;
    }
  }

  RedisCluster cluster;
};

TEST_F(RedisClusterDelivery, HundredThousandMessagesOverSixShardsOnSeveralMastersAreDeliveredExactlyOnce) {
  constexpr std::size_t kMessages = 100'000, kShards = 6;
  const auto published = run_conveyor(command({"publish"}, {"--count", std::to_string(kMessages), "--shards", "6"}), 120s);
  ASSERT_EQ(published.exit_code, 0) << published.output;

  // Each shard's list and companions share one slot; the shards sit on more than one master.
  std::set<unsigned short> masters;
  std::size_t listed = 0;
  for (std::size_t i = 0; i < kShards; ++i) {
    const auto keys = queue::RedisQueue::keys_of(shard(i), queue::KeyLayout::hash_tagged);
    const long long slot = cluster.keyslot(keys.list);
    for (const auto& companion : {keys.leases, keys.bodies, keys.attempts, keys.delayed, keys.dead, keys.dead_bodies,
                                  keys.dead_reasons, keys.dead_bytes, keys.order_holders, keys.order_wait + "k"}) {
      EXPECT_EQ(cluster.keyslot(companion), slot) << companion;
    }
    masters.insert(cluster.master_of(keys.list).port());
    listed += static_cast<std::size_t>(cluster.integer({"LLEN", keys.list}));
  }
  EXPECT_EQ(listed, kMessages);
  EXPECT_GE(masters.size(), 2u) << "the six shards all hash to one master";

  PartnerSimulator partner({"--delay", "1ms", "--threads", "2"});
  const auto started = Clock::now();
  const auto done = run_conveyor(
      command({"work"}, {"--target-url", partner.url(), "--until-empty", "--shards", "6", "--concurrency", "500",
                         "--threads", "2", "--admin-listen", "off"}),
      180s);
  const double took = std::chrono::duration<double>(Clock::now() - started).count();
  ASSERT_EQ(done.exit_code, 0) << done.output;
  std::printf("cluster: %zu messages over %zu shards on %zu masters in %.2f s (%.0f/s)\n", kMessages, kShards,
              masters.size(), took, static_cast<double>(kMessages) / took);
  EXPECT_EQ(partner.stat("unique_keys"), kMessages);
  EXPECT_EQ(partner.stat("duplicates"), 0u);
  EXPECT_EQ(partner.bodies(), generated_messages(kMessages));
  expect_drained(kShards);
}

TEST_F(RedisClusterDelivery, AMasterKilledMidRunIsReplacedByItsReplicaAndNothingIsLost) {
  constexpr std::size_t kMessages = 20'000, kShards = 6;
  const auto published = run_conveyor(command({"publish"}, {"--count", std::to_string(kMessages), "--shards", "6"}), 60s);
  ASSERT_EQ(published.exit_code, 0) << published.output;
  // What a producer wrote before the kill is on the replicas: the failover can repeat, not lose.
  ASSERT_TRUE(cluster.wait_until_replicated(10s));

  PartnerSimulator partner({"--delay", "2ms", "--threads", "2"});
  auto worker = start_conveyor(command({"work"}, {"--target-url", partner.url(), "--shards", "6", "--concurrency", "200",
                                                   "--threads", "2", "--admin-listen", "off", "--lease-timeout", "5s",
                                                   "--request-timeout", "2s"}));
  ASSERT_TRUE(wait_until([&] { return partner.stat("ok") >= kMessages / 4; }, 60s)) << worker.read_all(1s);
  auto& victim = cluster.master_of(shard(0));
  const auto killed_at = Clock::now();
  cluster.kill(victim);
  ASSERT_TRUE(cluster.wait_until_ok(30s)) << "no replica took over";
  const double failover = std::chrono::duration<double>(Clock::now() - killed_at).count();
  EXPECT_NE(cluster.master_of(shard(0)).port(), victim.port());

  ASSERT_TRUE(wait_until([&] { return partner.stat("unique_keys") >= kMessages; }, 120s))
      << "delivered " << partner.stat("unique_keys") << " of " << kMessages << "\n"
      << worker.read_all(1s);
  // Leases the killed master held come back after their deadline, repeated; wait until nothing is left.
  ASSERT_TRUE(wait_until(
      [&] {
        for (std::size_t i = 0; i < kShards; ++i) {
          const auto keys = queue::RedisQueue::keys_of(shard(i), queue::KeyLayout::hash_tagged);
          if (cluster.integer({"LLEN", keys.list}) + cluster.integer({"ZCARD", keys.leases}) +
                  cluster.integer({"ZCARD", keys.delayed}) > 0) {
            return false;
          }
        }
        return true;
      },
      60s));
  worker.signal(SIGTERM);
  const std::string output = worker.read_all(30s);
  EXPECT_EQ(worker.wait(30s), 0) << output;
  std::printf("failover: the replica took over %.2f s after the kill; %zu messages, %llu delivered twice\n", failover,
              kMessages, static_cast<unsigned long long>(partner.stat("duplicates")));
  EXPECT_EQ(partner.stat("unique_keys"), kMessages);  // repeats allowed, losses not
  EXPECT_EQ(partner.bodies(), generated_messages(kMessages));
  expect_drained(kShards);
}

TEST_F(RedisClusterDelivery, StatsAndDeadLettersWorkOnTheCluster) {
  const std::string path = temp_path("cluster-dlq.jsonl");
  {
    std::ofstream out(path);
    for (int i = 0; i < 40; ++i) out << (i % 10 == 0 ? R"({"status":422,"i":)" : R"({"i":)") << i << "}\n";
  }
  ASSERT_EQ(run_conveyor(command({"publish"}, {"--input", path, "--shards", "4"}), 30s).exit_code, 0);
  {
    PartnerSimulator strict({"--delay", "1ms", "--status-field", "status"});
    const auto done = run_conveyor(
        command({"work"}, {"--target-url", strict.url(), "--until-empty", "--shards", "4", "--concurrency", "10",
                           "--admin-listen", "off"}),
        60s);
    ASSERT_EQ(done.exit_code, 0) << done.output;
    EXPECT_EQ(strict.bodies().size(), 36u);
  }
  const auto dead_total = [&] {
    const auto stats = run_conveyor(command({"stats"}, {"--shards", "4", "--json"}), 30s);
    EXPECT_EQ(stats.exit_code, 0) << stats.output;
    std::size_t dead = 0, waiting = 0;
    const auto rows = boost::json::parse(stats.output.substr(stats.output.find('[')));
    for (const auto& row : rows.as_array()) {
      dead += row.at("dead").to_number<std::size_t>();
      waiting += row.at("waiting").to_number<std::size_t>();
    }
    return std::pair(dead, waiting);
  };
  EXPECT_EQ(dead_total(), (Counts{4, 0}));

  const auto listed = run_conveyor(command({"dlq", "list"}, {"--shards", "4", "--json"}), 30s);
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  const auto rows = boost::json::parse(listed.output.substr(listed.output.find('['))).as_array();
  ASSERT_EQ(rows.size(), 4u);
  const auto one =
      run_conveyor(command({"dlq", "requeue"}, {"--shards", "4", "--id", std::string(rows[0].at("id").as_string())}), 30s);
  ASSERT_EQ(one.exit_code, 0) << one.output;
  EXPECT_NE(one.output.find("requeued 1 dead letter(s)"), std::string::npos) << one.output;
  EXPECT_EQ(dead_total(), (Counts{3, 1}));
  const auto rest = run_conveyor(command({"dlq", "requeue"}, {"--shards", "4", "--all"}), 30s);
  ASSERT_EQ(rest.exit_code, 0) << rest.output;
  EXPECT_NE(rest.output.find("requeued 3 dead letter(s)"), std::string::npos) << rest.output;
  EXPECT_EQ(dead_total(), (Counts{0, 4}));

  PartnerSimulator fixed({"--delay", "1ms"});
  const auto done = run_conveyor(command({"work"}, {"--target-url", fixed.url(), "--until-empty", "--shards", "4",
                                                    "--concurrency", "10", "--admin-listen", "off"}),
                                 60s);
  ASSERT_EQ(done.exit_code, 0) << done.output;
  EXPECT_EQ(fixed.bodies().size(), 4u);
  expect_drained(4);
}

TEST_F(RedisClusterDelivery, AClusterScopeRateLimitHoldsOnTheCluster) {
  constexpr std::size_t kMessages = 200;
  ASSERT_EQ(run_conveyor(command({"publish"}, {"--count", std::to_string(kMessages)}), 30s).exit_code, 0);
  PartnerSimulator partner({"--delay", "1ms", "--record-arrivals"});
  const std::string routes = temp_path("cluster-routes.toml");
  {
    std::ofstream out(routes);
    out << fmt::format("[[route]]\nname = \"limited\"\nurl = \"{}\"\nrate = \"100/s\"\nburst = 10\nrate_scope = \"cluster\"\n",
                       partner.url());
  }
  auto worker = start_conveyor(command({"work"}, {"--routes", routes, "--until-empty", "--concurrency", "50",
                                                   "--admin-listen", "off"}));
  // The limiter's state lives on the cluster, at its key's master, while the limit holds back calls
  // (the key expires once the route goes idle, so it is looked for during the run).
  EXPECT_TRUE(wait_until([&] { return cluster.integer({"EXISTS", "conveyor:rate:{limited}"}) == 1; }, 30s));
  const std::string output = worker.read_all(60s);
  ASSERT_EQ(worker.wait(10s), 0) << output;
  EXPECT_EQ(partner.stat("unique_keys"), kMessages);
  const auto arrivals = partner.arrivals();
  ASSERT_EQ(arrivals.size(), kMessages);
  const double took = static_cast<double>(arrivals.back() - arrivals.front()) / 1e6;
  EXPECT_GE(took, (kMessages - 10) / 100.0 * 0.95) << "the limit held";
  EXPECT_LE(took, (kMessages - 10) / 100.0 * 1.5) << "and was used";
}

}  // namespace
}  // namespace conveyor::testing
