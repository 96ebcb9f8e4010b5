// What only QUEUE=SQS has: queues looked up or checked at start (a wrong name fails naming the
// key), the queue's own message size limit applied by the publisher, and credentials that never
// reach the output, even at debug level.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "support/conveyor_harness.h"
#include "support/queue_under_test.h"
#include "support/temp_path.h"

namespace conveyor::testing {
namespace {

using namespace std::chrono_literals;

TEST(SqsConfiguration, AMissingQueueFailsAtStartNamingTheKeyAndNoSecret) {
  SqsEmulator sqs;
  auto env = sqs.environment();
  const auto run = run_conveyor({"--log-level", "debug", "work", "--channel", "nowhere", "--target-url",
                                 "http://127.0.0.1:9/x"},
                                30s, env);
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_EQ(run.output.rfind("conveyor: CHANNEL_NAME: SQS queue 'nowhere'", 0), 0u) << run.output;
  EXPECT_NE(run.output.find("QueueDoesNotExist"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find(SqsEmulator::credentials().secret_access_key), std::string::npos) << run.output;

  const auto by_url = run_conveyor({"publish", "--count", "1", "--sqs-queue-url",
                                    std::string(sqs.endpoint()) + "/000000000000/nowhere"},
                                   30s, env);
  EXPECT_EQ(by_url.exit_code, 2) << by_url.output;
  EXPECT_EQ(by_url.output.rfind("conveyor: SQS_QUEUE_URL: ", 0), 0u) << by_url.output;
}

// Regression: publish looked up <channel>-dead and failed without it, though it never dead-letters.
TEST(SqsConfiguration, PublishNeedsNoDeadLetterQueueButWorkDoes) {
  SqsEmulator sqs;
  const std::string url = sqs.create_queue("orders");
  const auto published = run_conveyor({"publish", "--channel", "orders", "--count", "3"}, 30s, sqs.environment());
  EXPECT_EQ(published.exit_code, 0) << published.output;
  EXPECT_EQ(sqs.messages_in(url), 3u);

  const auto work = run_conveyor({"work", "--channel", "orders", "--target-url", "http://127.0.0.1:9/x"}, 30s,
                                 sqs.environment());
  EXPECT_EQ(work.exit_code, 2) << work.output;
  EXPECT_EQ(work.output.rfind("conveyor: SQS_DEAD_LETTER_QUEUE_URL: not set, and no queue 'orders-dead'", 0), 0u)
      << work.output;
}

TEST(SqsConfiguration, MessagesOverTheQueuesSizeLimitAreRefusedByLineAndTheRestGo) {
  SqsEmulator sqs;
  const std::string url = sqs.create_queue("small", {{"MaximumMessageSize", "1024"}});
  sqs.create_queue("small-dead");
  const std::string path = temp_path("sizes.jsonl");
  const std::string big = "{\"p\":\"" + std::string(2000, 'x') + "\"}";
  {
    std::ofstream out(path);
    out << "{\"i\":1}\n" << big << "\n{\"i\":3}\n";
  }
  const auto run = run_conveyor({"publish", "--channel", "small", "--input", path}, 30s, sqs.environment());
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find(":2: message of 2008 bytes is larger than the queue accepts (1024 bytes)"), std::string::npos)
      << run.output;
  EXPECT_EQ(sqs.messages_in(url), 2u);

  PartnerSimulator partner({"--delay", "1ms"});
  const auto done = run_conveyor({"--log-level", "debug", "work", "--channel", "small", "--target-url", partner.url(),
                                  "--until-empty", "--concurrency", "4"},
                                 60s, sqs.environment());
  ASSERT_EQ(done.exit_code, 0) << done.output;
  EXPECT_EQ(partner.bodies(), (std::multiset<std::string>{"{\"i\":1}", "{\"i\":3}"}));
  EXPECT_EQ(done.output.find(SqsEmulator::credentials().secret_access_key), std::string::npos);
  EXPECT_EQ(sqs.messages_in(url), 0u);
}

}  // namespace
}  // namespace conveyor::testing
