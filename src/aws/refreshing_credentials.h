// Temporary AWS credentials kept fresh: a provider over one CredentialsSource
// (web identity, container, instance metadata) that refetches before the
// current set expires. It owns one background thread with its own io_context,
// which alone calls the source's fetch() and holds the refresh timer; lanes
// read current() from any thread and never wait for a refresh (as
// auth::OAuth2TokenSource does for OAuth2 tokens). Build it with the set the
// chain fetched at start; destroy it from any thread but its own (it joins it).
//
// Refresh timing (the SDKs' "a few minutes before Expiration"): at fetch time
// + max(lifetime / 2, lifetime - 5 min), lifetime counted from the fetch to
// Expiration: 5 minutes before an hour-long STS set expires, half-way through a
// set of a few seconds. A failed refresh is logged (source and reason, never a
// secret) and tried again after 1, 2, 4 … 30 s, while the old set is still
// handed out; once it has expired current() is null (sqs::Client then fails
// the call with SqsError::no_credentials, retried like a transport error) and
// the retries go on until a fetch succeeds.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "aws/credentials_provider.h"

namespace conveyor::aws {

struct RefreshCounters {
  std::uint64_t refreshes = 0;  // successful fetches after the first
  std::uint64_t failures = 0;   // failed fetches
};

class RefreshingCredentials final : public CredentialsProvider {
 public:
  // `first` must carry an expiration. Starts the thread and schedules the first refresh.
  RefreshingCredentials(std::unique_ptr<CredentialsSource> source, TimedCredentials first);
  // Stops the thread; a fetch in flight is abandoned.
  ~RefreshingCredentials() override;
  RefreshingCredentials(const RefreshingCredentials&) = delete;
  RefreshingCredentials& operator=(const RefreshingCredentials&) = delete;

  CredentialsPtr current() const override;
  const std::string& source() const override;
  RefreshCounters counters() const noexcept;

  // When the next refresh is due, from `lifetime` (fetch to Expiration). Exposed for tests.
  static std::chrono::steady_clock::duration refresh_after(std::chrono::steady_clock::duration lifetime);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace conveyor::aws
