// The cluster connection against a real cluster of three masters and three replicas: commands
// reach their key's master, our slots agree with CLUSTER KEYSLOT, pipelines spanning nodes keep
// their order, scripts load themselves on each node, and a slot that migrates is followed
// through ASK and then MOVED.
// GCC 12 reports a false -Wmismatched-new-delete when it inlines the frame
// of an Asio awaitable (operator new and delete are both Asio's own).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <functional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <gtest/gtest.h>

#include "redis/cluster_connection.h"
#include "redis/connection.h"
#include "redis/endpoint.h"
#include "redis/slot.h"
#include "support/coroutine.h"
#include "support/redis_cluster.h"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using conveyor::redis::Connection;
using conveyor::redis::key_slot;
using conveyor::redis::NodeAddress;
using conveyor::redis::parse_endpoint;
using conveyor::redis::Reply;
using conveyor::redis::Script;
using conveyor::testing::RedisCluster;
using Args = std::vector<std::string_view>;

class ClusterConnectionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster = new RedisCluster(); }
  static void TearDownTestSuite() {
    delete cluster;
    cluster = nullptr;
  }

  void run(std::function<asio::awaitable<void>()> body) { conveyor::testing::run_coroutine(io, std::move(body), 60s); }

  static asio::awaitable<std::unique_ptr<Connection>> connect() {
    std::string why;
    auto connection =
        co_await Connection::connect(co_await asio::this_coro::executor, parse_endpoint(cluster->url()).value(), 5s, &why);
    if (!connection) {
      ADD_FAILURE() << "connect failed: " << why;
      co_return nullptr;
    }
    co_return std::move(*connection);
  }

  static RedisCluster* cluster;
  asio::io_context io;
};

RedisCluster* ClusterConnectionTest::cluster = nullptr;

TEST_F(ClusterConnectionTest, SlotsAgreeWithClusterKeyslotAndCommandsReachTheKeysMaster) {
  std::vector<std::string> keys;
  for (int i = 0; i < 200; ++i) keys.push_back("key:" + std::to_string(i));
  keys.insert(keys.end(), {"{shipments}:leases", "shipments", "a{t}b:0", "{}", "{", "é€"});
  for (const auto& key : keys) EXPECT_EQ(key_slot(key), cluster->keyslot(key)) << key;

  run([&]() -> asio::awaitable<void> {
    auto connection = co_await connect();
    CO_ASSERT(connection);
    for (const auto& key : keys) {
      const std::string value = key + "!";
      const Args set{"SET", key, value};
      auto reply = co_await connection->command(set);
      CO_ASSERT(reply);
      EXPECT_EQ(reply->string, "OK") << key << ": " << reply->string;
    }
  });
  std::size_t masters_used = 0;
  std::vector<unsigned short> seen;
  for (const auto& key : keys) {
    auto& master = cluster->master_of(key);
    EXPECT_EQ(master.query({"GET", key}), key + "!") << key;
    if (std::find(seen.begin(), seen.end(), master.port()) == seen.end()) seen.push_back(master.port());
  }
  masters_used = seen.size();
  EXPECT_EQ(masters_used, 3u);
}

TEST_F(ClusterConnectionTest, APipelineOverSeveralNodesKeepsItsOrder) {
  run([&]() -> asio::awaitable<void> {
    auto connection = co_await connect();
    CO_ASSERT(connection);
    std::vector<std::string> keys;
    for (int i = 0; i < 50; ++i) keys.push_back("pipe:" + std::to_string(i));
    std::vector<std::vector<std::string_view>> commands;
    for (const auto& key : keys) {
      commands.push_back({"SET", key, key});
      commands.push_back({"GET", key});
      commands.push_back({"PING"});
    }
    auto replies = co_await connection->pipeline(commands);
    CO_ASSERT(replies);
    CO_ASSERT(replies->size() == commands.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
      EXPECT_EQ((*replies)[3 * i].string, "OK");
      EXPECT_EQ((*replies)[3 * i + 1].string, keys[i]);
      EXPECT_EQ((*replies)[3 * i + 2].string, "PONG");
    }
  });
}

TEST_F(ClusterConnectionTest, ScriptsLoadThemselvesOnEveryNodeTheyRunOn) {
  const Script script("return redis.call('INCR', KEYS[1])");
  run([&]() -> asio::awaitable<void> {
    auto connection = co_await connect();
    CO_ASSERT(connection);
    for (int i = 0; i < 30; ++i) {
      const std::string key = "script:" + std::to_string(i);
      const std::vector<std::string_view> keys{key};
      auto reply = co_await script.run(*connection, keys, {});
      CO_ASSERT(reply);
      EXPECT_EQ(reply->integer, 1) << reply->string;
    }
  });
}

TEST_F(ClusterConnectionTest, FollowsAskWhileASlotMigratesAndMovedOnceItMoved) {
  const std::string key = "migrating-key";
  const auto slot = std::to_string(cluster->keyslot(key));
  auto& source = cluster->master_of(key);
  auto& target = cluster->master_of(source.port() == cluster->master_of("foo").port() ? "bar" : "foo");
  ASSERT_NE(source.port(), target.port());
  const std::string source_id = source.query({"CLUSTER", "MYID"});
  const std::string target_id = target.query({"CLUSTER", "MYID"});

  run([&]() -> asio::awaitable<void> {
    auto connection = co_await connect();  // its map: the slot is at `source`
    CO_ASSERT(connection);
    EXPECT_EQ(target.query({"CLUSTER", "SETSLOT", slot, "IMPORTING", source_id}), "OK");
    EXPECT_EQ(source.query({"CLUSTER", "SETSLOT", slot, "MIGRATING", target_id}), "OK");
    // The key is not at the source: it answers ASK, the value goes to the target.
    const Args set_args{"SET", key, "moved-along"};
    auto set = co_await connection->command(set_args);
    CO_ASSERT(set);
    EXPECT_EQ(set->string, "OK");
    EXPECT_EQ(target.query({"CLUSTER", "COUNTKEYSINSLOT", slot}), "1");
    EXPECT_EQ(source.query({"CLUSTER", "COUNTKEYSINSLOT", slot}), "0");

    for (std::size_t i = 0; i < cluster->size(); ++i) {
      auto& node = cluster->node(i);
      const std::string info = node.query({"INFO", "replication"});
      if (info.find("role:master") != std::string::npos) node.query({"CLUSTER", "SETSLOT", slot, "NODE", target_id});
    }
    // The source answers MOVED now; the map learns it.
    const Args get_args{"GET", key};
    auto get = co_await connection->command(get_args);
    CO_ASSERT(get);
    EXPECT_EQ(get->string, "moved-along");
    const auto* master = static_cast<conveyor::redis::ClusterConnection&>(*connection).slots().master_of(
        static_cast<std::uint16_t>(std::stoi(slot)));
    CO_ASSERT(master);
    EXPECT_EQ(master->port, target.port());
  });
  EXPECT_TRUE(cluster->wait_until_ok(10s));
}

TEST_F(ClusterConnectionTest, RefusesANodeThatIsNotInACluster) {
  conveyor::testing::RedisServer single;
  run([&]() -> asio::awaitable<void> {
    std::string why;
    auto endpoint = parse_endpoint("redis+cluster://127.0.0.1:" + std::to_string(single.port())).value();
    auto connection = co_await Connection::connect(co_await asio::this_coro::executor, endpoint, 5s, &why);
    EXPECT_FALSE(connection);
    EXPECT_NE(why.find("not a cluster node"), std::string::npos) << why;
  });
}

}  // namespace
