// The partner simulator's OAuth2 side (`conveyor partner --oauth-client ID:SECRET`):
// issues random opaque bearer tokens at POST /oauth/token to a client that
// proves ID and SECRET (client credentials grant, HTTP Basic or form fields),
// and checks the bearer token of every other POST. Any server thread may call
// it: the live tokens sit behind one mutex, the counters are atomics.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "http/server.h"

namespace conveyor::partner {

class TokenIssuer {
 public:
  // `client` is "ID:SECRET" (split at the first colon); `ttl` is each token's
  // lifetime (expires_in). Throws std::invalid_argument for an empty ID or
  // secret, no colon, or a ttl under 1 s (never quoting the secret).
  TokenIssuer(std::string_view client, std::chrono::seconds ttl);

  // Answers POST /oauth/token: 200 {"access_token","token_type":"Bearer",
  // "expires_in"}; 401 {"error":"invalid_client"} for missing or wrong client
  // credentials; 400 {"error":"unsupported_grant_type"} for another grant.
  http::ServerResponse issue(const http::ServerRequest& request);
  // True if `authorization` is "Bearer <a token issued and not expired>";
  // false counts one unauthorized request.
  bool authorized(std::string_view authorization);
  // The 401 an API call without a live token gets.
  static http::ServerResponse refusal();

  std::uint64_t tokens_issued() const { return issued_.load(std::memory_order_relaxed); }
  // 401s answered: API calls without a live token and token requests with bad credentials.
  std::uint64_t unauthorized() const { return unauthorized_.load(std::memory_order_relaxed); }

 private:
  using Clock = std::chrono::steady_clock;

  std::string client_id_;
  std::string client_secret_;
  std::chrono::seconds ttl_;
  std::mutex mutex_;
  std::unordered_map<std::string, Clock::time_point> live_;  // token -> expiry
  std::atomic<std::uint64_t> issued_{0};
  std::atomic<std::uint64_t> unauthorized_{0};
};

}  // namespace conveyor::partner
