// The whole path with real processes: redis-server, the partner simulator and
// the conveyor binary, on free 127.0.0.1 ports. Every test checks delivery by
// content (the partner's recorded bodies), not only by counts.
#include <gtest/gtest.h>

#include <signal.h>

#include <boost/json/parse.hpp>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "support/conveyor_harness.h"
#include "support/redis_server.h"

namespace conveyor::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kChannel = "shipments";

class RedisDelivery : public ::testing::Test {
 protected:
  std::vector<std::string> common(const PartnerSimulator& partner) const {
    return {"--channel", kChannel, "--redis-url", redis.url(), "--target-url", partner.url()};
  }

  void publish(std::size_t n) {
    const auto run = run_conveyor({"publish", "--channel", kChannel, "--redis-url", redis.url(), "--count",
                                   std::to_string(n)},
                                  60s);
    ASSERT_EQ(run.exit_code, 0) << run.output;
    ASSERT_EQ(redis.integer({"LLEN", kChannel}), static_cast<long long>(n));
  }

  // Nothing left anywhere in Redis for the channel.
  void expect_queue_drained() const {
    EXPECT_EQ(redis.integer({"LLEN", kChannel}), 0);
    EXPECT_EQ(redis.integer({"ZCARD", std::string(kChannel) + ":leases"}), 0);
    EXPECT_EQ(redis.integer({"HLEN", std::string(kChannel) + ":bodies"}), 0);
    EXPECT_EQ(redis.integer({"HLEN", std::string(kChannel) + ":attempts"}), 0);
  }

  RedisServer redis;
};

