// The shared AWS files: the INI reading, which section a profile is in each file, which file wins,
// the profiles refused, and a role_arn + web_identity_token_file profile through a stand-in STS.
#include "aws/profile_credentials.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/credentials_stand_in.h"
#include "support/temp_path.h"

namespace conveyor::aws {
namespace {

using testing::CredentialsStandIn;
using testing::SeenRequest;
using namespace std::chrono_literals;

// A fake $HOME with .aws/credentials and .aws/config as given (an empty text: no file).
class SharedFiles {
 public:
  SharedFiles(std::string_view credentials, std::string_view config, std::string name = "home")
      : home_(testing::temp_path(name)) {
    std::filesystem::remove_all(home_);
    std::filesystem::create_directories(home_ + "/.aws");
    if (!credentials.empty()) std::ofstream(home_ + "/.aws/credentials") << credentials;
    if (!config.empty()) std::ofstream(home_ + "/.aws/config") << config;
  }
  ~SharedFiles() { std::filesystem::remove_all(home_); }
  const std::string& home() const { return home_; }

 private:
  std::string home_;
};

SourceOutcome fetch_profile(const SharedFiles& files, std::string profile = "") {
  ProfileCredentials source({.profile = std::move(profile), .home = files.home()});
  return testing::fetch_now(source);
}

TEST(ProfileCredentials, IniSectionsKeysAndComments) {
  const IniSections ini = parse_ini(
      "# comment\nstray = 1\n[default]\naws_access_key_id = AKID \n; another\r\n"
      "AWS_Secret_Access_Key=s3cr=t\n[ profile ci ]\ns3 =\n  max_concurrent_requests = 10\nregion=eu-west-1\n");
  ASSERT_EQ(ini.size(), 2u);
  EXPECT_EQ(ini.at("default").at("aws_access_key_id"), "AKID");
  EXPECT_EQ(ini.at("default").at("aws_secret_access_key"), "s3cr=t");
  EXPECT_EQ(ini.at("profile ci").at("region"), "eu-west-1");
  EXPECT_EQ(ini.at("profile ci").count("max_concurrent_requests"), 0u);
}

TEST(ProfileCredentials, DefaultProfileFromTheCredentialsFile) {
  SharedFiles files("[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = default-secret\n", "");
  const SourceOutcome outcome = fetch_profile(files);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->credentials.access_key_id, "AKIDDEFAULT");
  EXPECT_EQ(outcome->credentials.secret_access_key, "default-secret");
  EXPECT_EQ(outcome->credentials.session_token, "");
  EXPECT_FALSE(outcome->expiration);
}

TEST(ProfileCredentials, ANamedProfileIsProfileNameInTheConfigFileAndTheCredentialsFileWins) {
  SharedFiles files("[ci]\naws_secret_access_key = from-credentials\n",
                    "[ci]\naws_access_key_id = WRONGSECTION\n"
                    "[profile ci]\naws_access_key_id = AKIDCI\naws_secret_access_key = from-config\n"
                    "aws_session_token = ci-session\n");
  const SourceOutcome outcome = fetch_profile(files, "ci");
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->credentials.access_key_id, "AKIDCI");
  EXPECT_EQ(outcome->credentials.secret_access_key, "from-credentials");
  EXPECT_EQ(outcome->credentials.session_token, "ci-session");
}

TEST(ProfileCredentials, ExplicitFilePathsAreRead) {
  SharedFiles files("", "", "elsewhere");
  const std::string credentials = files.home() + "/my-credentials";
  std::ofstream(credentials) << "[default]\naws_access_key_id=AKIDFILE\naws_secret_access_key=x\n";
  ProfileCredentials source({.credentials_file = credentials, .home = "/nonexistent"});
  const SourceOutcome outcome = testing::fetch_now(source);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->credentials.access_key_id, "AKIDFILE");
}

TEST(ProfileCredentials, AMissingProfileIsSkippedUnlessNamed) {
  SharedFiles files("[other]\naws_access_key_id=A\naws_secret_access_key=B\n", "[default]\nregion=eu-west-1\n");
  SourceOutcome outcome = fetch_profile(files);
  ASSERT_FALSE(outcome);
  EXPECT_FALSE(outcome.error().configured);
  EXPECT_EQ(outcome.error().message, "holds no credentials");

  outcome = fetch_profile(files, "typo");
  ASSERT_FALSE(outcome);
  EXPECT_TRUE(outcome.error().configured);
  EXPECT_EQ(outcome.error().message.rfind("not found in " + files.home() + "/.aws/credentials or ", 0), 0u)
      << outcome.error().message;
}

TEST(ProfileCredentials, UnsupportedProfilesAreRefusedNamingTheKey) {
  SharedFiles files("", "[profile chained]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = default\n"
                        "[profile process]\ncredential_process = /bin/creds\n");
  SourceOutcome outcome = fetch_profile(files, "chained");
  ASSERT_FALSE(outcome);
  EXPECT_TRUE(outcome.error().configured);
  EXPECT_EQ(outcome.error().message.rfind("source_profile is not supported", 0), 0u) << outcome.error().message;
  outcome = fetch_profile(files, "process");
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().message.rfind("credential_process is not supported", 0), 0u) << outcome.error().message;
}

TEST(ProfileCredentials, HalfAKeyPairIsAnError) {
  SharedFiles files("[default]\naws_access_key_id = AKIDONLY\n", "");
  const SourceOutcome outcome = fetch_profile(files);
  ASSERT_FALSE(outcome);
  EXPECT_TRUE(outcome.error().configured);
  EXPECT_EQ(outcome.error().message, "aws_access_key_id is set without aws_secret_access_key");
}

TEST(ProfileCredentials, ARoleArnWithAWebIdentityTokenFileGoesThroughSts) {
  const Credentials issued{"ASIAPROFILE", "profile/secret", "profile-session"};
  CredentialsStandIn sts([&](const SeenRequest&, std::size_t) {
    return testing::text_answer(200, testing::sts_answer(issued, std::chrono::system_clock::now() + 1h));
  });
  SharedFiles files("", "[profile irsa]\nrole_arn = arn:aws:iam::1:role/irsa\n"
                        "web_identity_token_file = ~/token\nrole_session_name = from-profile\n");
  std::ofstream(files.home() + "/token") << "profile-web-token";
  ProfileCredentials source({.profile = "irsa", .home = files.home(), .web_identity = {.sts_endpoint = sts.url()}});
  const SourceOutcome outcome = testing::fetch_now(source);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->credentials.access_key_id, "ASIAPROFILE");
  EXPECT_TRUE(outcome->expiration);
  const auto requests = sts.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_NE(requests[0].body.find("RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Firsa"), std::string::npos);
  EXPECT_NE(requests[0].body.find("RoleSessionName=from-profile"), std::string::npos);
  EXPECT_NE(requests[0].body.find("WebIdentityToken=profile-web-token"), std::string::npos);
}

}  // namespace
}  // namespace conveyor::aws
