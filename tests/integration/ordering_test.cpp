// Per-key ordering across worker processes (issue 10, "Ordering per key"): two `conveyor work`
// processes lease from the same Redis channel; the partner, with random latency and 10 % 503s,
// checks that every key's numbers arrive strictly increasing among its 200s, that no two calls
// for one key are ever in progress at once, and that everything is delivered once.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "support/conveyor_harness.h"
#include "support/redis_server.h"
#include "support/temp_path.h"

namespace conveyor::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kChannel = "shipments";
constexpr int kKeys = 100;
constexpr int kPerKey = 50;

class Ordering : public ::testing::Test {
 protected:
  // kKeys x kPerKey messages {"k":"ship-<key>","n":<n>}, published interleaved, in n order per key.
  std::multiset<std::string> publish() {
    const std::string path = temp_path("ordering.jsonl");
    std::multiset<std::string> expected;
    {
      std::ofstream out(path);
      for (int n = 0; n < kPerKey; ++n) {
        for (int key = 0; key < kKeys; ++key) {
          const std::string line = R"({"k":"ship-)" + std::to_string(key) + R"(","n":)" + std::to_string(n) + "}";
          out << line << "\n";
          expected.insert(line);
        }
      }
    }
    const auto run = run_conveyor({"publish", "--channel", kChannel, "--redis-url", redis.url(), "--input", path}, 60s);
    EXPECT_EQ(run.exit_code, 0) << run.output;
    return expected;
  }

  // Two workers until the channel is empty; `order_key` empty: no ordering.
  void deliver_with_two_workers(const PartnerSimulator& partner, const std::string& order_key) {
    std::vector<std::string> args = {"work",          "--channel",     kChannel,     "--redis-url", redis.url(),
                                     "--target-url",  partner.url(), "--until-empty", "--concurrency", "200",
                                     "--threads",     "2",           "--retry-base", "20ms",        "--retry-max-delay",
                                     "200ms"};
    std::vector<std::string> env = {"IDLE_POLL=10ms"};
    if (!order_key.empty()) env.push_back("ORDER_KEY=" + order_key);
    const std::string reports[] = {temp_path("ordering-1.json"),
                                   temp_path("ordering-2.json")};
    auto with_report = [&](const std::string& path) {
      auto out = args;
      out.insert(out.end(), {"--report", path});
      return out;
    };
    auto first = start_conveyor(with_report(reports[0]), env);
    auto second = start_conveyor(with_report(reports[1]), env);
    for (auto* worker : {&first, &second}) {
      const auto code = worker->wait(90s);
      ASSERT_TRUE(code) << "a worker did not finish";
      EXPECT_EQ(*code, 0) << worker->read_all(1s);
    }
    // Both processes took part: the keys were shared between them, not served by one alone.
    for (const std::string& path : reports) {
      std::ifstream in(path);
      std::stringstream text;
      text << in.rdbuf();
      const auto delivered = boost::json::parse(text.str()).at("delivered").to_number<std::uint64_t>();
      EXPECT_GT(delivered, 0u) << path;
    }
  }

  RedisServer redis;
};

TEST_F(Ordering, TwoWorkersDeliverEachKeyInOrderOneAtATimeAndEverythingOnce) {
  PartnerSimulator partner({"--delay", "2ms", "--delay-jitter", "20ms", "--fail-rate", "0.1", "--order-field", "k",
                            "--seq-field", "n"});
  const auto expected = publish();
  const auto started = std::chrono::steady_clock::now();
  deliver_with_two_workers(partner, "k");
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  std::printf("%d keys x %d messages by two workers in %.2f s; partner: %s\n", kKeys, kPerKey, took.count(),
              boost::json::serialize(partner.stats()).c_str());

  EXPECT_GT(partner.stat("failed"), 0u) << "the partner must have refused some calls: retries were exercised";
  EXPECT_EQ(partner.stat("order_violations"), 0u);
  EXPECT_EQ(partner.stat("overlaps"), 0u);
  EXPECT_EQ(partner.stat("duplicates"), 0u);
  EXPECT_EQ(partner.stat("unique_keys"), static_cast<std::uint64_t>(kKeys * kPerKey));
  EXPECT_EQ(partner.bodies(), expected);
  for (const char* suffix : {"", ":leases", ":delayed", ":bodies", ":order:holders", ":order:key_of"}) {
    EXPECT_EQ(redis.integer({"EXISTS", std::string(kChannel) + suffix}), 0) << suffix;
  }
  EXPECT_EQ(std::atoll(redis.query({"GET", std::string(kChannel) + ":order:waiting"}).c_str()), 0);
  EXPECT_EQ(redis.list({"KEYS", std::string(kChannel) + ":order:wait:*"}).size(), 0u);
}

}  // namespace
}  // namespace conveyor::testing
