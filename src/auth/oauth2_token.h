// An OAuth2 client-credentials token source (RFC 6749 §4.4) for one route in
// one process, shared by all its lanes. It owns one background thread with its
// own io_context, which alone fetches tokens (and holds the HTTP client and the
// refresh timer); lanes await token() on their own io_context and are resumed
// there (their handler is posted to their executor). Every member is
// thread-safe. Build it before the lanes and destroy it after they have
// stopped: a token() still waiting then ends with TokenError::shutting_down,
// posted to its lane's executor, whose io_context must still exist.
//
// Fetching: lazily, at the first token() call; concurrent callers (any lane,
// any thread) share that one fetch. Refresh: in the background, before expiry,
// at issue time + max(lifetime/2, min(80 % of lifetime, lifetime - 60 s)):
// 80 % for lifetimes of 5 min and more (48 min of an hour), 60 s before expiry
// between 2 and 5 min, half the lifetime below that. Callers keep getting the
// current token meanwhile, so no lane ever waits for a refresh. A failed
// refresh is tried again after 1, 2, 4 … 30 s while the token lasts; once it
// has expired, token() waits for a fetch and returns its error on failure, and
// after a failed fetch calls within the back-off get that error at once
// instead of hammering the endpoint.
//
// The client secret and every token are never logged and never appear in an
// error message (only the token URL, the HTTP status and the endpoint's
// `error` / `error_description`).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/error.h"

namespace conveyor::auth {

struct OAuth2Options {
  std::string token_url;      // http:// or https://, e.g. https://auth.carrier.example/oauth/token
  std::string client_id;
  std::string client_secret;  // a secret: never logged
  std::string scope;          // optional; sent as `scope` when not empty
  // RFC 6749 §2.3.1: HTTP Basic (the default; id and secret form-encoded
  // first), or `client_id` / `client_secret` in the form body.
  enum class ClientAuth { basic, body } client_auth = ClientAuth::basic;
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds request_timeout{10'000};  // one token request, waiting included
  std::string tls_ca_file;    // as http::PartnerClientOptions
  bool tls_insecure = false;  // tests only
};

// One access token. Shared, immutable; compare by pointer to know whether two
// callers hold the same one.
struct AccessToken {
  std::string value;       // a secret: never logged
  std::string token_type;  // as the endpoint named it; "Bearer" (any case) only
  std::chrono::steady_clock::time_point issued_at;
  std::chrono::steady_clock::time_point expires_at;  // issued_at + expires_in (1 h when absent)
  std::string authorization;                         // "Bearer <value>": the header value to send
};
using TokenPtr = std::shared_ptr<const AccessToken>;

enum class TokenError {
  rejected = 1,   // the endpoint answered non-2xx (e.g. 401 invalid_client)
  bad_response,   // a 2xx without a usable JSON token (no access_token, not Bearer, bad expires_in)
  shutting_down,  // the source was destroyed while the caller waited
};
const boost::system::error_category& token_category() noexcept;
inline error_code make_error_code(TokenError e) noexcept { return {static_cast<int>(e), token_category()}; }

// Why no token: `code` is a TokenError or the transport error exactly as
// http::PartnerClient::post returns it; `message` names the token URL and says
// what went wrong ("token endpoint http://…/oauth/token answered 401:
// invalid_client (bad secret)"), never the secret or a token.
struct TokenFailure {
  error_code code;
  std::string message;
};
[[noreturn]] void throw_exception_from_error(const TokenFailure& failure, const boost::source_location& location);

using TokenOutcome = boost::system::result<TokenPtr, TokenFailure>;

// Monotonic totals, cheap to read from any thread.
struct TokenSourceCounters {
  std::uint64_t fetches = 0;        // token requests sent
  std::uint64_t fetch_failures = 0;
  std::uint64_t invalidations = 0;  // invalidate() calls that dropped the current token
};

class OAuth2TokenSource {
 public:
  // Throws std::invalid_argument for a bad token_url or an empty client_id
  // (naming the URL or key, never the secret), std::runtime_error for TLS
  // settings that cannot be loaded. Starts the background thread; fetches
  // nothing yet.
  explicit OAuth2TokenSource(OAuth2Options options);
  // Stops the thread and abandons a fetch in flight; callers still waiting
  // get TokenError::shutting_down on their own executors.
  ~OAuth2TokenSource();
  OAuth2TokenSource(const OAuth2TokenSource&) = delete;
  OAuth2TokenSource& operator=(const OAuth2TokenSource&) = delete;

  // A token that has not expired. From any thread, on any executor: returns at
  // once with the current token; otherwise waits (bounded by request_timeout)
  // for the one fetch every waiting caller shares, and is resumed on the
  // caller's own executor. A waiting caller is not cancellable: it ends when
  // the fetch ends.
  boost::asio::awaitable<TokenOutcome> token();

  // The current token if it has not expired, else null; never waits, never
  // fetches. For a hot path that only wants to skip the coroutine.
  TokenPtr current() const;

  // The 401 path. The caller got 401 from the partner with `used`: it calls
  // invalidate(used), then `co_await token()` for a fresh one and retries the
  // call ONCE with it; a second 401 is the call's outcome (refused). If `used`
  // is still the current token it is dropped and one fetch starts; if it has
  // already been replaced (another lane got the 401 first), nothing happens,
  // so many lanes hitting 401 together cause one fetch. Thread-safe, never
  // waits.
  void invalidate(const TokenPtr& used);

  TokenSourceCounters counters() const noexcept;
  const std::string& token_url() const noexcept;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace conveyor::auth

template <>
struct boost::system::is_error_code_enum<conveyor::auth::TokenError> : std::true_type {};
