// A stand-in for AWS's credential endpoints (STS, the ECS/EKS container agent, EC2 instance
// metadata): a real http::Server on a free port of 127.0.0.1, its own thread, answering as the
// test scripts and recording every request. Plus helpers to write the answers AWS gives.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "aws/credentials_provider.h"
#include "http/server.h"

namespace conveyor::testing {

struct SeenRequest {
  std::string method, target, body;
  std::map<std::string, std::string> headers;  // only those named in CredentialsStandIn::recorded_headers
};

class CredentialsStandIn {
 public:
  static constexpr std::string_view recorded_headers[] = {
      "Authorization", "Content-Type", "Accept", "X-aws-ec2-metadata-token", "X-aws-ec2-metadata-token-ttl-seconds"};
  // Called on the server's thread, in arrival order, with the requests seen before it included.
  using Answer = std::function<http::ServerResponse(const SeenRequest& request, std::size_t index)>;

  explicit CredentialsStandIn(Answer answer);
  ~CredentialsStandIn();

  std::string url(std::string_view path = "") const;  // http://127.0.0.1:PORT<path>
  std::vector<SeenRequest> requests() const;
  // Waits until `count` requests have arrived, at most `limit`; false if they did not.
  bool wait_for(std::size_t count, std::chrono::milliseconds limit) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

http::ServerResponse json_answer(unsigned status, std::string body);
http::ServerResponse text_answer(unsigned status, std::string body);

// Expiration as AWS writes it: "2026-11-30T09:00:00Z".
std::string iso8601(std::chrono::system_clock::time_point time);
// The JSON the container agent and IMDS answer with (IMDS adds "Code": "Success").
std::string credentials_json(const aws::Credentials& credentials, std::chrono::system_clock::time_point expiration,
                             bool imds = false);
// One fetch of `source` to its end on a private io_context (bounded by 30 s: a hang fails).
aws::SourceOutcome fetch_now(aws::CredentialsSource& source);

// Whether `outcome` holds exactly `issued`, expiring at `expires` (within 2 s: AWS writes whole seconds).
::testing::AssertionResult yields(const aws::SourceOutcome& outcome, const aws::Credentials& issued,
                                  std::chrono::system_clock::time_point expires);

// STS's AssumeRoleWithWebIdentity answer.
std::string sts_answer(const aws::Credentials& credentials, std::chrono::system_clock::time_point expiration);

}  // namespace conveyor::testing
