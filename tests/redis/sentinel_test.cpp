// Redis Sentinel from the client's side, against real sentinels (one master, one replica, three
// sentinels on loopback): the redis+sentinel:// URL, a connect that lands on the master the
// sentinels name (skipping a dead sentinel), a clear failure for an unknown master name, a
// connection that closes itself once its server is demoted, and a reconnect after a failover.
// GCC 12 reports a false -Wmismatched-new-delete when it inlines the frame
// of an Asio awaitable (operator new and delete are both Asio's own).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <array>
#include <chrono>
#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <gtest/gtest.h>

#include "redis/connection.h"
#include "redis/endpoint.h"
#include "redis/error.h"
#include "redis/sentinel.h"
#include "support/child_process.h"
#include "support/coroutine.h"
#include "support/redis_sentinel.h"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using conveyor::Error;
using conveyor::redis::Connection;
using conveyor::redis::ConnectError;
using conveyor::redis::Endpoint;
using conveyor::redis::parse_endpoint;
using conveyor::testing::RedisSentinels;

void run(asio::io_context& io, std::function<asio::awaitable<void>()> body) {
  conveyor::testing::run_coroutine(io, std::move(body), 60s);
}

// ---- the URL --------------------------------------------------------------

TEST(SentinelUrl, ParsesHostsMasterNameLoginDatabaseAndTls) {
  auto e = parse_endpoint("redis+sentinel://alice:p%40ss@10.0.0.1:26380,sentinel-b,[::1]:26381/orders/3");
  ASSERT_TRUE(e);
  ASSERT_EQ(e->sentinels.size(), 3u);
  EXPECT_EQ(e->sentinels[0].host, "10.0.0.1");
  EXPECT_EQ(e->sentinels[0].port, 26380);
  EXPECT_EQ(e->sentinels[1].host, "sentinel-b");
  EXPECT_EQ(e->sentinels[1].port, 26379);  // Sentinel's own default
  EXPECT_EQ(e->sentinels[2].host, "::1");
  EXPECT_EQ(e->sentinels[2].port, 26381);
  EXPECT_EQ(e->master_name, "orders");
  EXPECT_EQ(e->username, "alice");
  EXPECT_EQ(e->password, "p@ss");
  EXPECT_EQ(e->db, 3);
  EXPECT_FALSE(e->tls);
  EXPECT_TRUE(e->sentinel_password.empty());  // REDIS_SENTINEL_PASSWORD, never the URL

  auto tls = parse_endpoint("rediss+sentinel://s1:5000/m?ca_file=/ca.pem");
  ASSERT_TRUE(tls);
  EXPECT_TRUE(tls->tls);
  EXPECT_EQ(tls->tls_ca_file, "/ca.pem");
  EXPECT_EQ(tls->master_name, "m");
  EXPECT_EQ(tls->db, 0);

  auto text = e->to_string();
  EXPECT_EQ(text.find("p@ss"), std::string::npos) << text;
  EXPECT_EQ(text.find("p%40ss"), std::string::npos) << text;
  EXPECT_EQ(text, "redis+sentinel://alice:***@10.0.0.1:26380,sentinel-b:26379,[::1]:26381/orders/3");
  auto back = parse_endpoint(text);
  ASSERT_TRUE(back) << text;
  EXPECT_EQ(back->sentinels.size(), 3u);
  EXPECT_EQ(back->master_name, "orders");
}

TEST(SentinelUrl, RejectsUrlsWithoutHostsOrMasterNameWithAReason) {
  for (const char* bad : {"redis+sentinel://", "redis+sentinel:///mymaster", "redis+sentinel://h1:26379",
                          "redis+sentinel://h1:26379/", "redis+sentinel://h1:26379,/m", "redis+sentinel://h1:x/m",
                          "redis+sentinel://h1:0/m", "redis+sentinel://[::1/m", "redis+sentinel://h1/m/x",
                          "redis+sentinel://h1/m?verify=false", "redis+sentinel://u:topsecret@/m"}) {
    std::string why;
    auto parsed = parse_endpoint(bad, &why);
    EXPECT_FALSE(parsed) << bad;
    if (!parsed) {
      EXPECT_EQ(parsed.error(), Error::bad_url) << bad;
    }
    EXPECT_FALSE(why.empty()) << bad;
    EXPECT_EQ(why.find("topsecret"), std::string::npos) << why;
  }
}

// ---- against real sentinels -----------------------------------------------

class SentinelConnect : public ::testing::Test {
 protected:
  Endpoint endpoint(std::string url = {}) const { return parse_endpoint(url.empty() ? set.url() : url).value(); }
  RedisSentinels set;
  asio::io_context io;
};

