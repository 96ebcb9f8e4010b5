// Web identity (IRSA): STS AssumeRoleWithWebIdentity against a stand-in STS on 127.0.0.1 (what is
// sent, what is read back, what a refusal says), and the token file read again at every fetch.
#include "aws/web_identity_credentials.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/credentials_stand_in.h"
#include "support/temp_path.h"

namespace conveyor::aws {
namespace {

using testing::CredentialsStandIn;
using testing::SeenRequest;
using namespace std::chrono_literals;

const Credentials kIssued{"ASIAWEBIDENTITY", "web/secret+key", "FwoGZXIvYXdzEXAMPLE/token=="};
constexpr std::string_view kRole = "arn:aws:iam::123456789012:role/conveyor";

void write_file(const std::string& path, std::string_view text) {
  std::ofstream(path, std::ios::trunc) << text;
}

// The decoded value of `name` in a form body.
std::string form_value(std::string_view body, std::string_view name) {
  while (!body.empty()) {
    const std::string_view pair = body.substr(0, body.find('&'));
    body.remove_prefix(std::min(body.size(), pair.size() + 1));
    if (!pair.starts_with(std::string(name) + "=")) continue;
    const std::string_view raw = pair.substr(name.size() + 1);
    std::string out;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '+') {
        out.push_back(' ');
      } else if (raw[i] == '%' && i + 2 < raw.size()) {
        out.push_back(static_cast<char>(std::stoi(std::string(raw.substr(i + 1, 2)), nullptr, 16)));
        i += 2;
      } else {
        out.push_back(raw[i]);
      }
    }
    return out;
  }
  return "(absent)";
}

WebIdentityOptions options_for(const CredentialsStandIn& sts, const std::string& token_file) {
  WebIdentityOptions options;
  options.role_arn = std::string(kRole);
  options.token_file = token_file;
  options.session_name = "conveyor-test";
  options.sts_endpoint = sts.url();
  options.region = "eu-west-1";
  return options;
}

TEST(WebIdentityCredentials, SendsTheRoleTheTokenAndTheSessionNameAndReadsTheCredentials) {
  const auto expires = std::chrono::system_clock::now() + 1h;
  CredentialsStandIn sts([&](const SeenRequest&, std::size_t) { return testing::text_answer(200, testing::sts_answer(kIssued, expires)); });
  const std::string token_file = testing::temp_path("web-identity-token");
  write_file(token_file, "eyJhbGciOiJSUzI1NiJ9.first+token/=\n");
  WebIdentityCredentials source(options_for(sts, token_file));

  EXPECT_TRUE(testing::yields(testing::fetch_now(source), kIssued, expires));

  const auto requests = sts.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/");
  EXPECT_EQ(requests[0].headers.count("Authorization"), 0u) << "the call is unsigned";
  EXPECT_EQ(requests[0].headers.at("Content-Type"), "application/x-www-form-urlencoded");
  const std::string& body = requests[0].body;
  EXPECT_EQ(form_value(body, "Action"), "AssumeRoleWithWebIdentity");
  EXPECT_EQ(form_value(body, "Version"), "2011-06-15");
  EXPECT_EQ(form_value(body, "RoleArn"), kRole);
  EXPECT_EQ(form_value(body, "RoleSessionName"), "conveyor-test");
  EXPECT_EQ(form_value(body, "WebIdentityToken"), "eyJhbGciOiJSUzI1NiJ9.first+token/=");

  // Kubernetes rotates the token: the next fetch sends the file's new content.
  write_file(token_file, "rotated-token");
  ASSERT_TRUE(testing::fetch_now(source));
  EXPECT_EQ(form_value(sts.requests().at(1).body, "WebIdentityToken"), "rotated-token");
}

TEST(WebIdentityCredentials, WithoutASessionNameOneIsMadeUp) {
  CredentialsStandIn sts([&](const SeenRequest&, std::size_t) {
    return testing::text_answer(200, testing::sts_answer(kIssued, std::chrono::system_clock::now() + 1h));
  });
  const std::string token_file = testing::temp_path("web-identity-token-2");
  write_file(token_file, "t");
  auto options = options_for(sts, token_file);
  options.session_name.clear();
  WebIdentityCredentials source(options);
  ASSERT_TRUE(testing::fetch_now(source));
  EXPECT_EQ(form_value(sts.requests().at(0).body, "RoleSessionName").rfind("conveyor-", 0), 0u);
}

TEST(WebIdentityCredentials, ARefusalNamesStsCodeAndMessageButNeverTheToken) {
  CredentialsStandIn sts([](const SeenRequest&, std::size_t) {
    return testing::text_answer(
        400,
        "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
        "<Message>Token secret-web-token is expired</Message></Error><RequestId>1</RequestId></ErrorResponse>");
  });
  const std::string token_file = testing::temp_path("web-identity-token-3");
  write_file(token_file, "secret-web-token");
  WebIdentityCredentials source(options_for(sts, token_file));
  const SourceOutcome outcome = testing::fetch_now(source);
  ASSERT_FALSE(outcome);
  EXPECT_TRUE(outcome.error().configured);
  EXPECT_NE(outcome.error().message.find("answered 400: InvalidIdentityToken (Token *** is expired)"), std::string::npos)
      << outcome.error().message;
  EXPECT_EQ(outcome.error().message.find("secret-web-token"), std::string::npos);
}

TEST(WebIdentityCredentials, AnUnreadableTokenFileOrAnIncompleteAnswerFailsClearly) {
  CredentialsStandIn sts([](const SeenRequest&, std::size_t) {
    return testing::text_answer(200, "<Credentials><AccessKeyId>ASIA</AccessKeyId></Credentials>");
  });
  WebIdentityCredentials missing(options_for(sts, testing::temp_path("no-such-token-file")));
  SourceOutcome outcome = testing::fetch_now(missing);
  ASSERT_FALSE(outcome);
  EXPECT_NE(outcome.error().message.find("token file " + testing::temp_path("no-such-token-file") + " cannot be read"),
            std::string::npos)
      << outcome.error().message;
  EXPECT_TRUE(sts.requests().empty());

  const std::string token_file = testing::temp_path("web-identity-token-4");
  write_file(token_file, "t");
  WebIdentityCredentials incomplete(options_for(sts, token_file));
  outcome = testing::fetch_now(incomplete);
  ASSERT_FALSE(outcome);
  EXPECT_NE(outcome.error().message.find("no usable SecretAccessKey"), std::string::npos) << outcome.error().message;
}

TEST(WebIdentityCredentials, XmlElementsAreReadInsideTheirParentWithEntitiesDecoded) {
  constexpr std::string_view xml = "<R><Code>outer</Code><Error><Code>A&amp;B &lt;1&gt;</Code></Error></R>";
  EXPECT_EQ(xml_element(xml, "Code"), "outer");
  EXPECT_EQ(xml_element(xml, "Code", "Error"), "A&B <1>");
  EXPECT_EQ(xml_element(xml, "Message", "Error"), std::nullopt);
  EXPECT_EQ(xml_element(xml, "Code", "Missing"), std::nullopt);
}

}  // namespace
}  // namespace conveyor::aws
