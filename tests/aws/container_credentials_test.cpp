// ECS / EKS Pod Identity container credentials against a stand-in agent on 127.0.0.1: the
// Authorization header (given, or read from its file at each fetch), the JSON read back, and
// failures that name the URL and never the token.
#include "aws/container_credentials.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/credentials_stand_in.h"
#include "support/temp_path.h"

namespace conveyor::aws {
namespace {

using testing::CredentialsStandIn;
using testing::SeenRequest;
using namespace std::chrono_literals;

const Credentials kIssued{"ASIACONTAINER", "container/secret", "container-session-token"};

TEST(ContainerCredentials, GetsTheFullUriWithTheAuthorizationTokenAndReadsTheJson) {
  const auto expires = std::chrono::system_clock::now() + 6h;
  CredentialsStandIn agent([&](const SeenRequest&, std::size_t) {
    return testing::json_answer(200, testing::credentials_json(kIssued, expires));
  });
  ContainerCredentials source({.full_uri = agent.url("/v1/credentials"), .authorization_token = "agent-token-1"});
  EXPECT_TRUE(testing::yields(testing::fetch_now(source), kIssued, expires));
  const auto requests = agent.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].target, "/v1/credentials");
  EXPECT_EQ(requests[0].headers.at("Authorization"), "agent-token-1");
}

TEST(ContainerCredentials, TheTokenFileWinsAndIsReadAgainAtEachFetch) {
  CredentialsStandIn agent([&](const SeenRequest&, std::size_t) {
    return testing::json_answer(200, testing::credentials_json(kIssued, std::chrono::system_clock::now() + 1h));
  });
  const std::string token_file = testing::temp_path("container-token");
  std::ofstream(token_file, std::ios::trunc) << "file-token-1\n";
  ContainerCredentials source({.full_uri = agent.url("/v1/credentials"),
                               .authorization_token = "ignored",
                               .authorization_token_file = token_file});
  ASSERT_TRUE(testing::fetch_now(source));
  std::ofstream(token_file, std::ios::trunc) << "file-token-2";
  ASSERT_TRUE(testing::fetch_now(source));
  const auto requests = agent.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].headers.at("Authorization"), "file-token-1");
  EXPECT_EQ(requests[1].headers.at("Authorization"), "file-token-2");
}

TEST(ContainerCredentials, ARelativeUriGoesToTheEcsAgent) {
  ContainerCredentials source({.relative_uri = "/v2/credentials/abc"});
  EXPECT_EQ(source.url(), "http://169.254.170.2/v2/credentials/abc");
}

TEST(ContainerCredentials, NotConfiguredWithoutAUri) {
  ContainerCredentials source({});
  const SourceOutcome outcome = testing::fetch_now(source);
  ASSERT_FALSE(outcome);
  EXPECT_FALSE(outcome.error().configured);
}

TEST(ContainerCredentials, ARefusalNamesTheUrlAndCodeButNeverTheToken) {
  CredentialsStandIn agent([](const SeenRequest&, std::size_t) {
    return testing::json_answer(403, R"({"Code":"AccessDenied","Message":"bad token agent-token-9"})");
  });
  ContainerCredentials source({.full_uri = agent.url("/v1/credentials"), .authorization_token = "agent-token-9"});
  const SourceOutcome outcome = testing::fetch_now(source);
  ASSERT_FALSE(outcome);
  EXPECT_TRUE(outcome.error().configured);
  EXPECT_EQ(outcome.error().message,
            agent.url("/v1/credentials") + ": answered 403: AccessDenied (bad token ***)");
}

TEST(ContainerCredentials, TheTokenIsSentOnlyToLoopbackOrTheAgentsOverPlainHttp) {
  for (const char* url : {"http://example.com/creds", "https://127.0.0.1:1/creds", "ftp://127.0.0.1/x"}) {
    ContainerCredentials source({.full_uri = url, .authorization_token = "t"});
    const SourceOutcome outcome = testing::fetch_now(source);
    ASSERT_FALSE(outcome) << url;
    EXPECT_TRUE(outcome.error().configured);
    EXPECT_EQ(outcome.error().message.rfind(std::string(url) + ": ", 0), 0u) << outcome.error().message;
  }
}

}  // namespace
}  // namespace conveyor::aws
