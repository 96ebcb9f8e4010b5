// EC2 instance metadata, IMDSv2, against a stand-in on 127.0.0.1: the session token PUT and its
// TTL header, the token sent with both GETs, the role's credentials read back; disabled, off EC2
// (nothing listening: fails fast), no role attached.
#include "aws/instance_credentials.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "support/credentials_stand_in.h"

namespace conveyor::aws {
namespace {

using testing::CredentialsStandIn;
using testing::SeenRequest;
using namespace std::chrono_literals;

const Credentials kIssued{"ASIAINSTANCE", "instance/secret", "instance-session-token"};
constexpr std::string_view kSessionToken = "imds-session-token==";

http::ServerResponse imds(const SeenRequest& request, bool with_role) {
  if (request.method == "PUT" && request.target == "/latest/api/token") {
    return testing::text_answer(200, std::string(kSessionToken));
  }
  if (request.headers.count("X-aws-ec2-metadata-token") == 0) return testing::text_answer(401, "");
  if (request.target == "/latest/meta-data/iam/security-credentials/") {
    return with_role ? testing::text_answer(200, "conveyor-node\n") : testing::text_answer(404, "");
  }
  if (request.target == "/latest/meta-data/iam/security-credentials/conveyor-node") {
    return testing::json_answer(200, testing::credentials_json(kIssued, std::chrono::system_clock::now() + 6h, true));
  }
  return testing::text_answer(404, "");
}

TEST(InstanceCredentials, TakesASessionTokenThenTheRoleThenItsCredentials) {
  CredentialsStandIn stand_in([](const SeenRequest& request, std::size_t) { return imds(request, true); });
  InstanceCredentials source({.endpoint = stand_in.url("/")});
  EXPECT_TRUE(testing::yields(testing::fetch_now(source), kIssued, std::chrono::system_clock::now() + 6h));

  const auto requests = stand_in.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].method, "PUT");
  EXPECT_EQ(requests[0].target, "/latest/api/token");
  EXPECT_EQ(requests[0].headers.at("X-aws-ec2-metadata-token-ttl-seconds"), "21600");
  EXPECT_EQ(requests[1].method, "GET");
  EXPECT_EQ(requests[1].target, "/latest/meta-data/iam/security-credentials/");
  EXPECT_EQ(requests[1].headers.at("X-aws-ec2-metadata-token"), kSessionToken);
  EXPECT_EQ(requests[2].target, "/latest/meta-data/iam/security-credentials/conveyor-node");
  EXPECT_EQ(requests[2].headers.at("X-aws-ec2-metadata-token"), kSessionToken);
}

TEST(InstanceCredentials, NoRoleAttachedIsNotConfigured) {
  CredentialsStandIn stand_in([](const SeenRequest& request, std::size_t) { return imds(request, false); });
  InstanceCredentials source({.endpoint = stand_in.url()});
  const SourceOutcome outcome = testing::fetch_now(source);
  ASSERT_FALSE(outcome);
  EXPECT_FALSE(outcome.error().configured);
  EXPECT_EQ(outcome.error().message, stand_in.url() + ": no IAM role is attached to this instance");
}

TEST(InstanceCredentials, DisabledAsksNothing) {
  CredentialsStandIn stand_in([](const SeenRequest& request, std::size_t) { return imds(request, true); });
  InstanceCredentials source({.endpoint = stand_in.url(), .disabled = true});
  const SourceOutcome outcome = testing::fetch_now(source);
  ASSERT_FALSE(outcome);
  EXPECT_FALSE(outcome.error().configured);
  EXPECT_EQ(outcome.error().message, "AWS_EC2_METADATA_DISABLED=true");
  EXPECT_TRUE(stand_in.requests().empty());
}

TEST(InstanceCredentials, NothingListeningFailsFastAsNotConfigured) {
  // A port just freed: nothing listens there.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const auto port = probe.local_endpoint().port();
  probe.close();
  InstanceCredentials source({.endpoint = "http://127.0.0.1:" + std::to_string(port)});
  const auto started = std::chrono::steady_clock::now();
  const SourceOutcome outcome = testing::fetch_now(source);
  ASSERT_FALSE(outcome);
  EXPECT_FALSE(outcome.error().configured);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

}  // namespace
}  // namespace conveyor::aws
