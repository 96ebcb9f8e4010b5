// The host lists of redis+cluster:// and redis+sentinel:// URLs.
#include "redis/node_list.h"

#include <gtest/gtest.h>

namespace {

using conveyor::redis::NodeAddress;
using conveyor::redis::parse_node_list;
using conveyor::redis::split_url;

TEST(NodeList, ReadsHostsPortsAndBracketedIpv6WithTheDefaultPortWhereNoneIsGiven) {
  const auto list = parse_node_list("10.0.0.1:7000,redis-b,[::1]:7002,[fe80::2]", 6379);
  EXPECT_EQ(list.bad, 0u);
  const std::vector<NodeAddress> expected = {
      {"10.0.0.1", 7000}, {"redis-b", 6379}, {"::1", 7002}, {"fe80::2", 6379}};
  EXPECT_EQ(list.nodes, expected);
  EXPECT_TRUE(parse_node_list("", 6379).nodes.empty());
}

TEST(NodeList, NamesTheFirstEntryThatIsNotHostAndPort) {
  EXPECT_EQ(parse_node_list("a:1,b:0,c:2", 1).bad, 2u);
  EXPECT_EQ(parse_node_list("a:1,b:2,", 1).bad, 3u);
  EXPECT_EQ(parse_node_list("user@a:1", 1).bad, 1u);
  EXPECT_EQ(parse_node_list("a:65536", 1).bad, 1u);
  EXPECT_EQ(parse_node_list("a:x", 1).bad, 1u);
}

TEST(NodeList, SplitsUserinfoHostsAndTheRestAtTheLastAt) {
  const auto parts = split_url("user:p@ss@h1:1,h2:2/mymaster/0?verify=false");
  EXPECT_EQ(parts.userinfo, "user:p@ss@");
  EXPECT_EQ(parts.hosts, "h1:1,h2:2");
  EXPECT_EQ(parts.rest, "/mymaster/0?verify=false");
  const auto bare = split_url("h1");
  EXPECT_EQ(bare.userinfo, "");
  EXPECT_EQ(bare.hosts, "h1");
  EXPECT_EQ(bare.rest, "");
}

}  // namespace
