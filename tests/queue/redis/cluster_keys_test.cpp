// A channel's key names: unchanged on one Redis, hash-tagged on the list's name on a cluster so
// that every key a script touches shares the list's slot (plain and {tag} channels, shards).
#include <gtest/gtest.h>

#include <set>

#include "queue/redis/redis_queue.h"
#include "queue/shards.h"
#include "redis/endpoint.h"
#include "redis/slot.h"

namespace conveyor::queue {
namespace {

using redis::key_slot;

std::vector<std::string> all_of(const RedisQueue::Keys& k) {
  return {k.leases,        k.bodies,       k.attempts,      k.delayed,     k.dead,
          k.dead_bodies,   k.dead_reasons, k.dead_bytes,    k.order_holders, k.order_key_of,
          k.order_waiting, k.order_sweep,  k.order_wait + "some-key"};
}

TEST(ClusterKeys, OneRedisKeepsTodaysNames) {
  const auto k = RedisQueue::keys_of("shipments");
  EXPECT_EQ(k.list, "shipments");
  EXPECT_EQ(k.leases, "shipments:leases");
  EXPECT_EQ(k.dead_bodies, "shipments:dead:bodies");
  EXPECT_EQ(k.order_wait, "shipments:order:wait:");
  EXPECT_EQ(key_layout_of(redis::parse_endpoint("redis://h:6379/0").value()), KeyLayout::plain);
  EXPECT_EQ(key_layout_of(redis::parse_endpoint("redis+cluster://h:7000").value()), KeyLayout::hash_tagged);
}

TEST(ClusterKeys, OnAClusterCompanionsHashOnTheListsName) {
  const auto k = RedisQueue::keys_of("shipments", KeyLayout::hash_tagged);
  EXPECT_EQ(k.list, "shipments");  // legacy producers RPUSH here, unchanged
  EXPECT_EQ(k.leases, "{shipments}:leases");
  EXPECT_EQ(k.dead_reasons, "{shipments}:dead:reasons");
  EXPECT_EQ(k.order_wait, "{shipments}:order:wait:");
  for (const auto& key : all_of(k)) EXPECT_EQ(key_slot(key), key_slot(k.list)) << key;
}

TEST(ClusterKeys, AChannelWithATagAlreadyOnlyGetsTheSuffixes) {
  const auto k = RedisQueue::keys_of("orders{eu}", KeyLayout::hash_tagged);
  EXPECT_EQ(k.leases, "orders{eu}:leases");
  EXPECT_EQ(k.order_wait, "orders{eu}:order:wait:");
  for (const auto& key : all_of(k)) EXPECT_EQ(key_slot(key), key_slot("eu")) << key;
}

TEST(ClusterKeys, EachShardAndItsCompanionsSitInOneSlotAndTheShardsSpread) {
  std::set<std::uint16_t> slots;
  for (const auto& shard : shard_names("shipments", 6)) {
    const auto k = RedisQueue::keys_of(shard, KeyLayout::hash_tagged);
    EXPECT_EQ(k.leases, "{" + shard + "}:leases");
    for (const auto& key : all_of(k)) EXPECT_EQ(key_slot(key), key_slot(shard)) << key;
    slots.insert(key_slot(shard));
  }
  EXPECT_EQ(slots.size(), 6u);
}

}  // namespace
}  // namespace conveyor::queue
