// Four worker processes against one queue: every message delivered, none twice in a run without
// faults, and each process doing its share (at least 15 %), as its own --report says. The check
// takes the queue's flags, so the same test runs over any Redis deployment: one redis-server, and
// a Redis Cluster of three masters with the queue in six shards.
#include <gtest/gtest.h>

#include <cstdio>

#include "queue/redis/redis_queue.h"
#include "support/conveyor_harness.h"
#include "support/redis_cluster.h"
#include "support/redis_server.h"
#include "support/worker_split.h"

namespace conveyor::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kWorkers = 4;
constexpr std::size_t kMessages = 40'000;
constexpr double kFairShare = 0.15;

// Publishes kMessages through `queue_args` (plus `env`) and drains them with kWorkers processes.
void four_workers_share_the_queue(const std::vector<std::string>& queue_args, const std::vector<std::string>& env) {
  std::vector<std::string> publish = {"publish", "--count", std::to_string(kMessages)};
  publish.insert(publish.end(), queue_args.begin(), queue_args.end());
  const auto published = run_conveyor(publish, 120s, env);
  ASSERT_EQ(published.exit_code, 0) << published.output;

  // A fast partner; each process's concurrency bounds its pace, so that one started a moment
  // before the others cannot drain the queue alone.
  PartnerSimulator partner({"--delay", "5ms", "--threads", "2"});
  const auto split = run_workers_side_by_side(kWorkers, queue_args, env, partner.url(),
                                              {"--concurrency", "50", "--threads", "1"}, 300s);
  std::printf("%zu worker processes, %zu messages: %s\n", kWorkers, kMessages, split.describe().c_str());
  for (std::size_t i = 0; i < kWorkers; ++i) {
    EXPECT_EQ(split.exit_codes[i], 0) << split.output;
    EXPECT_GE(static_cast<double>(split.delivered[i]), kFairShare * kMessages)
        << "worker " << i << " took less than 15 %: " << split.describe();
  }
  EXPECT_EQ(split.total(), kMessages) << split.describe();
  EXPECT_EQ(partner.stat("unique_keys"), kMessages);
  EXPECT_EQ(partner.stat("duplicates"), 0u);
  EXPECT_EQ(partner.stat("ok"), kMessages) << "no message delivered twice, by key or by content";
  EXPECT_EQ(partner.bodies(), generated_messages(kMessages));
}

TEST(WorkerSplit, FourProcessesOnOneRedisDeliverEveryMessageOnceEachTakingItsShare) {
  RedisServer redis;
  four_workers_share_the_queue({"--channel", "shipments", "--redis-url", redis.url()}, {});
  EXPECT_EQ(redis.integer({"LLEN", "shipments"}), 0);
  EXPECT_EQ(redis.integer({"ZCARD", "shipments:leases"}), 0);
  EXPECT_EQ(redis.integer({"HLEN", "shipments:bodies"}), 0);
}

TEST(WorkerSplit, FourProcessesOnARedisClusterDeliverEveryMessageOnceEachTakingItsShare) {
  constexpr std::size_t kShards = 6;
  RedisCluster cluster;
  four_workers_share_the_queue(
      {"--channel", "shipments", "--redis-url", cluster.url(), "--shards", std::to_string(kShards)}, {});
  for (std::size_t i = 0; i < kShards; ++i) {
    const auto keys = queue::RedisQueue::keys_of("shipments:" + std::to_string(i), queue::KeyLayout::hash_tagged);
    EXPECT_EQ(cluster.integer({"LLEN", keys.list}), 0) << keys.list;
    EXPECT_EQ(cluster.integer({"ZCARD", keys.leases}), 0) << keys.leases;
    EXPECT_EQ(cluster.integer({"HLEN", keys.bodies}), 0) << keys.bodies;
  }
}

}  // namespace
}  // namespace conveyor::testing
