#include "aws/environment_credentials.h"

namespace conveyor::aws {

boost::asio::awaitable<SourceOutcome> EnvironmentCredentials::fetch() {
  if (keys_.access_key_id.empty() && keys_.secret_access_key.empty()) {
    co_return SourceFailure{false, "AWS_ACCESS_KEY_ID not set"};
  }
  if (keys_.secret_access_key.empty()) {
    co_return SourceFailure{true, "AWS_ACCESS_KEY_ID is set without AWS_SECRET_ACCESS_KEY"};
  }
  if (keys_.access_key_id.empty()) {
    co_return SourceFailure{true, "AWS_SECRET_ACCESS_KEY is set without AWS_ACCESS_KEY_ID"};
  }
  co_return TimedCredentials{keys_, std::nullopt};
}

}  // namespace conveyor::aws
