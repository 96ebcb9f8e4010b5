// Bad configuration fails at start: one line naming the key, exit code 2,
// and no secret in the message.
#include <gtest/gtest.h>

#include <fstream>

#include "support/conveyor_harness.h"

namespace conveyor::testing {
namespace {

using namespace std::chrono_literals;

const std::vector<std::string> kValid = {"--channel", "c", "--target-url", "http://127.0.0.1:9/x"};

Finished work_with(std::vector<std::string> extra, std::vector<std::string> env = {}) {
  std::vector<std::string> args = {"work"};
  args.insert(args.end(), kValid.begin(), kValid.end());
  args.insert(args.end(), extra.begin(), extra.end());
  return run_conveyor(args, 20s, env);
}

TEST(Configuration, UnknownQueueFailsNamingTheKey) {
  const auto run = work_with({}, {"QUEUE=KAFKA"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output, "conveyor: QUEUE: expected REDIS or SQS, got 'KAFKA'\n");
}

TEST(Configuration, BadNumberFromAFlagFailsNamingTheKey) {
  const auto run = work_with({"--concurrency", "lots"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output, "conveyor: CONCURRENCY: expected a whole number from 1 to 1000000, got 'lots'\n");
}

TEST(Configuration, MissingRequiredKeyFails) {
  const auto run = run_conveyor({"work", "--channel", "c"}, 20s);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output, "conveyor: TARGET_URL: required but not set\n");
}

TEST(Configuration, UnparsableRedisUrlFailsWithoutShowingThePassword) {
  const auto run = work_with({"--redis-url", "http://:hunter2@127.0.0.1:6379/0"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output.rfind("conveyor: REDIS_URL: ", 0), 0u) << run.output;
  EXPECT_EQ(run.output.find("hunter2"), std::string::npos) << run.output;
}

TEST(Configuration, UnusableTargetUrlFailsNamingTheKey) {
  const auto run = work_with({"--target-url", "ftp://127.0.0.1/x"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output.rfind("conveyor: TARGET_URL: ", 0), 0u) << run.output;
}

TEST(Configuration, EnvFileIsReadAndFlagsBeatIt) {
  const std::string path = ::testing::TempDir() + "/conveyor-test.env";
  {
    std::ofstream out(path);
    out << "QUEUE=REDIS\nCHANNEL_NAME=c\nTARGET_URL=http://127.0.0.1:9/x\nLEASE_TIMEOUT=never\n";
  }
  auto run = run_conveyor({"--env-file", path, "work"}, 20s);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output, "conveyor: LEASE_TIMEOUT: expected a duration like 30s or 250ms, got 'never'\n");
  run = run_conveyor({"--env-file", path, "work", "--lease-timeout", "1s", "--request-timeout", "2s"}, 20s);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output, "conveyor: REQUEST_TIMEOUT: must be shorter than LEASE_TIMEOUT (1s), got '2s'\n");
}

TEST(Configuration, MissingEnvFileNamedOnTheCommandLineFails) {
  const auto run = run_conveyor({"--env-file", "/nonexistent/.env", "work"}, 20s);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output, "conveyor: cannot read env file /nonexistent/.env\n");
}

TEST(Configuration, UnknownFlagFails) {
  const auto run = run_conveyor({"work", "--concurency", "5"}, 20s);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.output.find("--concurency"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace conveyor::testing
