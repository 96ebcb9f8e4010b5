// The first source of the chain: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN as the settings resolved them (.env, environment, flags).
// Owns copies of the keys; fetch() completes at once, from any executor.
#pragma once

#include <string>

#include "aws/credentials_provider.h"

namespace conveyor::aws {

class EnvironmentCredentials final : public CredentialsSource {
 public:
  explicit EnvironmentCredentials(Credentials keys) : keys_(std::move(keys)) {}
  std::string name() const override { return "environment"; }
  // The keys, with no expiration (they are never refreshed: a session token given this way is
  // the operator's to renew). Not configured when AWS_ACCESS_KEY_ID is empty; configured and
  // failed when only one of the key id and the secret is set.
  boost::asio::awaitable<SourceOutcome> fetch() override;

 private:
  const Credentials keys_;
};

}  // namespace conveyor::aws