TEST_F(RedisDelivery, TenThousandMessagesEachDeliveredExactlyOnce) {
  PartnerSimulator partner({"--delay", "20ms", "--threads", "2"});
  publish(10'000);
  const std::string report_path = ::testing::TempDir() + "/conveyor-report.json";
  auto args = common(partner);
  args.insert(args.begin(), "work");
  for (const char* a : {"--until-empty", "--concurrency", "500", "--threads", "2", "--report"}) args.push_back(a);
  args.push_back(report_path);
  const auto run = run_conveyor(args, 120s);
  ASSERT_EQ(run.exit_code, 0) << run.output;

  EXPECT_EQ(partner.stat("unique_keys"), 10'000u);
  EXPECT_EQ(partner.stat("duplicates"), 0u);
  EXPECT_EQ(partner.stat("ok"), 10'000u);
  EXPECT_EQ(partner.bodies(), generated_messages(10'000));
  expect_queue_drained();

  std::ifstream in(report_path);
  std::stringstream text;
  text << in.rdbuf();
  const auto report = boost::json::parse(text.str()).as_object();
  EXPECT_EQ(report.at("delivered").to_number<std::uint64_t>(), 10'000u);
  EXPECT_EQ(report.at("failed").to_number<std::uint64_t>(), 0u);
  EXPECT_LE(report.at("peak_in_flight").to_number<std::uint64_t>(), 500u);
  EXPECT_GT(report.at("latency_p50_ms").to_number<double>(), 0.0);
}

TEST_F(RedisDelivery, AWorkerKilledMidRunLosesNothing) {
  PartnerSimulator partner({"--delay", "200ms"});
  publish(5'000);
  auto args = common(partner);
  args.insert(args.begin(), "work");
  for (const char* a : {"--concurrency", "300", "--threads", "1", "--lease-timeout", "2s", "--request-timeout", "1s"}) {
    args.push_back(a);
  }
  auto first = start_conveyor(args);
  ASSERT_TRUE(wait_until([&] { return partner.stat("ok") >= 1'000; }, 60s));
  first.signal(SIGKILL);
  ASSERT_EQ(first.wait(10s), 128 + SIGKILL);
  // The killed worker held leases: they are still in Redis, not lost.
  EXPECT_GT(redis.integer({"ZCARD", std::string(kChannel) + ":leases"}), 0);

  args.push_back("--until-empty");
  const auto second = run_conveyor(args, 120s);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(partner.stat("unique_keys"), 5'000u);  // duplicates allowed, losses not
  EXPECT_EQ(partner.bodies(), generated_messages(5'000));
  expect_queue_drained();
}

TEST_F(RedisDelivery, MessagesThePartnerRefusesComeBackAfterTheLeaseAndAreDelivered) {
  PartnerSimulator partner({"--delay", "5ms", "--fail-rate", "0.3"});
  publish(2'000);
  auto args = common(partner);
  args.insert(args.begin(), "work");
  for (const char* a : {"--until-empty", "--concurrency", "200", "--threads", "2", "--lease-timeout", "1s",
                        "--request-timeout", "500ms"}) {
    args.push_back(a);
  }
  const auto run = run_conveyor(args, 180s);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_GT(partner.stat("failed"), 0u);
  EXPECT_EQ(partner.stat("unique_keys"), 2'000u);
  EXPECT_EQ(partner.stat("duplicates"), 0u);  // a 503 is not a delivery; each message got one OK
  EXPECT_EQ(partner.bodies(), generated_messages(2'000));
  expect_queue_drained();
}

TEST_F(RedisDelivery, SigtermDrainsInFlightCallsThenExitsCleanly) {
  PartnerSimulator partner({"--delay", "300ms"});
  publish(3'000);
  auto args = common(partner);
  args.insert(args.begin(), "work");
  for (const char* a : {"--concurrency", "200", "--threads", "2", "--shutdown-timeout", "20s"}) args.push_back(a);
  auto worker = start_conveyor(args);
  ASSERT_TRUE(wait_until([&] { return partner.stat("in_flight") >= 100 && partner.stat("ok") >= 200; }, 60s));
  worker.signal(SIGTERM);
  const auto code = worker.wait(30s);
  ASSERT_TRUE(code) << "did not exit after SIGTERM";
  EXPECT_EQ(*code, 0);
  // Everything it leased was finished and acknowledged: no lease is left over.
  EXPECT_EQ(redis.integer({"ZCARD", std::string(kChannel) + ":leases"}), 0);
  const auto delivered = partner.stat("ok");
  EXPECT_EQ(delivered + static_cast<std::uint64_t>(redis.integer({"LLEN", kChannel})), 3'000u);

  args.push_back("--until-empty");
  const auto rest = run_conveyor(args, 120s);
  ASSERT_EQ(rest.exit_code, 0) << rest.output;
  EXPECT_EQ(partner.stat("unique_keys"), 3'000u);
  EXPECT_EQ(partner.stat("duplicates"), 0u);
  EXPECT_EQ(partner.bodies(), generated_messages(3'000));
  expect_queue_drained();
}

TEST_F(RedisDelivery, SigtermPastTheDeadlineGivesUnfinishedMessagesBackAtOnce) {
  PartnerSimulator stuck({"--delay", "60s"});
  publish(500);
  auto args = common(stuck);
  args.insert(args.begin(), "work");
  for (const char* a : {"--concurrency", "100", "--threads", "1", "--shutdown-timeout", "300ms", "--lease-timeout",
                        "5m", "--request-timeout", "2m"}) {
    args.push_back(a);
  }
  auto worker = start_conveyor(args);
  ASSERT_TRUE(wait_until([&] { return stuck.stat("in_flight") == 100; }, 30s));
  worker.signal(SIGTERM);
  const auto code = worker.wait(20s);
  ASSERT_TRUE(code) << "did not exit after the shutdown timeout";
  EXPECT_EQ(*code, 0);

  // Released, not left to a 5-minute lease: a second worker delivers all at once.
  PartnerSimulator healthy({"--delay", "1ms"});
  auto rest_args = common(healthy);
  rest_args.insert(rest_args.begin(), "work");
  for (const char* a : {"--until-empty", "--concurrency", "100", "--threads", "1"}) rest_args.push_back(a);
  const auto rest = run_conveyor(rest_args, 60s);
  ASSERT_EQ(rest.exit_code, 0) << rest.output;
  EXPECT_EQ(healthy.stat("unique_keys"), 500u);
  EXPECT_EQ(healthy.bodies(), generated_messages(500));
  expect_queue_drained();
}

TEST_F(RedisDelivery, ShardedByKeyKeepsEachShipmentInOneShardInOrderAndAllAreDelivered) {
  // 40 shipments x 25 messages, interleaved; small batches so that many
  // writes are in flight at once.
  const std::string path = ::testing::TempDir() + "/conveyor-sharded.jsonl";
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

TEST_F(RedisDelivery, PublishFromAFileSkipsInvalidLinesAndNamesThem) {
  const std::string path = ::testing::TempDir() + "/conveyor-input.jsonl";
  {
    std::ofstream out(path);
    out << "{\"p\":\"1\",\"m\":\"a\",\"i\":1}\n"
           "not json\n"
           "{\"p\":\"2\",\"m\":\"b\",\"i\":2}\n"
           "[1,2,3]\n";
  }
  const auto run = run_conveyor({"publish", "--channel", kChannel, "--redis-url", redis.url(), "--input", path}, 30s);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find(":2: invalid JSON"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find(":4: not a JSON object"), std::string::npos) << run.output;
  EXPECT_EQ(redis.list({"LRANGE", kChannel, "0", "-1"}),
            (std::vector<std::string>{"{\"p\":\"1\",\"m\":\"a\",\"i\":1}", "{\"p\":\"2\",\"m\":\"b\",\"i\":2}"}));
}

}  // namespace
}  // namespace conveyor::testing
