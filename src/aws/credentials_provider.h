// Where SQS's signing keys come from: a CredentialsSource fetches one set
// (environment, shared profile, STS web identity, ECS container, EC2 instance
// metadata) and a CredentialsProvider hands the current set to every signer.
// A provider is shared (std::shared_ptr) by every lane's sqs::Client and by the
// start-up lookups; current() may be called from any thread, never waits and
// never fetches. A source's fetch() runs on whatever executor awaits it and is
// used by one caller at a time (the chain at start, then the refresh thread).
// Nothing here logs or formats a secret: a failure message names the source,
// its file or URL and the status, never a key, token or file content.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "aws/sigv4.h"

namespace conveyor::aws {

using CredentialsPtr = std::shared_ptr<const Credentials>;

// One fetch's answer.
struct TimedCredentials {
  Credentials credentials;
  // When AWS stops accepting them; nullopt for long-term keys, which are never refreshed.
  std::optional<std::chrono::system_clock::time_point> expiration;
};

// Why a source gave nothing.
struct SourceFailure {
  // False: the source does not apply here (its keys are unset, no such profile, no metadata
  // service answered): the chain tries the next one. True: it applies and failed (a token file
  // unreadable, STS refused, an endpoint answered an error): the chain stops there, for falling
  // through would sign with other credentials than the operator set up (on EKS, the node's role
  // instead of the pod's).
  bool configured = false;
  // Why, without the source's name (callers prefix it), e.g. "token file /var/run/… cannot be read
  // (No such file or directory)".
  std::string message;
};
[[noreturn]] void throw_exception_from_error(const SourceFailure& failure, const boost::source_location& location);

using SourceOutcome = boost::system::result<TimedCredentials, SourceFailure>;

class CredentialsSource {
 public:
  virtual ~CredentialsSource() = default;
  // For messages: "environment", "profile 'ci' (shared files)", "web identity", ...
  virtual std::string name() const = 0;
  // Fetches one set, on the awaiting coroutine's executor, within the source's own deadlines;
  // never throws. Files are read again at each call (tokens rotate).
  virtual boost::asio::awaitable<SourceOutcome> fetch() = 0;
};

class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  // The credentials to sign with now, or null once they have expired without a successful
  // refresh. Any thread; a lock held for a pointer copy, never a wait.
  virtual CredentialsPtr current() const = 0;
  // The name of the source they come from, for the start-up log.
  virtual const std::string& source() const = 0;
};

// Long-term keys: current() is always the same set.
class StaticCredentials final : public CredentialsProvider {
 public:
  StaticCredentials(Credentials credentials, std::string source)
      : credentials_(std::make_shared<const Credentials>(std::move(credentials))), source_(std::move(source)) {}
  CredentialsPtr current() const override { return credentials_; }
  const std::string& source() const override { return source_; }

 private:
  const CredentialsPtr credentials_;
  const std::string source_;
};

// An ISO 8601 UTC time as AWS writes an Expiration: "2026-11-30T09:00:00Z", optionally with a
// fraction (".123Z") or a "+00:00" offset. nullopt for anything else.
std::optional<std::chrono::system_clock::time_point> parse_expiration(std::string_view text);

// The three fields every temporary-credentials answer carries, checked: `what` names the answer
// in the failure ("STS https://…"); the secrets are never quoted. A missing or
// unparsable Expiration fails, as does a value with spaces or control bytes.
SourceOutcome temporary_credentials(std::string_view access_key_id, std::string_view secret_access_key,
                                    std::string_view session_token, std::string_view expiration,
                                    const std::string& what);

}  // namespace conveyor::aws
