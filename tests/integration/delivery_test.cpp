// The delivery contract, end to end with real processes, run over both backends (REDIS and SQS,
// and REDIS on a Redis Cluster):
// redis-server or the fauxqs SQS emulator, the partner simulator and the conveyor binary, on
// free 127.0.0.1 ports. Every test checks delivery by content (the partner's recorded bodies),
// not only by counts, and then that nothing is left in the queue.
#include <gtest/gtest.h>

#include <signal.h>

#include <boost/json/parse.hpp>
#include <fstream>
#include <set>
#include <sstream>

#include "support/conveyor_harness.h"
#include "support/queue_under_test.h"
#include "support/temp_path.h"

namespace conveyor::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kChannel = "shipments";

class Delivery : public ::testing::TestWithParam<Backend> {
 protected:
  Delivery() : queue(GetParam()) {}

  // `conveyor <command>` on the queue under test.
  // `name` may be a command and its subcommand, e.g. "dlq list".
  std::vector<std::string> command(std::string_view name, std::initializer_list<std::string> extra = {}) const {
    std::vector<std::string> args;
    for (std::size_t space; (space = name.find(' ')) != std::string_view::npos; name.remove_prefix(space + 1)) {
      args.emplace_back(name.substr(0, space));
    }
    args.emplace_back(name);
    args.insert(args.end(), {"--channel", kChannel});
    for (const auto& a : queue.args()) args.push_back(a);
    args.insert(args.end(), extra);
    return args;
  }
  std::vector<std::string> work(const PartnerSimulator& partner, std::initializer_list<std::string> extra) const {
    auto args = command("work", {"--target-url", partner.url()});
    args.insert(args.end(), extra);
    return args;
  }
  Finished run(const std::vector<std::string>& args, std::chrono::seconds limit) const {
    return run_conveyor(args, limit, queue.env());
  }
  ChildProcess start(const std::vector<std::string>& args) const { return start_conveyor(args, queue.env()); }

  void publish(std::size_t n, std::size_t shards = 1) {
    queue.create(kChannel, shards);
    const auto published = run(command("publish", {"--count", std::to_string(n), "--shards", std::to_string(shards)}), 60s);
    ASSERT_EQ(published.exit_code, 0) << published.output;
    ASSERT_EQ(queue.waiting(kChannel, shards), n);
  }

  QueueUnderTest queue;
};