TEST_F(SentinelConnect, LandsOnTheMasterTheSentinelsNameSkippingADeadSentinel) {
  // A sentinel that is not there comes first: the next one is asked.
  const std::string url = "redis+sentinel://127.0.0.1:" + std::to_string(conveyor::free_port()) + "," +
                          set.url().substr(std::string_view("redis+sentinel://").size());
  run(io, [&]() -> asio::awaitable<void> {
    std::string why;
    auto connection = co_await Connection::connect(co_await asio::this_coro::executor, endpoint(url), 5s, &why);
    CO_ASSERT(connection);
    const std::array<std::string_view, 3> set_key = {"SET", "through", "sentinel"};
    auto reply = co_await (*connection)->command(set_key);
    CO_ASSERT(reply && !reply->is_error());
  });
  EXPECT_EQ(set.master().query({"GET", "through"}), "sentinel");
}

TEST_F(SentinelConnect, ASentinelWithAPasswordIsAskedWithRedisSentinelPasswordAndNeverShowsIt) {
  const unsigned short port = set.sentinel_ports().front();
  ASSERT_EQ(conveyor::testing::query_redis(port, {"ACL", "SETUSER", "default", "on", ">sentinel-secret-5"}), "OK");
  Endpoint e = endpoint("redis+sentinel://127.0.0.1:" + std::to_string(port) + "/" + set.master_name());
  run(io, [&]() -> asio::awaitable<void> {
    std::string why;
    auto refused = co_await Connection::connect(co_await asio::this_coro::executor, e, 5s, &why);
    CO_ASSERT(!refused);
    EXPECT_EQ(refused.error(), ConnectError::no_master);
    EXPECT_NE(why.find("NOAUTH"), std::string::npos) << why;
    e.sentinel_password = "sentinel-secret-5";
    auto connection = co_await Connection::connect(co_await asio::this_coro::executor, e, 5s, &why);
    CO_ASSERT(connection);
    e.sentinel_password = "wrong-secret-6";
    auto wrong = co_await Connection::connect(co_await asio::this_coro::executor, e, 5s, &why);
    CO_ASSERT(!wrong);
    EXPECT_NE(why.find("refused the login"), std::string::npos) << why;
    EXPECT_EQ(why.find("wrong-secret-6"), std::string::npos) << why;
  });
}

TEST_F(SentinelConnect, AnUnknownMasterNameFailsSayingWhatEachSentinelAnswered) {
  Endpoint e = endpoint();
  e.master_name = "nosuchmaster";
  run(io, [&]() -> asio::awaitable<void> {
    std::string why;
    auto connection = co_await Connection::connect(co_await asio::this_coro::executor, e, 5s, &why);
    CO_ASSERT(!connection);
    EXPECT_EQ(connection.error(), ConnectError::no_master);
    EXPECT_NE(why.find("knows no master named 'nosuchmaster'"), std::string::npos) << why;
  });
}

TEST_F(SentinelConnect, AConnectionClosesItselfWhenItsServerIsDemotedAndNoReplicaIsTakenForTheMaster) {
  run(io, [&]() -> asio::awaitable<void> {
    auto connection = co_await Connection::connect(co_await asio::this_coro::executor, endpoint(), 5s);
    CO_ASSERT(connection);
    // Demote the master by hand, as a failover does when the old master comes back.
    const std::string replica_port = std::to_string(set.replica().port());
    const std::array<std::string_view, 3> demote = {"REPLICAOF", "127.0.0.1", replica_port};
    auto demoted = co_await (*connection)->command(demote);
    CO_ASSERT(demoted && !demoted->is_error());
    const std::array<std::string_view, 3> write = {"SET", "k", "v"};
    auto refused = co_await (*connection)->command(write);
    CO_ASSERT(refused);
    EXPECT_TRUE(refused->is_error() && refused->string.starts_with("READONLY")) << refused->string;
    EXPECT_FALSE((*connection)->is_open()) << "a READONLY reply must close the connection so it is made again";
    // The sentinels still name it: a connect now refuses a server that is no master.
    std::string why;
    auto again = co_await Connection::connect(co_await asio::this_coro::executor, endpoint(), 5s, &why);
    CO_ASSERT(!again);
    EXPECT_EQ(again.error(), ConnectError::not_master) << why;
    EXPECT_NE(why.find("answers ROLE with 'slave'"), std::string::npos) << why;
  });
}

TEST_F(SentinelConnect, AReconnectAfterAFailoverLandsOnThePromotedReplica) {
  EXPECT_EQ(set.named_master_port(), set.master().port());
  set.kill_master();
  ASSERT_TRUE(set.wait_for_failover(30s)) << "the sentinels did not promote the replica";
  run(io, [&]() -> asio::awaitable<void> {
    std::string why;
    auto connection = co_await Connection::connect(co_await asio::this_coro::executor, endpoint(), 5s, &why);
    CO_ASSERT(connection);
    const std::array<std::string_view, 3> set_key = {"SET", "after", "failover"};
    auto reply = co_await (*connection)->command(set_key);
    CO_ASSERT(reply && !reply->is_error());
  });
  EXPECT_EQ(set.replica().query({"GET", "after"}), "failover");
}

}  // namespace
