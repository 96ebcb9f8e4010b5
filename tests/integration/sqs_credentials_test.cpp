// Issue 11: with QUEUE=SQS and no keys in the environment, the real binary takes its credentials
// from the AWS chain (here the container endpoint, a stand-in on 127.0.0.1) and delivers through
// fauxqs; the stand-in's secrets never reach the output. With no source at all, every SQS command
// fails at start with exit 2 naming the sources tried.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/conveyor_harness.h"
#include "support/credentials_stand_in.h"
#include "support/sqs_emulator.h"
#include "support/temp_path.h"

namespace conveyor::testing {
namespace {

using namespace std::chrono_literals;

const aws::Credentials kIssued{"ASIASTANDIN", "stand-in/secret+key", "stand-in-session-token"};
constexpr std::string_view kAgentToken = "stand-in-agent-token";

// QUEUE=SQS on `sqs` with every source of this machine masked: no keys, shared files in an empty
// directory (a child's HOME cannot be overridden: the inherited one comes first), no IMDS.
std::vector<std::string> keyless_environment(const SqsEmulator& sqs, const std::string& home) {
  return {"QUEUE=SQS", "SQS_ENDPOINT=" + std::string(sqs.endpoint()), "AWS_REGION=" + std::string(SqsEmulator::region),
          "SQS_WAIT_TIME=1s", "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=", "AWS_PROFILE=",
          "AWS_WEB_IDENTITY_TOKEN_FILE=", "AWS_ROLE_ARN=", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=",
          "AWS_CONTAINER_CREDENTIALS_FULL_URI=", "AWS_SHARED_CREDENTIALS_FILE=" + home + "/.aws/credentials",
          "AWS_CONFIG_FILE=" + home + "/.aws/config", "AWS_EC2_METADATA_DISABLED=true"};
}

void expect_no_secret(const std::string& output) {
  for (std::string_view secret : {std::string_view(kIssued.secret_access_key), std::string_view(kIssued.session_token),
                                  kAgentToken}) {
    EXPECT_EQ(output.find(secret), std::string::npos) << secret << " in:\n" << output;
  }
}

class SqsCredentials : public ::testing::Test {
 protected:
  void SetUp() override { std::filesystem::create_directories(home_); }
  void TearDown() override { std::filesystem::remove_all(home_); }
  const std::string home_ = temp_path("keyless-home");
};

TEST_F(SqsCredentials, AWorkerWithoutKeysTakesThemFromTheContainerEndpointAndDelivers) {
  SqsEmulator sqs;
  const std::string url = sqs.create_queue("keyless");
  sqs.create_queue("keyless-dead");
  CredentialsStandIn agent([](const SeenRequest&, std::size_t) {
    return json_answer(200, credentials_json(kIssued, std::chrono::system_clock::now() + std::chrono::hours(1)));
  });
  auto env = keyless_environment(sqs, home_);
  env.push_back("AWS_CONTAINER_CREDENTIALS_FULL_URI=" + agent.url("/v1/credentials"));
  env.push_back("AWS_CONTAINER_AUTHORIZATION_TOKEN=" + std::string(kAgentToken));

  const auto published = run_conveyor({"--log-level", "debug", "publish", "--channel", "keyless", "--count", "20"},
                                      60s, env);
  ASSERT_EQ(published.exit_code, 0) << published.output;
  expect_no_secret(published.output);
  EXPECT_EQ(sqs.messages_in(url), 20u);

  PartnerSimulator partner({"--delay", "1ms"});
  const auto worked = run_conveyor({"--log-level", "debug", "work", "--channel", "keyless", "--target-url",
                                    partner.url(), "--until-empty", "--concurrency", "8"},
                                   60s, env);
  ASSERT_EQ(worked.exit_code, 0) << worked.output;
  EXPECT_NE(worked.output.find("credentials from container endpoint"), std::string::npos) << worked.output;
  expect_no_secret(worked.output);
  EXPECT_EQ(partner.bodies(), generated_messages(20));
  EXPECT_EQ(sqs.messages_in(url), 0u);

  const auto stats = run_conveyor({"stats", "--channel", "keyless"}, 30s, env);
  EXPECT_EQ(stats.exit_code, 0) << stats.output;
  expect_no_secret(stats.output);

  // Every command asked the agent, with its token.
  const auto requests = agent.requests();
  ASSERT_GE(requests.size(), 3u);
  for (const SeenRequest& request : requests) {
    EXPECT_EQ(request.method, "GET");
    EXPECT_EQ(request.target, "/v1/credentials");
    EXPECT_EQ(request.headers.at("Authorization"), kAgentToken);
  }
}

TEST_F(SqsCredentials, NoSourceAtAllFailsEveryCommandAtStartWithExit2) {
  SqsEmulator sqs;
  sqs.create_queue("keyless");
  sqs.create_queue("keyless-dead");
  const auto env = keyless_environment(sqs, home_);
  const std::vector<std::vector<std::string>> commands = {
      {"work", "--channel", "keyless", "--target-url", "http://127.0.0.1:9/x"},
      {"publish", "--channel", "keyless", "--count", "1"},
      {"stats", "--channel", "keyless"},
      {"dlq", "list", "--channel", "keyless"}};
  for (const auto& command : commands) {
    const auto run = run_conveyor(command, 30s, env);
    EXPECT_EQ(run.exit_code, 2) << command.front() << ":\n" << run.output;
    EXPECT_EQ(run.output.rfind("conveyor: no AWS credentials found; tried environment (AWS_ACCESS_KEY_ID not set); "
                               "profile 'default' (not found in " + home_ + "/.aws/credentials or ",
                               0),
              0u)
        << run.output;
    EXPECT_NE(run.output.find("; container endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not set); "
                              "EC2 instance metadata (AWS_EC2_METADATA_DISABLED=true)"),
              std::string::npos)
        << run.output;
  }
}

}  // namespace
}  // namespace conveyor::testing
