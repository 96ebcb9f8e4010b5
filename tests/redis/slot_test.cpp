// Hash slots, cluster URLs and redirects without a server: the CRC16 of the cluster
// specification, hash tags, which key a command routes by, and MOVED/ASK parsing.
#include <array>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "redis/endpoint.h"
#include "redis/redirect.h"
#include "redis/slot.h"

namespace {

using namespace conveyor::redis;

TEST(Slot, Crc16IsXmodemAsTheClusterSpecificationDefinesIt) {
  EXPECT_EQ(crc16("123456789"), 0x31C3);  // the spec's test vector
  EXPECT_EQ(crc16(""), 0);
  EXPECT_EQ(crc16("A"), 0x58E5);
}

TEST(Slot, KeysHashOnTheirHashTag) {
  // Values redis-server's CLUSTER KEYSLOT gives (checked against a live cluster in
  // cluster_connection_test.cpp too).
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot("shipments"), key_slot("{shipments}:leases"));
  EXPECT_EQ(hash_tag("{user1000}.following"), "user1000");
  EXPECT_EQ(hash_tag("foo{}{bar}"), "foo{}{bar}");  // an empty first tag: the whole key
  EXPECT_EQ(hash_tag("foo{{bar}}zap"), "{bar");
  EXPECT_EQ(hash_tag("foo{bar}{zap}"), "bar");
  EXPECT_EQ(hash_tag("no{close"), "no{close");
}

TEST(Slot, CommandsRouteByTheirFirstKey) {
  using Args = std::vector<std::string_view>;
  EXPECT_EQ(routing_key(Args{"RPUSH", "list", "a"}), "list");
  EXPECT_EQ(routing_key(Args{"evalsha", "abc", "2", "k1", "k2", "arg"}), "k1");
  EXPECT_EQ(routing_key(Args{"EVAL", "return 1", "0"}), std::nullopt);
  EXPECT_EQ(routing_key(Args{"SCRIPT", "LOAD", "return 1"}), std::nullopt);
  EXPECT_EQ(routing_key(Args{"PING"}), std::nullopt);
  EXPECT_EQ(routing_key(Args{"cluster", "slots"}), std::nullopt);
}

TEST(Redirect, ParsesMovedAndAsk) {
  auto moved = parse_redirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->kind, Redirect::Kind::moved);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->node, (NodeAddress{"127.0.0.1", 6381}));

  auto ask = parse_redirect("ASK 16383 [::1]:7000");
  ASSERT_TRUE(ask);
  EXPECT_EQ(ask->kind, Redirect::Kind::ask);
  EXPECT_EQ(ask->slot, 16383);
  EXPECT_EQ(ask->node, (NodeAddress{"::1", 7000}));

  for (const char* other : {"ERR wrong", "MOVED", "MOVED 16384 h:1", "MOVED 1 h", "MOVED 1 h:0", "ASK x h:1",
                            "NOSCRIPT No matching script", "TRYAGAIN", "CLUSTERDOWN The cluster is down"}) {
    EXPECT_FALSE(parse_redirect(other)) << other;
  }
  EXPECT_TRUE(is_transient_cluster_error(Reply{.type = Reply::Type::error, .string = "TRYAGAIN Multiple keys", .elements = {}}));
  EXPECT_TRUE(is_transient_cluster_error(Reply{.type = Reply::Type::error, .string = "CLUSTERDOWN The cluster is down", .elements = {}}));
  EXPECT_FALSE(is_transient_cluster_error(Reply{.type = Reply::Type::status, .string = "TRYAGAIN", .elements = {}}));
}

TEST(Endpoint, ParsesClusterUrlsWithSeveralSeeds) {
  auto one = parse_endpoint("redis+cluster://10.0.0.1:7000");
  ASSERT_TRUE(one);
  EXPECT_TRUE(one->cluster);
  EXPECT_FALSE(one->tls);
  ASSERT_EQ(one->seeds.size(), 1u);
  EXPECT_EQ(one->seeds[0], (NodeAddress{"10.0.0.1", 7000}));

  auto many = parse_endpoint("rediss+cluster://alice:s%40cret@a:7000,b:7001,[::1]:7002?verify=false");
  ASSERT_TRUE(many);
  EXPECT_TRUE(many->cluster);
  EXPECT_TRUE(many->tls);
  EXPECT_FALSE(many->tls_verify);
  EXPECT_EQ(many->username, "alice");
  EXPECT_EQ(many->password, "s@cret");
  ASSERT_EQ(many->seeds.size(), 3u);
  EXPECT_EQ(many->seeds[1], (NodeAddress{"b", 7001}));
  EXPECT_EQ(many->seeds[2], (NodeAddress{"::1", 7002}));
  EXPECT_EQ(many->host, "a");

  const std::string text = many->to_string();
  EXPECT_EQ(text.find("s@cret"), std::string::npos) << text;
  EXPECT_EQ(text, "rediss+cluster://alice:***@a:7000,b:7001,[::1]:7002?verify=false");
  auto back = parse_endpoint("rediss+cluster://alice:x@a:7000,b:7001,[::1]:7002?verify=false");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->seeds, many->seeds);

  const Endpoint node = many->at({"b", 7001});
  EXPECT_FALSE(node.cluster);
  EXPECT_TRUE(node.tls);
  EXPECT_EQ(node.password, "s@cret");
  EXPECT_EQ(node.port, 7001);

  for (const char* bad : {"redis+cluster://", "redis+cluster://a:1,", "redis+cluster://a:1,b:x",
                          "redis+cluster://a:1/3", "redis+cluster://a:1?verify=false"}) {
    std::string why;
    EXPECT_FALSE(parse_endpoint(bad, &why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

}  // namespace
