// EC2 instance metadata (IMDSv2): PUT /latest/api/token for a session token
// (X-aws-ec2-metadata-token-ttl-seconds), then with it
// (X-aws-ec2-metadata-token) GET /latest/meta-data/iam/security-credentials/
// for the role's name and .../<role> for its JSON credentials. A short probe:
// 1 s to connect, so a machine off EC2 with nothing configured fails fast.
// IMDSv1 (no token) is not used. fetch() runs on the awaiting executor over
// http::request; one caller at a time.
#pragma once

#include <chrono>
#include <string>

#include "aws/credentials_provider.h"

namespace conveyor::aws {

struct InstanceOptions {
  std::string endpoint = "http://169.254.169.254";  // AWS_EC2_METADATA_SERVICE_ENDPOINT
  bool disabled = false;                            // AWS_EC2_METADATA_DISABLED=true
  std::chrono::milliseconds connect_timeout{1'000};
  std::chrono::milliseconds request_timeout{2'000};  // per request
};

class InstanceCredentials final : public CredentialsSource {
 public:
  explicit InstanceCredentials(InstanceOptions options);
  std::string name() const override { return "EC2 instance metadata"; }
  // Not configured: disabled, nothing answers the token PUT (off EC2) or answers it other than
  // 200 (a proxy, an IMDSv1-only service: IMDSv1 is not used), or no IAM role is attached (404 on
  // the role list). Configured and failed: the role list or the role's credentials unreachable or
  // refused, an answer whose Code is not "Success" or lacks a field.
  boost::asio::awaitable<SourceOutcome> fetch() override;

 private:
  const InstanceOptions options_;
  const std::string base_;  // the endpoint without a trailing '/'
};

}  // namespace conveyor::aws
