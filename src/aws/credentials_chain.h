// The standard AWS credentials chain, as the SDKs walk it: environment, shared
// profile, web identity (IRSA), ECS container endpoint, EC2 instance metadata.
// The first source that yields wins; a source that does not apply is skipped;
// a source that applies but fails ends the walk (falling through could sign
// with another identity than the one set up, e.g. the EKS node's role instead
// of the pod's). Resolving blocks the caller on a private io_context: start-up
// only, never on a lane. The provider it returns is shared by every client;
// temporary credentials come with their own refresh thread.
#pragma once

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "aws/credentials_provider.h"

namespace conveyor::aws {

// Every input of the chain, as the settings resolved them (see .env.example for each key).
struct ChainSettings {
  std::string region;
  Credentials environment;  // AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
  std::string profile;      // AWS_PROFILE
  std::string shared_credentials_file, config_file;  // AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE
  std::string home;                                  // $HOME, for the shared files' default paths
  std::string web_identity_token_file, role_arn, role_session_name;  // AWS_WEB_IDENTITY_TOKEN_FILE, ...
  std::string sts_endpoint;                                          // AWS_ENDPOINT_URL_STS
  std::string container_relative_uri, container_full_uri;            // AWS_CONTAINER_CREDENTIALS_*
  std::string container_authorization_token;                         // secret
  std::string container_authorization_token_file;
  std::string imds_endpoint;  // AWS_EC2_METADATA_SERVICE_ENDPOINT; empty: http://169.254.169.254
  bool imds_disabled = false;  // AWS_EC2_METADATA_DISABLED
  std::chrono::milliseconds connect_timeout{5'000};  // STS and container (IMDS keeps 1 s)
};

// Thrown by resolve_credentials; the message names every source tried and why each gave nothing,
// never a secret.
class NoCredentialsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The sources in the chain's order; none fetches anything yet.
std::vector<std::unique_ptr<CredentialsSource>> chain_sources(const ChainSettings& settings);

// Walks `sources` in order (blocking) and returns the provider of the first that yields: a
// StaticCredentials for long-term keys, a RefreshingCredentials over that source for temporary
// ones. Throws NoCredentialsError when none yields, or one that applies fails:
//   "no AWS credentials: tried environment (AWS_ACCESS_KEY_ID not set); profile 'default' (...); ..."
//   "AWS credentials from web identity: token file /x cannot be read (...)"
std::shared_ptr<CredentialsProvider> resolve_credentials(std::vector<std::unique_ptr<CredentialsSource>> sources);
inline std::shared_ptr<CredentialsProvider> resolve_credentials(const ChainSettings& settings) {
  return resolve_credentials(chain_sources(settings));
}

}  // namespace conveyor::aws
