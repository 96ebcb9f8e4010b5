// OAuth2TokenSource against the real partner simulator (`conveyor partner
// --oauth-client ID:SECRET`, a child process on a free port): one fetch shared
// by concurrent callers on two threads, refresh before expiry, a fresh token
// after a 401, and errors that name the token URL but never the secret.
#include "auth/oauth2_token.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <set>
#include <span>
#include <thread>
#include <vector>

#include "http/client.h"
#include "support/child_process.h"
#include "support/conveyor_harness.h"

namespace conveyor::auth {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using conveyor::testing::PartnerSimulator;
using conveyor::testing::wait_until;
using Clock = std::chrono::steady_clock;

constexpr auto kBound = 15s;  // no single wait below should come near this
constexpr const char* kSecret = "s3cret-Do-Not-Log";

PartnerSimulator oauth_partner(const std::string& ttl = "3600s") {
  return PartnerSimulator({"--delay", "0ms", "--oauth-client", std::string("carrier-a:") + kSecret, "--token-ttl", ttl});
}

OAuth2Options options_for(const PartnerSimulator& partner, std::string secret = kSecret) {
  OAuth2Options options;
  options.token_url = partner.url("/oauth/token");
  options.client_id = "carrier-a";
  options.client_secret = std::move(secret);
  options.scope = "shipments:write";
  options.request_timeout = 5s;
  return options;
}

// Runs `body` on `io` on this thread until it completes (bounded).
template <class T, class Body>
std::optional<T> run(asio::io_context& io, Body body) {
  std::optional<T> out;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { out.emplace(co_await body()); }, asio::detached);
  io.run_for(kBound);
  return out;
}

TokenOutcome token_of(OAuth2TokenSource& source) {
  asio::io_context io;
  auto out = run<TokenOutcome>(io, [&] { return source.token(); });
  if (!out) return TokenFailure{asio::error::timed_out, "test: token() did not complete"};
  return std::move(*out);
}

// The partner's status for one POST carrying `authorization`.
unsigned post_with(const PartnerSimulator& partner, const std::string& authorization) {
  asio::io_context io;
  http::PartnerClientOptions options;
  options.url = partner.url("/shipments");
  http::PartnerClient client(io.get_executor(), options);
  const std::vector<http::HeaderField> headers = {{"Authorization", authorization}};
  auto out = run<Result<http::PartnerResponse>>(
      io, [&] { return client.post("/shipments/A%2F1", "{}", "key-1", std::span<const http::HeaderField>(headers)); });
  return out && *out ? (*out)->status : 0;
}

TEST(OAuth2TokenSource, ManyConcurrentCallersOnTwoThreadsShareOneFetch) {
  auto partner = oauth_partner();
  OAuth2TokenSource source(options_for(partner));
  constexpr int per_thread = 200;
  std::vector<std::string> tokens[2];
  std::atomic<int> failures{0};
  auto lane = [&](int id) {
    asio::io_context io;  // each lane its own io_context, as in `conveyor work`
    for (int i = 0; i < per_thread; ++i) {
      asio::co_spawn(io, [&, id]() -> asio::awaitable<void> {
        auto outcome = co_await source.token();
        if (!outcome) {
          ++failures;
          co_return;
        }
        tokens[id].push_back((*outcome)->value);  // only this lane's thread appends here
      }, asio::detached);
    }
    io.run_for(kBound);
  };
  std::thread first(lane, 0), second(lane, 1);
  first.join();
  second.join();

  EXPECT_EQ(failures.load(), 0);
  ASSERT_EQ(tokens[0].size() + tokens[1].size(), 2u * per_thread);
  std::set<std::string> distinct(tokens[0].begin(), tokens[0].end());
  distinct.insert(tokens[1].begin(), tokens[1].end());
  EXPECT_EQ(distinct.size(), 1u);
  EXPECT_EQ(source.counters().fetches, 1u);
  EXPECT_EQ(partner.stat("tokens_issued"), 1u);
  EXPECT_EQ(post_with(partner, "Bearer " + *distinct.begin()), 200u);  // and the partner takes it
}

TEST(OAuth2TokenSource, RefreshesBeforeTheTokenExpires) {
  auto partner = oauth_partner("2s");
  OAuth2TokenSource source(options_for(partner));
  const auto first = token_of(source);
  ASSERT_TRUE(first) << first.error().message;
  const TokenPtr old = *first;
  EXPECT_EQ(old->expires_at - old->issued_at, 2s);

  // The background refresh replaces it while it is still valid (at half of a
  // 2 s lifetime), without any caller waiting for it.
  TokenPtr fresh;
  ASSERT_TRUE(wait_until([&] {
    fresh = source.current();
    return fresh && fresh != old;
  }, kBound, 10ms));
  EXPECT_LT(Clock::now(), old->expires_at);
  EXPECT_GE(fresh->issued_at, old->issued_at + 900ms);
  EXPECT_NE(fresh->value, old->value);
  const auto again = token_of(source);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, fresh);
  EXPECT_EQ(post_with(partner, fresh->authorization), 200u);

  // And keeps doing so while it is used: never a moment without a valid token.
  const auto until = Clock::now() + 3s;
  std::set<std::string> seen;
  while (Clock::now() < until) {
    const TokenPtr now = source.current();
    ASSERT_TRUE(now) << "no valid token at some moment";
    seen.insert(now->value);
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_GE(seen.size(), 2u);
  EXPECT_EQ(source.counters().fetch_failures, 0u);
}