TEST_P(Delivery, TenThousandMessagesEachDeliveredExactlyOnce) {
  PartnerSimulator partner({"--delay", "20ms", "--threads", "2"});
  publish(10'000);
  const std::string report_path = temp_path("report.json");
  const auto done = run(work(partner, {"--until-empty", "--concurrency", "500", "--threads", "2", "--report", report_path}), 120s);
  ASSERT_EQ(done.exit_code, 0) << done.output;

  EXPECT_EQ(partner.stat("unique_keys"), 10'000u);
  EXPECT_EQ(partner.stat("duplicates"), 0u);
  EXPECT_EQ(partner.stat("ok"), 10'000u);
  EXPECT_EQ(partner.bodies(), generated_messages(10'000));
  queue.expect_drained(kChannel);

  std::ifstream in(report_path);
  std::stringstream text;
  text << in.rdbuf();
  const auto report = boost::json::parse(text.str()).as_object();
  EXPECT_EQ(report.at("delivered").to_number<std::uint64_t>(), 10'000u);
  EXPECT_EQ(report.at("failed").to_number<std::uint64_t>(), 0u);
  EXPECT_LE(report.at("peak_in_flight").to_number<std::uint64_t>(), 500u);
  EXPECT_GT(report.at("latency_p50_ms").to_number<double>(), 0.0);
}

TEST_P(Delivery, FourShardsAreAllReadAndEveryMessageDeliveredOnce) {
  PartnerSimulator partner({"--delay", "10ms"});
  publish(5'000, 4);
  for (int i = 0; i < 4; ++i) {  // round-robin: each shard has its quarter
    const std::string shard = std::string(kChannel) + (GetParam() == Backend::sqs ? "-" : ":") + std::to_string(i);
    EXPECT_EQ(queue.waiting(shard), 1'250u) << shard;
  }
  const auto done = run(work(partner, {"--until-empty", "--shards", "4", "--concurrency", "400", "--threads", "2"}), 120s);
  ASSERT_EQ(done.exit_code, 0) << done.output;
  EXPECT_EQ(partner.stat("unique_keys"), 5'000u);
  EXPECT_EQ(partner.stat("duplicates"), 0u);
  EXPECT_EQ(partner.bodies(), generated_messages(5'000));
  queue.expect_drained(kChannel, 4);
}

TEST_P(Delivery, AWorkerKilledMidRunLosesNothing) {
  PartnerSimulator partner({"--delay", "200ms"});
  publish(5'000);
  const auto args = work(partner, {"--concurrency", "300", "--threads", "1", "--lease-timeout", "2s", "--request-timeout", "1s"});
  auto first = start(args);
  ASSERT_TRUE(wait_until([&] { return partner.stat("ok") >= 1'000; }, 60s));
  first.signal(SIGKILL);
  ASSERT_EQ(first.wait(10s), 128 + SIGKILL);
  // The killed worker held leases: they are still in the queue, not lost.
  EXPECT_GT(queue.in_flight(kChannel), 0u);

  auto rest = args;
  rest.push_back("--until-empty");
  const auto second = run(rest, 120s);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(partner.stat("unique_keys"), 5'000u);  // duplicates allowed, losses not
  EXPECT_EQ(partner.bodies(), generated_messages(5'000));
  queue.expect_drained(kChannel);
}

TEST_P(Delivery, MessagesThePartnerRefusesAreRetriedLaterAndDelivered) {
  PartnerSimulator partner({"--delay", "5ms", "--fail-rate", "0.3"});
  publish(2'000);
  const auto done = run(work(partner, {"--until-empty", "--concurrency", "200", "--threads", "2", "--retry-base", "50ms",
                                       "--retry-max-delay", "1s", "--max-attempts", "100"}),
                        180s);
  ASSERT_EQ(done.exit_code, 0) << done.output;
  EXPECT_GT(partner.stat("failed"), 0u);
  EXPECT_EQ(partner.stat("unique_keys"), 2'000u);
  EXPECT_EQ(partner.stat("duplicates"), 0u);  // a 503 is not a delivery; each message got one OK
  EXPECT_EQ(partner.bodies(), generated_messages(2'000));
  queue.expect_drained(kChannel);
}

TEST_P(Delivery, SigtermDrainsInFlightCallsThenExitsCleanly) {
  PartnerSimulator partner({"--delay", "300ms"});
  publish(3'000);
  const auto args = work(partner, {"--concurrency", "200", "--threads", "2", "--shutdown-timeout", "20s"});
  auto worker = start(args);
  ASSERT_TRUE(wait_until([&] { return partner.stat("in_flight") >= 100 && partner.stat("ok") >= 200; }, 60s));
  worker.signal(SIGTERM);
  const auto code = worker.wait(30s);
  ASSERT_TRUE(code) << "did not exit after SIGTERM";
  EXPECT_EQ(*code, 0);
  // Everything it took was finished and acknowledged, or given back: nothing is left leased.
  EXPECT_EQ(queue.in_flight(kChannel), 0u);
  EXPECT_EQ(partner.stat("ok") + queue.waiting(kChannel), 3'000u);

  auto rest = args;
  rest.push_back("--until-empty");
  const auto second = run(rest, 120s);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(partner.stat("unique_keys"), 3'000u);
  EXPECT_EQ(partner.stat("duplicates"), 0u);
  EXPECT_EQ(partner.bodies(), generated_messages(3'000));
  queue.expect_drained(kChannel);
}

TEST_P(Delivery, SigtermPastTheDeadlineGivesUnfinishedMessagesBackAtOnce) {
  PartnerSimulator stuck({"--delay", "60s"});
  publish(500);
  auto worker = start(work(stuck, {"--concurrency", "100", "--threads", "1", "--shutdown-timeout", "300ms",
                                   "--lease-timeout", "5m", "--request-timeout", "2m"}));
  // Nearly every slot busy with a call that will not end: SQS hands messages over ten at a time,
  // so the last slots may stay free until a call ends (the dispatcher refills 12 or more at once).
  ASSERT_TRUE(wait_until([&] { return stuck.stat("in_flight") >= 90; }, 30s));
  worker.signal(SIGTERM);
  const auto code = worker.wait(20s);
  ASSERT_TRUE(code) << "did not exit after the shutdown timeout";
  EXPECT_EQ(*code, 0);
  EXPECT_EQ(queue.in_flight(kChannel), 0u);

  // Released, not left to a 5-minute lease: a second worker delivers all at once.
  PartnerSimulator healthy({"--delay", "1ms"});
  const auto rest = run(work(healthy, {"--until-empty", "--concurrency", "100", "--threads", "1"}), 60s);
  ASSERT_EQ(rest.exit_code, 0) << rest.output;
  EXPECT_EQ(healthy.stat("unique_keys"), 500u);
  EXPECT_EQ(healthy.bodies(), generated_messages(500));
  queue.expect_drained(kChannel);
}

TEST_P(Delivery, PublishFromAFileSkipsInvalidLinesNamesThemAndSendsTheRest) {
  const std::string path = temp_path("input.jsonl");
  {
    std::ofstream out(path);
    out << "{\"p\":\"1\",\"m\":\"a\",\"i\":1}\n"
           "not json\n"
           "{\"p\":\"2\",\"m\":\"b\",\"i\":2}\n"
           "[1,2,3]\n";
  }
  queue.create(kChannel);
  const auto published = run(command("publish", {"--input", path}), 30s);
  EXPECT_EQ(published.exit_code, 1) << published.output;
  EXPECT_NE(published.output.find(":2: invalid JSON"), std::string::npos) << published.output;
  EXPECT_NE(published.output.find(":4: not a JSON object"), std::string::npos) << published.output;
  EXPECT_EQ(queue.waiting(kChannel), 2u);

  PartnerSimulator partner({"--delay", "1ms"});
  const auto done = run(work(partner, {"--until-empty", "--concurrency", "10"}), 60s);
  ASSERT_EQ(done.exit_code, 0) << done.output;
  EXPECT_EQ(partner.bodies(),
            (std::multiset<std::string>{"{\"p\":\"1\",\"m\":\"a\",\"i\":1}", "{\"p\":\"2\",\"m\":\"b\",\"i\":2}"}));
  queue.expect_drained(kChannel);
}

TEST_P(Delivery, RefusedMessagesAreDeadLetteredListedRequeuedAndPurged) {
  const std::string path = temp_path("dlq.jsonl");
  {
    std::ofstream out(path);
    for (int i = 0; i < 30; ++i) out << (i % 10 == 0 ? R"({"status":422,"i":)" : R"({"i":)") << i << "}\n";
  }
  queue.create(kChannel);
  ASSERT_EQ(run(command("publish", {"--input", path}), 30s).exit_code, 0);
  {
    PartnerSimulator strict({"--delay", "1ms", "--status-field", "status"});
    const auto done = run(work(strict, {"--until-empty", "--concurrency", "10"}), 60s);
    ASSERT_EQ(done.exit_code, 0) << done.output;
    EXPECT_EQ(strict.bodies().size(), 27u);
  }
  const auto stats = run(command("stats", {"--json"}), 30s);
  ASSERT_EQ(stats.exit_code, 0) << stats.output;
  std::size_t dead = 0;
  const auto stats_rows = boost::json::parse(stats.output.substr(stats.output.find('[')));
  for (const auto& row : stats_rows.as_array()) {
    dead += row.at("dead").to_number<std::size_t>();
  }
  EXPECT_EQ(dead, 3u);

  auto listed = run(command("dlq list", {"--json"}), 30s);
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  const auto rows = boost::json::parse(listed.output.substr(listed.output.find('['))).as_array();
  ASSERT_EQ(rows.size(), 3u);
  std::set<std::string> bodies;
  for (const auto& row : rows) {
    bodies.insert(std::string(row.at("body").as_string()));
    EXPECT_EQ(row.at("reason").at("reason"), "partner answered 422");
  }
  EXPECT_EQ(bodies, (std::set<std::string>{R"({"status":422,"i":0})", R"({"status":422,"i":10})", R"({"status":422,"i":20})"}));

  // One by id, then the rest; each goes back to the queue and is delivered by a fixed partner.
  const auto one = run(command("dlq requeue", {"--id", std::string(rows[0].at("id").as_string())}), 60s);
  ASSERT_EQ(one.exit_code, 0) << one.output;
  EXPECT_NE(one.output.find("requeued 1 dead letter(s)"), std::string::npos) << one.output;
  EXPECT_EQ(queue.waiting(kChannel), 1u) << one.output << listed.output;
  const auto refused = run(command("dlq purge"), 30s);
  EXPECT_EQ(refused.exit_code, 2) << "purge needs --yes";
  const auto purged = run(command("dlq purge", {"--yes"}), 60s);
  ASSERT_EQ(purged.exit_code, 0) << purged.output;
  EXPECT_NE(purged.output.find("purged 2 dead letter(s)"), std::string::npos) << purged.output;

  PartnerSimulator fixed({"--delay", "1ms"});
  const auto done = run(work(fixed, {"--until-empty", "--concurrency", "10"}), 60s);
  ASSERT_EQ(done.exit_code, 0) << done.output;
  EXPECT_EQ(fixed.bodies(), (std::multiset<std::string>{std::string(rows[0].at("body").as_string())}));
  queue.expect_drained(kChannel);
  listed = run(command("dlq list", {"--json"}), 30s);
  EXPECT_EQ(boost::json::parse(listed.output.substr(listed.output.find('['))).as_array().size(), 0u);
}

// Issue 8.3: the status decides. A carrier answering 200 with a 1 MiB label accepted the message:
// it is acknowledged once, not retried and dead-lettered as a malformed answer.
TEST_P(Delivery, APartnerAnswering200WithA1MiBBodyHasEachMessageDeliveredOnce) {
  PartnerSimulator partner({"--delay", "1ms", "--response-bytes", std::to_string(1024 * 1024)});
  publish(20);
  const auto done = run(work(partner, {"--until-empty", "--concurrency", "10", "--max-attempts", "3",
                                       "--retry-base", "10ms", "--retry-max-delay", "50ms", "--circuit-failures", "0"}),
                        60s);
  ASSERT_EQ(done.exit_code, 0) << done.output;
  EXPECT_EQ(partner.stat("requests"), 20u) << "nothing retried";
  EXPECT_EQ(partner.stat("duplicates"), 0u);
  EXPECT_EQ(partner.bodies(), generated_messages(20));
  queue.expect_drained(kChannel);
  const auto listed = run(command("dlq list", {"--json"}), 30s);
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_EQ(boost::json::parse(listed.output.substr(listed.output.find('['))).as_array().size(), 0u) << listed.output;
}

// Issue 8.4: a partner that never answers is dead-lettered as a timeout naming REQUEST_TIMEOUT.
TEST_P(Delivery, APartnerThatNeverAnswersIsDeadLetteredAsATimeoutNamingRequestTimeout) {
  PartnerSimulator silent({"--delay", "60s"});
  publish(3);
  const auto done = run(work(silent, {"--until-empty", "--concurrency", "10", "--request-timeout", "300ms",
                                      "--max-attempts", "2", "--retry-base", "10ms", "--retry-max-delay", "50ms"}),
                        60s);
  ASSERT_EQ(done.exit_code, 0) << done.output;
  const auto listed = run(command("dlq list", {"--json"}), 30s);
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  const auto rows = boost::json::parse(listed.output.substr(listed.output.find('['))).as_array();
  ASSERT_EQ(rows.size(), 3u) << listed.output;
  for (const auto& row : rows) {
    EXPECT_EQ(row.at("reason").at("reason"), "gave up after 2 attempts; last: timeout: no answer within REQUEST_TIMEOUT (300ms)");
    EXPECT_EQ(row.at("reason").at("status"), 0);
  }
}

// The Redis queue also runs the contract on a Redis Cluster (one cluster shared by the suite).
INSTANTIATE_TEST_SUITE_P(BothBackends, Delivery, ::testing::Values(Backend::redis, Backend::sqs, Backend::redis_cluster),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param == Backend::redis ? std::string("Redis")
                                  : info.param == Backend::sqs ? std::string("Sqs")
                                                               : std::string("RedisCluster");
                         });

}  // namespace
}  // namespace conveyor::testing
