// What only Redis shows: sharding by key keeps each shipment's messages in one
// shard, in order (SQS standard queues keep no order). The contract both
// backends share is tested once for both in delivery_test.cpp.
#include <gtest/gtest.h>

#include <signal.h>

#include <boost/json/parse.hpp>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "support/conveyor_harness.h"
#include "support/redis_server.h"
#include "support/temp_path.h"

namespace conveyor::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kChannel = "shipments";

class RedisDelivery : public ::testing::Test {
 protected:
  std::vector<std::string> common(const PartnerSimulator& partner) const {
    return {"--channel", kChannel, "--redis-url", redis.url(), "--target-url", partner.url()};
  }

  RedisServer redis;
};

TEST_F(RedisDelivery, ShardedByKeyKeepsEachShipmentInOneShardInOrderAndAllAreDelivered) {
  // 40 shipments x 25 messages, interleaved; small batches so that many
  // writes are in flight at once.
  const std::string path = temp_path("sharded.jsonl");
  std::multiset<std::string> expected;
  {
    std::ofstream out(path);
    for (int seq = 0; seq < 25; ++seq) {
      for (int shipment = 0; shipment < 40; ++shipment) {
        const std::string line = "{\"p\":\"ship-" + std::to_string(shipment) + "\",\"seq\":" + std::to_string(seq) + "}";
        out << line << "\n";
        expected.insert(line);
      }
    }
  }
  const auto published = run_conveyor({"publish", "--channel", kChannel, "--redis-url", redis.url(), "--input", path,
                                       "--shards", "4", "--shard-key", "p", "--batch", "7"},
                                      60s);
  ASSERT_EQ(published.exit_code, 0) << published.output;
  EXPECT_EQ(redis.integer({"LLEN", kChannel}), 0);  // nothing on the unsharded list

  std::map<std::string, std::string> shard_of;  // shipment -> shard list
  std::size_t total = 0;
  for (int i = 0; i < 4; ++i) {
    const std::string shard = std::string(kChannel) + ":" + std::to_string(i);
    std::map<std::string, int> last_seq;
    for (const auto& message : redis.list({"LRANGE", shard, "0", "-1"})) {
      ++total;
      const auto object = boost::json::parse(message).as_object();
      const std::string shipment(object.at("p").as_string());
      const int seq = static_cast<int>(object.at("seq").as_int64());
      const auto it = shard_of.emplace(shipment, shard).first;
      EXPECT_EQ(it->second, shard) << shipment << " is in two shards";
      if (last_seq.count(shipment)) {
        EXPECT_GT(seq, last_seq[shipment]) << shipment << " out of order";
      }
      last_seq[shipment] = seq;
    }
  }
  EXPECT_EQ(total, 1000u);
  std::set<std::string> used;
  for (const auto& [shipment, shard] : shard_of) used.insert(shard);
  EXPECT_GE(used.size(), 3u);  // 40 keys hash over the shards, not into one

  PartnerSimulator partner({"--delay", "5ms"});
  auto args = common(partner);
  args.insert(args.begin(), "work");
  for (const char* a : {"--until-empty", "--shards", "4", "--concurrency", "100", "--threads", "2"}) args.push_back(a);
  const auto run = run_conveyor(args, 60s);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(partner.stat("unique_keys"), 1000u);
  EXPECT_EQ(partner.stat("duplicates"), 0u);
  EXPECT_EQ(partner.bodies(), expected);
  for (int i = 0; i < 4; ++i) {
    const std::string shard = std::string(kChannel) + ":" + std::to_string(i);
    EXPECT_EQ(redis.integer({"LLEN", shard}), 0);
    EXPECT_EQ(redis.integer({"ZCARD", shard + ":leases"}), 0);
  }
}

}  // namespace
}  // namespace conveyor::testing
