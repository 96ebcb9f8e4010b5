// ECS container credentials (and EKS Pod Identity, which uses the same
// protocol): a GET to the agent's endpoint, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
// appended to http://169.254.170.2, or AWS_CONTAINER_CREDENTIALS_FULL_URI, with
// AWS_CONTAINER_AUTHORIZATION_TOKEN (or the token read from
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE at each fetch) as the Authorization
// header; a JSON answer {AccessKeyId, SecretAccessKey, Token, Expiration}.
// fetch() runs on the awaiting executor over http::request; one caller at a time.
#pragma once

#include <chrono>
#include <string>

#include "aws/credentials_provider.h"

namespace conveyor::aws {

struct ContainerOptions {
  std::string relative_uri{};              // AWS_CONTAINER_CREDENTIALS_RELATIVE_URI; wins over full_uri
  std::string full_uri{};                  // AWS_CONTAINER_CREDENTIALS_FULL_URI
  std::string authorization_token{};       // secret: never logged
  std::string authorization_token_file{};  // wins over authorization_token
  std::chrono::milliseconds connect_timeout{2'000};
  std::chrono::milliseconds request_timeout{5'000};
};

class ContainerCredentials final : public CredentialsSource {
 public:
  explicit ContainerCredentials(ContainerOptions options);
  std::string name() const override { return "container endpoint"; }
  // Not configured when neither URI is set. Configured and failed, naming the URL: a FULL_URI that
  // is https (not supported) or plain http to a host other than loopback or the ECS / EKS agent
  // addresses (169.254.170.2, 169.254.170.23, fd00:ec2::23; the SDKs refuse to send the token
  // elsewhere), an unreadable token file, the endpoint unreachable, a non-2xx answer (its Code and
  // Message quoted, never the token), an answer without the four fields.
  boost::asio::awaitable<SourceOutcome> fetch() override;

  const std::string& url() const noexcept { return url_; }

 private:
  const ContainerOptions options_;
  const std::string url_;
};

}  // namespace conveyor::aws
