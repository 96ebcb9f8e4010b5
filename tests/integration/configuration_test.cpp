// Bad configuration fails at start: one line naming the key, exit code 2,
// and no secret in the message.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <regex>

#include "support/conveyor_harness.h"
#include "support/temp_path.h"

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
  const std::string path = temp_path("test.env");
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

// Regression: `conveyor work --env-file prod.env` was refused ("arguments were not expected").
TEST(Configuration, GlobalOptionsAreAcceptedAfterTheSubcommand) {
  const std::string path = temp_path("after.env");
  {
    std::ofstream out(path);
    out << "CHANNEL_NAME=c\nTARGET_URL=http://127.0.0.1:9/x\nLEASE_TIMEOUT=never\n";
  }
  const std::string expected = "conveyor: LEASE_TIMEOUT: expected a duration like 30s or 250ms, got 'never'\n";
  auto run = run_conveyor({"work", "--env-file", path}, 20s);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output, expected);
  run = run_conveyor({"--env-file", path, "work"}, 20s);  // and before it, as ever
  EXPECT_EQ(run.output, expected);

  const std::string bad_level = "conveyor: LOG_LEVEL: expected one of trace, debug, info, warn, error, off, got 'loud'\n";
  run = work_with({"--log-level", "loud"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output, bad_level);
  run = run_conveyor({"--log-level", "loud", "work", "--channel", "c", "--target-url", "http://127.0.0.1:9/x"}, 20s);
  EXPECT_EQ(run.output, bad_level);
  run = run_conveyor({"dlq", "list", "--channel", "c", "--log-level", "loud"}, 20s);  // a nested subcommand
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output, bad_level);
}

// Regression: a comment after a quoted value was refused as an unterminated quote.
TEST(Configuration, EnvFileWrittenForPythonDotenvIsRead) {
  const std::string path = temp_path("dotenv.env");
  {
    std::ofstream out(path);
    out << "export CHANNEL_NAME='c'  # the channel\nTARGET_URL=\"http://127.0.0.1:9/x\" # partner\n"
           "LEASE_TIMEOUT='never' # oops\n";
  }
  const auto run = run_conveyor({"--env-file", path, "work"}, 20s);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output, "conveyor: LEASE_TIMEOUT: expected a duration like 30s or 250ms, got 'never'\n");
}

TEST(Configuration, AMisspeltKeyInTheEnvFileIsWarnedAboutAndOthersAreIgnored) {
  const std::string path = temp_path("typo.env");
  {
    std::ofstream out(path);
    out << "CHANNEL_NAME=c\nDATABASE_URL=postgres://elsewhere\nCONCURENCY=5\nLOG_LEVEL=loud\n";
  }
  const auto run = run_conveyor({"work", "--env-file", path, "--target-url", "http://127.0.0.1:9/x"}, 20s);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output, "conveyor: warning: " + path + ":3: unknown key CONCURENCY; did you mean CONCURRENCY?\n"
                        "conveyor: LOG_LEVEL: expected one of trace, debug, info, warn, error, off, got 'loud'\n");
}

std::string command_output(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return out;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe)) out += buffer;
  ::pclose(pipe);
  return out;
}

TEST(Version, NamesTheVersionAndTheGitCommitBuiltFrom) {
  const auto run = run_conveyor({"--version"}, 20s);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_match(run.output, m, std::regex("conveyor ([0-9]+\\.[0-9]+\\.[0-9]+) \\(commit ([0-9a-f]{40}|unknown)\\)\n")))
      << run.output;
  std::string head = command_output("git -C '" CONVEYOR_SOURCE_DIR "' rev-parse --show-toplevel --verify HEAD 2>/dev/null");
  const auto nl = head.find('\n');
  const bool checkout = nl != std::string::npos && head.substr(nl + 1).size() == 41;
  EXPECT_EQ(m[2], checkout ? head.substr(nl + 1, 40) : "unknown") << "git says: " << head;
}

// Outside a git checkout (a tarball, a container build) the commit is "unknown".
TEST(Version, CommitIsUnknownOutsideAGitCheckout) {
  const std::string dir = temp_path("tarball");
  const std::string source = dir + "/build_commit.cpp";
  std::remove(source.c_str());
  command_output("mkdir -p '" + dir + "' && cmake -DSOURCE_DIR='" + dir + "' -DOUTPUT='" + source +
                 "' -DVERSION=9.9.9 -P '" CONVEYOR_SOURCE_DIR "/cmake/build_commit.cmake' 2>&1");
  std::ifstream in(source);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("build_commit() { return \"unknown\"; }"), std::string::npos) << text;
  EXPECT_NE(text.find("build_version() { return \"9.9.9\"; }"), std::string::npos) << text;
}

TEST(Configuration, UnknownFlagFails) {
  const auto run = run_conveyor({"work", "--concurency", "5"}, 20s);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.output.find("--concurency"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace conveyor::testing
