// The fault-injection suite: real redis-server, partner simulator and conveyor processes on
// 127.0.0.1, each test breaking one thing while messages flow, then proving the exact accounting
// by content: every published message is delivered or dead-lettered (with its reason), none is
// missing, and the dead-letter queue holds exactly the ones that had to go there.
#include <gtest/gtest.h>

#include <signal.h>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <cstdio>
#include <fstream>
#include <optional>
#include <set>
#include <thread>

#include "support/conveyor_harness.h"
#include "support/redis_server.h"
#include "support/temp_path.h"

namespace conveyor::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kChannel = "shipments";

// The worker under test is built like this test: AddressSanitizer's shadow memory and quarantine
// multiply its footprint (12 MiB measured in a plain build, 151 MiB under ASan).
#if defined(__SANITIZE_ADDRESS__)
constexpr double kWorkerRssBoundMiB = 512.0;
#else
constexpr double kWorkerRssBoundMiB = 64.0;
#endif

class Faults : public ::testing::Test {
 protected:
  explicit Faults(std::vector<std::string> redis_args = {}) : redis(std::move(redis_args)) {}

  // `args` with the queue's flags after the (sub)command: {"publish", ...}, {"dlq", "list", ...}.
  std::vector<std::string> on_queue(std::vector<std::string> args) const {
    const auto at = args.begin() + (args.front() == "dlq" ? 2 : 1);
    args.insert(at, {"--channel", kChannel, "--redis-url", redis.url()});
    return args;
  }
  std::vector<std::string> work(const std::string& partner_url, std::initializer_list<std::string> extra) const {
    auto args = on_queue({"work", "--target-url", partner_url});
    args.insert(args.end(), extra);
    return args;
  }
  void publish(std::size_t n) {
    const auto run = run_conveyor(on_queue({"publish", "--count", std::to_string(n)}), 60s);
    ASSERT_EQ(run.exit_code, 0) << run.output;
  }
  void publish_file(const std::string& path) {
    const auto run = run_conveyor(on_queue({"publish", "--input", path}), 60s);
    ASSERT_EQ(run.exit_code, 0) << run.output;
  }
  // The dead letters as `conveyor dlq list --json` shows them: body -> reason object.
  std::map<std::string, boost::json::object> dead_letters() const {
    const auto run = run_conveyor(on_queue({"dlq", "list", "--json", "--limit", "100000"}), 60s);
    EXPECT_EQ(run.exit_code, 0) << run.output;
    std::map<std::string, boost::json::object> out;
    const auto rows = boost::json::parse(run.output.substr(run.output.find('['))).as_array();
    for (const auto& row : rows) {
      out.emplace(std::string(row.at("body").as_string()), row.at("reason").as_object());
    }
    return out;
  }
  // Nothing left in the queue but the dead letters.
  void expect_only_dead_left(std::size_t dead) const {
    EXPECT_EQ(redis.integer({"LLEN", kChannel}), 0);
    EXPECT_EQ(redis.integer({"ZCARD", std::string(kChannel) + ":leases"}), 0);
    EXPECT_EQ(redis.integer({"ZCARD", std::string(kChannel) + ":delayed"}), 0);
    EXPECT_EQ(redis.integer({"HLEN", std::string(kChannel) + ":bodies"}), 0);
    EXPECT_EQ(redis.integer({"ZCARD", std::string(kChannel) + ":dead"}), static_cast<long long>(dead));
  }

  RedisServer redis;
};

