// The shared AWS files: ~/.aws/credentials and ~/.aws/config (or
// AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE), profile AWS_PROFILE or
// "default". In the credentials file a profile is [NAME]; in the config file
// [profile NAME], except [default]; the credentials file wins key by key.
// Supported: static keys (aws_access_key_id, aws_secret_access_key, optional
// aws_session_token), and role_arn + web_identity_token_file (+
// role_session_name), fetched through STS as WebIdentityCredentials does.
// Refused with a message naming the key: source_profile, credential_source,
// credential_process and SSO profiles. Both files are read again at each fetch.
// fetch() runs on the awaiting executor; one caller at a time.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "aws/credentials_provider.h"
#include "aws/web_identity_credentials.h"

namespace conveyor::aws {

struct ProfileOptions {
  std::string profile{};  // AWS_PROFILE; empty: "default"
  std::string credentials_file{};  // AWS_SHARED_CREDENTIALS_FILE; empty: <home>/.aws/credentials; "~/" expanded
  std::string config_file{};       // AWS_CONFIG_FILE; empty: <home>/.aws/config; "~/" expanded
  std::string home{};              // $HOME; empty: only explicit absolute paths are read
  WebIdentityOptions web_identity{};  // endpoint, region and timeouts for a role_arn profile
};

// One INI file: section name (as written, trimmed) -> key (lower-cased) -> value (trimmed).
// Comments start with '#' or ';' at a line's start; indented lines (nested settings such as
// "s3 =\n  max_concurrent_requests = 10") are skipped; lines outside a section are ignored.
using IniSections = std::map<std::string, std::map<std::string, std::string>>;
IniSections parse_ini(std::string_view text);

class ProfileCredentials final : public CredentialsSource {
 public:
  explicit ProfileCredentials(ProfileOptions options);
  std::string name() const override;  // "profile 'NAME'"
  // Not configured: neither file has the profile (when AWS_PROFILE was not set), or it holds no
  // credentials keys. Configured and failed: AWS_PROFILE names a profile neither file has; a key
  // id without a secret (or the reverse); an unsupported kind of profile (named); a role_arn
  // profile whose STS exchange fails (as WebIdentityCredentials).
  boost::asio::awaitable<SourceOutcome> fetch() override;

  const std::string& credentials_file() const noexcept { return credentials_file_; }
  const std::string& config_file() const noexcept { return config_file_; }

 private:
  const ProfileOptions options_;
  const std::string profile_;
  const std::string credentials_file_, config_file_;
};

}  // namespace conveyor::aws