TEST(OAuth2TokenSource, InvalidateAfterA401YieldsANewTokenOnce) {
  auto partner = oauth_partner();
  OAuth2TokenSource source(options_for(partner));
  const auto first = token_of(source);
  ASSERT_TRUE(first) << first.error().message;
  const TokenPtr used = *first;

  // A call the partner refuses 401 (here: it does not know the token).
  ASSERT_EQ(post_with(partner, used->authorization + "-revoked"), 401u);
  // Two lanes got that 401 with the same token: one refresh between them.
  std::thread other([&] { source.invalidate(used); });
  source.invalidate(used);
  other.join();
  const auto second = token_of(source);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_NE((*second)->value, used->value);
  EXPECT_EQ(post_with(partner, (*second)->authorization), 200u);  // the retry, once
  EXPECT_EQ(source.counters().fetches, 2u);
  EXPECT_EQ(source.counters().invalidations, 1u);

  // A late invalidate with the old token does not drop the new one.
  source.invalidate(used);
  EXPECT_EQ(source.current(), *second);
  EXPECT_EQ(partner.stat("tokens_issued"), 2u);
}

TEST(OAuth2TokenSource, BadSecretFailsNamingTheTokenUrlButNotTheSecret) {
  auto partner = oauth_partner();
  const std::string wrong = "wrong-Secret-Value";
  auto options = options_for(partner, wrong);
  OAuth2TokenSource source(options);
  const auto outcome = token_of(source);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, TokenError::rejected);
  const std::string& message = outcome.error().message;
  EXPECT_NE(message.find(options.token_url), std::string::npos) << message;
  EXPECT_NE(message.find("401"), std::string::npos) << message;
  EXPECT_NE(message.find("invalid_client"), std::string::npos) << message;
  EXPECT_EQ(message.find(wrong), std::string::npos) << message;
  EXPECT_EQ(message.find(kSecret), std::string::npos) << message;

  // Within the back-off, callers get the same error at once: no new request.
  const auto again = token_of(source);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message, message);
  EXPECT_EQ(source.counters().fetches, 1u);
  EXPECT_EQ(partner.stat("unauthorized"), 1u);
}

TEST(OAuth2TokenSource, UnreachableEndpointNamesTheUrl) {
  OAuth2Options options;
  options.token_url = "http://127.0.0.1:" + std::to_string(conveyor::free_port()) + "/oauth/token";
  options.client_id = "carrier-a";
  options.client_secret = kSecret;
  OAuth2TokenSource source(options);
  const auto outcome = token_of(source);
  ASSERT_FALSE(outcome);
  EXPECT_NE(outcome.error().message.find(options.token_url), std::string::npos) << outcome.error().message;
  EXPECT_EQ(outcome.error().message.find(kSecret), std::string::npos);
}

TEST(OAuth2TokenSource, DestroyingTheSourceEndsAWaitingCallerWithShuttingDown) {
  // A token endpoint that takes the connection and never answers.
  asio::io_context server_io;
  asio::ip::tcp::acceptor silent(server_io, {asio::ip::make_address("127.0.0.1"), 0});
  OAuth2Options options;
  options.token_url = "http://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + "/oauth/token";
  options.client_id = "carrier-a";
  options.client_secret = kSecret;
  options.request_timeout = 60s;  // far past the test's bounds: only the destruction can end the wait
  auto source = std::make_unique<OAuth2TokenSource>(options);

  asio::io_context lane_io;
  std::optional<TokenOutcome> outcome;
  asio::co_spawn(lane_io, [&]() -> asio::awaitable<void> { outcome.emplace(co_await source->token()); },
                 asio::detached);
  std::thread lane([&] { lane_io.run_for(kBound); });
  ASSERT_TRUE(wait_until([&] { return source->counters().fetches == 1; }, kBound));
  source.reset();
  lane.join();
  ASSERT_TRUE(outcome);
  ASSERT_FALSE(*outcome);
  EXPECT_EQ(outcome->error().code, TokenError::shutting_down);
}

TEST(OAuth2TokenSource, SendsClientCredentialsInTheBodyWhenAsked) {
  auto partner = oauth_partner();
  auto options = options_for(partner);
  options.client_auth = OAuth2Options::ClientAuth::body;
  OAuth2TokenSource source(options);
  const auto outcome = token_of(source);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(post_with(partner, (*outcome)->authorization), 200u);
}

TEST(OAuth2TokenSource, BadTokenUrlThrowsWithoutTheSecret) {
  OAuth2Options options;
  options.token_url = "ftp://auth.example/token";
  options.client_id = "carrier-a";
  options.client_secret = kSecret;
  try {
    OAuth2TokenSource source(options);
    ADD_FAILURE() << "accepted an ftp:// token_url";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("token_url"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find(kSecret), std::string::npos);
  }
}

}  // namespace
}  // namespace conveyor::auth