// 1. A flaky partner: every message delivered, and no OK call repeated.
TEST_F(Faults, APartnerFailingAThirdOfCallsLosesNothingAndRepeatsNoSuccess) {
  PartnerSimulator partner({"--delay", "5ms", "--fail-rate", "0.3", "--threads", "2"});
  publish(20'000);
  const auto done = run_conveyor(work(partner.url(), {"--until-empty", "--concurrency", "1000", "--threads", "2",
                                                      "--retry-base", "20ms", "--retry-max-delay", "500ms",
                                                      "--max-attempts", "100"}),
                                 300s);
  ASSERT_EQ(done.exit_code, 0) << done.output;
  EXPECT_GT(partner.stat("failed"), 4'000u);
  EXPECT_EQ(partner.stat("unique_keys"), 20'000u);
  EXPECT_EQ(partner.stat("duplicates"), 0u);
  EXPECT_EQ(partner.bodies(), generated_messages(20'000));
  expect_only_dead_left(0);
}

// 2. A partner refusing some messages as bad: exactly those dead-lettered with the reason, and
// requeued and delivered once the partner is fixed.
TEST_F(Faults, MessagesThePartnerRefusesAreDeadLetteredAndRequeuedOnceItIsFixed) {
  const std::string path = temp_path("marked.jsonl");
  std::multiset<std::string> all, refused;
  {
    std::ofstream out(path);
    for (int i = 0; i < 1'000; ++i) {
      const std::string line = i % 20 == 3 ? R"({"i":)" + std::to_string(i) + R"(,"status":400})"
                                           : R"({"i":)" + std::to_string(i) + "}";
      out << line << "\n";
      all.insert(line);
      if (i % 20 == 3) refused.insert(line);
    }
  }
  publish_file(path);
  {
    PartnerSimulator strict({"--delay", "2ms", "--status-field", "status"});
    const auto done = run_conveyor(work(strict.url(), {"--until-empty", "--concurrency", "100"}), 120s);
    ASSERT_EQ(done.exit_code, 0) << done.output;
    std::multiset<std::string> delivered = all;
    for (const auto& r : refused) delivered.erase(delivered.find(r));
    EXPECT_EQ(strict.bodies(), delivered);
    EXPECT_EQ(strict.stat("failed"), 50u);  // one attempt each: a 400 is never retried
  }
  const auto dead = dead_letters();
  ASSERT_EQ(dead.size(), 50u);
  for (const auto& [body, reason] : dead) {
    EXPECT_TRUE(refused.contains(body)) << body;
    EXPECT_EQ(reason.at("reason"), "partner answered 400");
    EXPECT_EQ(reason.at("status"), 400);
    EXPECT_NE(reason.at("response").as_string().find("asked for 400"), std::string::npos);
    EXPECT_EQ(reason.at("attempts"), 1);
  }
  expect_only_dead_left(50);

  const auto requeued = run_conveyor(on_queue({"dlq", "requeue", "--all"}), 30s);
  ASSERT_EQ(requeued.exit_code, 0) << requeued.output;
  EXPECT_NE(requeued.output.find("requeued 50 dead letter(s)"), std::string::npos) << requeued.output;
  PartnerSimulator fixed({"--delay", "2ms"});
  const auto done = run_conveyor(work(fixed.url(), {"--until-empty", "--concurrency", "100"}), 120s);
  ASSERT_EQ(done.exit_code, 0) << done.output;
  EXPECT_EQ(fixed.bodies(), refused);
  expect_only_dead_left(0);
}

// 3. Poison mixed into good messages: every poison message dead-lettered with a reason, unsent.
TEST_F(Faults, PoisonIsDeadLetteredAndEveryGoodMessageDelivered) {
  publish(10'000);
  std::vector<std::string> poison;
  for (int i = 0; i < 1'000; ++i) {
    switch (i % 5) {
      case 0: poison.push_back("{\"i\":" + std::to_string(i) + ",\"m\":\"\xc3\x28\xff\"}"); break;  // invalid UTF-8
      case 1: poison.push_back("{\"i\":" + std::to_string(i) + ",\"m\":\"trunc"); break;           // truncated
      case 2: poison.push_back("[" + std::to_string(i) + ",2,3]"); break;                        // an array
      case 3: poison.push_back(std::string(static_cast<std::size_t>(i % 7), ' ')); break;         // empty or blank
      case 4: poison.push_back(i < 20 ? "{\"blob\":\"" + std::string(10 << 20, 'x') + std::to_string(i) + "\"}"
                                      : "\"just a string " + std::to_string(i) + "\"");          // 10 MiB, or a scalar
              break;
    }
  }
  std::vector<std::string> push = {"RPUSH", kChannel};
  push.insert(push.end(), poison.begin(), poison.end());
  ASSERT_EQ(redis.integer(push), 11'000);

  PartnerSimulator partner({"--delay", "2ms"});
  const auto done = run_conveyor(work(partner.url(), {"--until-empty", "--concurrency", "500"}), 180s);
  ASSERT_EQ(done.exit_code, 0) << done.output;
  EXPECT_EQ(partner.bodies(), generated_messages(10'000));
  EXPECT_EQ(partner.stat("requests"), 10'000u);  // no poison reached the partner

  const std::vector<std::string> dead_bodies = redis.list({"HVALS", std::string(kChannel) + ":dead:bodies"});
  EXPECT_EQ(std::multiset<std::string>(dead_bodies.begin(), dead_bodies.end()),
            std::multiset<std::string>(poison.begin(), poison.end()));
  for (const auto& reason : redis.list({"HVALS", std::string(kChannel) + ":dead:reasons"})) {
    const auto why = std::string(boost::json::parse(reason).at("reason").as_string());
    EXPECT_TRUE(why.starts_with("invalid JSON") || why == "not a JSON object" || why == "empty message" ||
                why.starts_with("message of 10485"))
        << why;
  }
  expect_only_dead_left(1'000);
}

// 3b. Giant messages (20 MiB) among thousands of normal ones, some of them large (200 KiB): the
// giants never leave Redis (the lease script dead-letters them in place), every other message is
// delivered exactly once, and the worker's memory stays within its bound (MAX_IN_FLIGHT_BYTES)
// instead of growing with what producers push.
TEST_F(Faults, GiantMessagesAreDeadLetteredInsideRedisAndCostTheWorkerNoMemory) {
  constexpr int kNormal = 6'000, kGiants = 30;
  const std::string filler(20 << 20, 'g');
  const std::string label(200 << 10, 'l');  // every 20th normal message is 200 KiB, under the limit
  std::multiset<std::string> normal;
  std::size_t giant_bytes = 0;
  std::vector<std::string> push = {"RPUSH", kChannel};
  for (int i = 0; i < kNormal; ++i) {
    normal.insert(push.emplace_back(i % 20 == 0 ? R"({"i":)" + std::to_string(i) + R"(,"label":")" + label + R"("})"
                                                : R"({"i":)" + std::to_string(i) + "}"));
    if (i % (kNormal / kGiants) == 7) {
      giant_bytes += push.emplace_back(R"({"label":")" + filler + std::to_string(i) + R"("})").size();
      redis.integer(push);
      push.resize(2);
    }
  }
  redis.integer(push);
  ASSERT_EQ(redis.integer({"LLEN", kChannel}), kNormal + kGiants);

  PartnerSimulator partner({"--delay", "5ms"});
  // 300 large messages would be 60 MiB in flight at once; the byte budget keeps it to 8 MiB.
  // The giants (600 MiB) would pass the dead set's default byte retention: keep them all to count.
  auto worker = start_conveyor(work(partner.url(), {"--concurrency", "500",
                                                    "--max-in-flight-bytes", "8388608"}),
                               {"DLQ_MAX_BYTES=0"});
  ASSERT_TRUE(wait_until([&] {
    return partner.stat("unique_keys") >= kNormal && redis.integer({"ZCARD", std::string(kChannel) + ":dead"}) >= kGiants;
  }, 120s)) << partner.stat("unique_keys");
  const double rss = peak_rss_mib(worker.pid());
  worker.signal(SIGTERM);
  ASSERT_EQ(worker.wait(30s), 0);
  std::printf("%d giants of 20 MiB among %d messages: worker peak RSS %.1f MiB\n", kGiants, kNormal, rss);
  EXPECT_GT(rss, 0.0);
  EXPECT_LT(rss, kWorkerRssBoundMiB) << "worker peak RSS (MiB)";

  EXPECT_EQ(partner.stat("requests"), static_cast<std::uint64_t>(kNormal)) << "no giant reached the partner, none twice";
  EXPECT_EQ(partner.stat("duplicates"), 0u);
  EXPECT_EQ(partner.bodies(), normal);
  for (const auto& reason : redis.list({"HVALS", std::string(kChannel) + ":dead:reasons"})) {
    const auto why = std::string(boost::json::parse(reason).at("reason").as_string());
    EXPECT_TRUE(why.starts_with("message of 2097") && why.ends_with(" bytes exceeds MAX_MESSAGE_BYTES (262144)")) << why;
  }
  EXPECT_EQ(redis.query({"GET", std::string(kChannel) + ":dead:bytes"}), std::to_string(giant_bytes));
  expect_only_dead_left(kGiants);
}

// 4. Workers killed again and again: a restarted worker picks everything up.
TEST_F(Faults, AWorkerKilledThreeTimesLosesNothing) {
  PartnerSimulator partner({"--delay", "100ms"});
  publish(6'000);
  const auto args = work(partner.url(), {"--concurrency", "300", "--lease-timeout", "2s", "--request-timeout", "1s"});
  for (std::uint64_t kill_at : {1'000u, 2'500u, 4'000u}) {
    auto worker = start_conveyor(args);
    ASSERT_TRUE(wait_until([&] { return partner.stat("ok") >= kill_at; }, 60s));
    worker.signal(SIGKILL);
    ASSERT_EQ(worker.wait(10s), 128 + SIGKILL);
  }
  auto rest = args;
  rest.push_back("--until-empty");
  const auto done = run_conveyor(rest, 120s);
  ASSERT_EQ(done.exit_code, 0) << done.output;
  EXPECT_EQ(partner.stat("unique_keys"), 6'000u);
  EXPECT_EQ(partner.bodies(), generated_messages(6'000));
  expect_only_dead_left(0);
}

class RedisRestart : public Faults {
 protected:
  RedisRestart() : Faults({"--appendonly", "yes", "--appendfsync", "everysec"}) {}
};

// 5. Redis (AOF on) killed and restarted mid-run: the worker reconnects and finishes.
TEST_F(RedisRestart, TheWorkerRidesOutARedisRestart) {
  PartnerSimulator partner({"--delay", "50ms"});
  publish(8'000);
  // appendfsync everysec: what was written in the last second may not be on disk yet. The
  // producer's messages must be, or the test would measure Redis' loss, not ours: wait out one
  // fsync period (bounded; not a guess at our own timing).
  std::this_thread::sleep_for(1500ms);
  auto worker = start_conveyor(work(partner.url(), {"--until-empty", "--concurrency", "300", "--lease-timeout", "3s",
                                                    "--request-timeout", "2s"}));
  ASSERT_TRUE(wait_until([&] { return partner.stat("ok") >= 2'000; }, 60s));
  redis.kill();
  std::this_thread::sleep_for(1s);  // the outage the worker must ride out
  redis.restart();
  const auto code = worker.wait(180s);
  ASSERT_TRUE(code) << "the worker did not finish after the restart";
  EXPECT_EQ(*code, 0) << worker.read_all(1s);
  // everysec may lose the server's last second of writes: acknowledgements (those messages are
  // delivered again) and leases (those messages are back on the list and leased again under a new
  // id, so their repeat carries a new Idempotency-Key: docs/reliability.md). Repeats, never losses:
  // every message delivered, by content.
  EXPECT_GE(partner.stat("unique_keys"), 8'000u);
  EXPECT_EQ(partner.bodies(), generated_messages(8'000));
  expect_only_dead_left(0);
}

// 6. The partner down for ten seconds (every connection dropped unanswered), then back: the
// worker waits cheaply behind its circuit breaker, then delivers everything.
TEST_F(Faults, APartnerDownForTenSecondsCostsTimeNotMessagesNorCpu) {
  PartnerSimulator partner({"--delay", "20ms"});
  publish(5'000);
  auto worker = start_conveyor(work(partner.url(), {"--until-empty", "--concurrency", "200", "--retry-base", "100ms",
                                                    "--retry-max-delay", "2s", "--max-attempts", "1000"}));
  ASSERT_TRUE(wait_until([&] { return partner.stat("ok") >= 1'000; }, 60s));
  partner.outage(10s);
  const auto down_since = std::chrono::steady_clock::now();
  const double cpu_before = cpu_seconds(worker.pid());
  std::this_thread::sleep_for(9s);  // observe the worker while the partner is down
  const double cpu_down = cpu_seconds(worker.pid()) - cpu_before;
  const double rss_down = peak_rss_mib(worker.pid());
  const std::uint64_t calls_down = partner.stat("requests");
  const auto code = worker.wait(120s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
  EXPECT_GE(std::chrono::steady_clock::now() - down_since, 10s);
  EXPECT_LT(cpu_down, 1.0) << "worker CPU seconds in 9 s of outage";
  std::printf("partner down 9 s: worker CPU %.2f s, peak RSS %.1f MiB\n", cpu_down, rss_down);
  EXPECT_GT(rss_down, 0.0);
  EXPECT_LT(rss_down, kWorkerRssBoundMiB) << "worker peak RSS (MiB): nothing buffers while the partner is down";
  EXPECT_EQ(partner.stat("unique_keys"), 5'000u);
  EXPECT_EQ(partner.bodies(), generated_messages(5'000));
  EXPECT_LT(partner.stat("requests"), calls_down + 5'000u + 1'000u) << "retries stayed bounded";
  expect_only_dead_left(0);
}

// 7. SIGTERM with 5,000 calls in flight: out within the shutdown timeout, nothing lost.
TEST_F(Faults, SigtermWithFiveThousandInFlightExitsInTimeAndASecondWorkerDeliversTheRest) {
  PartnerSimulator stuck({"--delay", "60s", "--threads", "2"});
  publish(8'000);
  auto worker = start_conveyor(work(stuck.url(), {"--concurrency", "5000", "--threads", "2", "--shutdown-timeout",
                                                  "2s", "--lease-timeout", "5m", "--request-timeout", "2m"}));
  ASSERT_TRUE(wait_until([&] { return stuck.stat("in_flight") >= 4'900; }, 60s));
  const auto signalled = std::chrono::steady_clock::now();
  worker.signal(SIGTERM);
  const auto code = worker.wait(30s);
  ASSERT_TRUE(code) << "did not exit after SIGTERM";
  EXPECT_EQ(*code, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, 10s) << "2 s shutdown timeout";

  PartnerSimulator healthy({"--delay", "1ms", "--threads", "2"});
  const auto done = run_conveyor(work(healthy.url(), {"--until-empty", "--concurrency", "1000"}), 120s);
  ASSERT_EQ(done.exit_code, 0) << done.output;
  EXPECT_EQ(healthy.bodies(), generated_messages(8'000));
  expect_only_dead_left(0);
}

}  // namespace
}  // namespace conveyor::testing
