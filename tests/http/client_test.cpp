// PartnerClient against a real (small, in-test) HTTP/1.1 server on 127.0.0.1:
// exact bytes on the wire, keep-alive reuse and its failure modes, limits,
// timeouts, and TLS verification with a certificate made at test time.
#include "http/client.h"
#include "http/client_error.h"

#include <gtest/gtest.h>

#include "http/test_partner.h"

namespace {

using namespace conveyor::http_test;

// ---------------------------------------------------------------------------

TEST(PartnerClientTest, ParsesTargets) {
  auto plain = conveyor::http::parse_target("http://partner.example");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->tls);
  EXPECT_EQ(plain->host, "partner.example");
  EXPECT_FALSE(plain->host_is_ip);
  EXPECT_EQ(plain->port, 80);
  EXPECT_EQ(plain->host_header, "partner.example");
  EXPECT_EQ(plain->request_target, "/");

  auto secure = conveyor::http::parse_target("https://[::1]:8443/v1/in%20box?a=1&b=%2F#frag");
  ASSERT_TRUE(secure);
  EXPECT_TRUE(secure->tls);
  EXPECT_EQ(secure->host, "::1");
  EXPECT_TRUE(secure->host_is_ip);
  EXPECT_EQ(secure->port, 8443);
  EXPECT_EQ(secure->host_header, "[::1]:8443");
  EXPECT_EQ(secure->request_target, "/v1/in%20box?a=1&b=%2F");
  EXPECT_EQ(conveyor::http::parse_target("https://p.example")->port, 443);

  for (const char* bad :
       {"ftp://partner.example/", "partner.example/x", "http://u:p@partner.example/",
        "http://partner.example:99999/", "http:///nohost", ""}) {
    std::string why;
    auto parsed = conveyor::http::parse_target(bad, &why);
    EXPECT_FALSE(parsed) << bad;
    if (!parsed) {
      EXPECT_EQ(parsed.error(), conveyor::Error::bad_url) << bad;
    }
    EXPECT_FALSE(why.empty()) << bad;
  }
}

TEST(PartnerClientTest, RejectsOtherSchemesAtConstruction) {
  asio::io_context io;
  try {
    PartnerClient client(io.get_executor(), options_for("ftp://127.0.0.1/upload"));
    ADD_FAILURE() << "constructed a client for ftp://";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("scheme \"ftp\""), std::string::npos) << e.what();
  }
  auto options = options_for("http://127.0.0.1/");
  options.headers = {{"Authorization", "Bearer secret\r\nX-Evil: 1"}};
  try {
    PartnerClient client(io.get_executor(), options);
    ADD_FAILURE() << "accepted a header value with CRLF";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << "leaked a header value";
  }
  options.headers = {{"content-length", "3"}};
  EXPECT_THROW(PartnerClient(io.get_executor(), options), std::invalid_argument);
}

TEST(PartnerClientTest, SendsBodyAndHeadersExactly) {
  TestServer server({.status = 202, .body = R"({"accepted":1})"});
  asio::io_context io;
  auto options = options_for(server.url("/v1/messages?tenant=a%20b&x=1"));
  options.headers = {{"Authorization", "Bearer s3cret"}};
  PartnerClient client(io.get_executor(), options);

  // Bytes a re-serialising client might "fix": spacing, escapes, raw UTF-8,
  // CRLF and a trailing newline.
  const std::string body = "{ \"a\" : \"caf\xC3\xA9 \\u00e9\",\r\n\"n\":1.50, \"e\":[] }\n";
  auto result = post_once(io, client, body, "msg-0001");
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->status, 202u);
  EXPECT_EQ(result->body_prefix, R"({"accepted":1})");
  EXPECT_EQ(result->retry_after, "");

  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/v1/messages?tenant=a%20b&x=1");
  EXPECT_EQ(seen[0].host, "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(seen[0].content_type, "application/json");
  EXPECT_EQ(seen[0].content_length, std::to_string(body.size()));
  EXPECT_EQ(seen[0].idempotency_key, "msg-0001");
  EXPECT_EQ(seen[0].authorization, "Bearer s3cret");
  EXPECT_EQ(seen[0].body, body);
}

// A body larger than the socket's send buffer: the first, non-blocking send takes part of it and
// the rest goes out asynchronously, byte for byte, on the same connection as later small posts.
TEST(PartnerClientTest, SendsABodyLargerThanTheSocketBufferWhole) {
  TestServer server({.status = 200});
  asio::io_context io;
  PartnerClient client(io.get_executor(), options_for(server.url("/big")));
  std::string body(24 * 1024 * 1024, '\0');  // past the largest loopback send buffer (4 MiB)
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + (i * 7919) % 26);
  for (const std::string& sent : {body, std::string("{}"), body}) {
    auto result = post_once(io, client, sent, "big-1");
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_EQ(result->status, 200u);
  }
  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_TRUE(seen[0].body == body) << "the first large body arrived changed (" << seen[0].body.size() << " bytes)";
  EXPECT_EQ(seen[1].body, "{}");
  EXPECT_TRUE(seen[2].body == body) << "the second large body arrived changed (" << seen[2].body.size() << " bytes)";
  EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST(PartnerClientTest, SendsPerRequestHeadersAndKeepsWholeBodiesWhenAsked) {
  const std::string big(20'000, 'x');
  TestServer server({.status = 200, .body = big});
  asio::io_context io;
  auto options = options_for(server.url("/"));
  options.content_type = "application/x-amz-json-1.0";
  options.keep_body = 1 << 20;
  PartnerClient client(io.get_executor(), options);

  const std::vector<conveyor::http::HeaderField> headers = {{"X-Amz-Target", "AmazonSQS.ReceiveMessage"},
                                            {"Authorization", "AWS4-HMAC-SHA256 Credential=..."}};
  std::optional<Result<PartnerResponse>> result;
  spawn(io, [&]() -> asio::awaitable<void> { result.emplace(co_await client.post("{}", headers)); });
  ASSERT_TRUE(run(io));
  ASSERT_TRUE(result && *result) << (result ? result->error().message() : "no result");
  EXPECT_EQ((*result)->body_prefix, big);  // whole, not the default 512-byte prefix

  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].content_type, "application/x-amz-json-1.0");
  EXPECT_EQ(seen[0].authorization, "AWS4-HMAC-SHA256 Credential=...");
  EXPECT_EQ(seen[0].idempotency_key, "");  // replaced by the per-request headers

  // A header that would inject a line is refused, not sent.
  const std::vector<conveyor::http::HeaderField> bad = {{"X-Amz-Target", "a\r\nEvil: 1"}};
  result.reset();
  spawn(io, [&]() -> asio::awaitable<void> { result.emplace(co_await client.post("{}", bad)); });
  ASSERT_TRUE(run(io));
  ASSERT_TRUE(result);
  EXPECT_FALSE(*result);
  EXPECT_EQ(server.requests().size(), 1u);
}

// The 4-argument post: a per-request target and headers on the client's origin.
Result<PartnerResponse> post_to(asio::io_context& io, PartnerClient& client, std::string_view target,
                                std::string_view key, std::span<const conveyor::http::HeaderField> headers) {
  std::optional<Result<PartnerResponse>> result;
  spawn(io, [&]() -> asio::awaitable<void> { result.emplace(co_await client.post(target, "{}", key, headers)); });
  if (!run(io) || !result) {
    ADD_FAILURE() << "post did not complete within " << run_limit.count() << "s";
    return error_code(asio::error::timed_out);
  }
  return std::move(*result);
}

TEST(PartnerClientTest, PostsToPerRequestTargetsWithExtraHeadersOverOnePool) {
  TestServer server({});
  asio::io_context io;
  auto options = options_for(server.url("/v1/default?tenant=a"));
  options.headers = {{"X-Api-Key", "static"}};
  PartnerClient client(io.get_executor(), options);

  const std::vector<conveyor::http::HeaderField> bearer = {{"Authorization", "Bearer tok-1"},
                                                           {"X-Trace", "t1"}};
  auto routed = post_to(io, client, "/v2/shipments/A%2F1?ref=x&n=%C3%A9", "m-1", bearer);
  ASSERT_TRUE(routed) << routed.error().message();
  EXPECT_EQ(routed->status, 200u);
  auto defaulted = post_to(io, client, "", "m-2", {});  // empty target: the URL's own
  ASSERT_TRUE(defaulted) << defaulted.error().message();
  auto plain = post_once(io, client, "{}", "m-3");
  ASSERT_TRUE(plain) << plain.error().message();

  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].target, "/v2/shipments/A%2F1?ref=x&n=%C3%A9");  // byte for byte, not re-encoded
  EXPECT_EQ(seen[0].idempotency_key, "m-1");
  EXPECT_EQ(seen[0].authorization, "Bearer tok-1");
  EXPECT_EQ(seen[0].host, "127.0.0.1:" + std::to_string(server.port()));  // the origin stays the URL's
  EXPECT_EQ(seen[0].content_type, "application/json");
  EXPECT_EQ(seen[0].content_length, "2");
  EXPECT_EQ(seen[1].target, "/v1/default?tenant=a");
  EXPECT_EQ(seen[1].idempotency_key, "m-2");
  EXPECT_EQ(seen[1].authorization, "");  // per-request headers do not stick to the connection
  EXPECT_EQ(seen[2].target, "/v1/default?tenant=a");
  EXPECT_EQ(seen[2].idempotency_key, "m-3");
  EXPECT_EQ(server.connections_accepted(), 1u);  // one pool for every target
  EXPECT_EQ(client.counters().connections_reused, 2u);
}

TEST(PartnerClientTest, RejectsBadTargetsAndHeadersBeforeAnyIo) {
  TestServer server({});
  asio::io_context io;
  PartnerClient client(io.get_executor(), options_for(server.url("/")));
  const std::vector<conveyor::http::HeaderField> none;
  for (std::string_view bad : {"v2/x", "/a b", "/a\r\nX-Evil: 1", "/a#frag", "/a%zz", "/caf\xC3\xA9",
                               "http://evil.example/x", "*", "/a\x7f"}) {
    auto result = post_to(io, client, bad, "k", none);
    ASSERT_FALSE(result) << bad;
    EXPECT_EQ(result.error(), boost::system::errc::invalid_argument) << bad;
  }
  const std::vector<std::vector<conveyor::http::HeaderField>> bad_headers = {
      {{"Authorization", "Bearer a\r\nX-Evil: 1"}},
      {{"Bad Name", "v"}},
      {{"host", "evil.example"}},
      {{"Idempotency-Key", "other"}},
      {{"Content-Length", "0"}}};
  for (const auto& headers : bad_headers) {
    auto result = post_to(io, client, "/ok", "k", headers);
    ASSERT_FALSE(result) << headers[0].name;
    EXPECT_EQ(result.error(), boost::system::errc::invalid_argument) << headers[0].name;
  }
  const std::vector<conveyor::http::HeaderField> bearer = {{"Authorization", "Bearer t"}};
  auto keyless = post_to(io, client, "/ok", "", bearer);  // the key is required here
  ASSERT_FALSE(keyless);
  EXPECT_EQ(keyless.error(), boost::system::errc::invalid_argument);
  EXPECT_EQ(server.connections_accepted(), 0u);
}

TEST(PartnerClientTest, ResolvesHostNames) {
  TestServer server({.after = Behaviour::After::send_connection_close});
  asio::io_context io;
  const std::string port = std::to_string(server.port());
  PartnerClient client(io.get_executor(), options_for("http://localhost:" + port + "/x"));
  for (int i = 0; i < 2; ++i) {  // the second connect uses the cached addresses
    auto result = post_once(io, client, "{}", "k");
    ASSERT_TRUE(result) << result.error().message();
  }
  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].host, "localhost:" + port);
}

TEST(PartnerClientTest, ReusesOneConnectionForSequentialPosts) {
  TestServer server({});
  asio::io_context io;
  PartnerClient client(io.get_executor(), options_for(server.url("/in")));

  int succeeded = 0;
  spawn(io, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 100; ++i) {
      const std::string key = "key-" + std::to_string(i);
      auto result = co_await client.post(R"({"i":1})", key);
      if (result && result->status == 200) ++succeeded;
    }
  });
  ASSERT_TRUE(run(io));
  EXPECT_EQ(succeeded, 100);
  EXPECT_EQ(server.connections_accepted(), 1u);
  const auto counters = client.counters();
  EXPECT_EQ(counters.connections_opened, 1u);
  EXPECT_EQ(counters.connections_open, 1u);
  EXPECT_EQ(counters.connections_reused, 99u);
  EXPECT_EQ(counters.stale_retries, 0u);
  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 100u);
  EXPECT_EQ(seen[99].idempotency_key, "key-99");
}

TEST(PartnerClientTest, RetriesOnceWhenServerClosedIdleConnection) {
  TestServer server({.after = Behaviour::After::close_silently});
  asio::io_context io;
  PartnerClient client(io.get_executor(), options_for(server.url()));

  for (int i = 1; i <= 3; ++i) {
    auto result = post_once(io, client, "{}", "k" + std::to_string(i));
    ASSERT_TRUE(result) << "post " << i << ": " << result.error().message();
    EXPECT_EQ(result->status, 200u);
    // Once the server has closed its side, the pooled connection is stale.
    ASSERT_TRUE(eventually([&] { return server.connections_open() == 0; }));
  }
  const auto counters = client.counters();
  EXPECT_EQ(counters.stale_retries, 2u);  // posts 2 and 3 each found a dead idle connection
  EXPECT_EQ(server.connections_accepted(), 3u);
  // The stale attempts may or may not have reached the server; the retries did.
  EXPECT_GE(server.requests().size(), 3u);
}

TEST(PartnerClientTest, HonoursConnectionClose) {
  TestServer server({.after = Behaviour::After::send_connection_close});
  asio::io_context io;
  PartnerClient client(io.get_executor(), options_for(server.url()));

  for (int i = 0; i < 3; ++i) {
    auto result = post_once(io, client, "{}", "k");
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_EQ(client.counters().connections_open, 0u);
  }
  EXPECT_EQ(server.connections_accepted(), 3u);
  EXPECT_EQ(client.counters().stale_retries, 0u);
  EXPECT_EQ(client.counters().connections_reused, 0u);
}

TEST(PartnerClientTest, ReturnsNon2xxWithBodyPrefixAndRetryAfter) {
  std::string long_body;
  for (int i = 0; long_body.size() < 1000; ++i) long_body += std::to_string(i) + ",";
  for (bool chunked : {false, true}) {
    SCOPED_TRACE(chunked ? "chunked" : "content-length");
    TestServer server({.status = 503,
                       .body = long_body,
                       .headers = {{"Retry-After", "120"}},
                       .chunked = chunked});
    asio::io_context io;
    PartnerClient client(io.get_executor(), options_for(server.url()));
    for (int i = 0; i < 2; ++i) {  // and the connection stays usable
      auto result = post_once(io, client, "{}", "k");
      ASSERT_TRUE(result) << result.error().message();
      EXPECT_EQ(result->status, 503u);
      EXPECT_EQ(result->body_prefix, long_body.substr(0, PartnerResponse::body_prefix_limit));
      EXPECT_EQ(result->retry_after, "120");
    }
    EXPECT_EQ(server.connections_accepted(), 1u);
  }
}

TEST(PartnerClientTest, OversizedOrMalformedResponseIsAnError) {
  {
    TestServer server({.body = std::string(4096, 'x')});
    asio::io_context io;
    auto options = options_for(server.url());
    options.max_response_body = 1024;
    PartnerClient client(io.get_executor(), options);
    auto result = post_once(io, client, "{}", "k");
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), conveyor::http::ClientError::response_too_large);  // not malformed
    EXPECT_EQ(client.counters().connections_open, 0u);
  }
  {
    TestServer server({.raw_reply = "HTTP/1.1 OK maybe\r\n\r\n"});
    asio::io_context io;
    PartnerClient client(io.get_executor(), options_for(server.url()));
    auto result = post_once(io, client, "{}", "k");
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), conveyor::Error::http_protocol);
  }
}

TEST(PartnerClientTest, RejectsKeyThatWouldInjectHeaders) {
  TestServer server({});
  asio::io_context io;
  PartnerClient client(io.get_executor(), options_for(server.url()));
  auto result = post_once(io, client, "{}", "k\r\nX-Evil: 1");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), boost::system::errc::invalid_argument);
  EXPECT_EQ(server.connections_accepted(), 0u);
}

TEST(PartnerClientTest, TimesOutWhenServerNeverAnswers) {
  TestServer server({.after = Behaviour::After::never_answer});
  asio::io_context io;
  auto options = options_for(server.url());
  options.request_timeout = 300ms;
  PartnerClient client(io.get_executor(), options);

  const auto start = std::chrono::steady_clock::now();
  auto result = post_once(io, client, "{}", "k");
  EXPECT_FALSE(result);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  if (!result) {
    EXPECT_EQ(result.error(), conveyor::http::ClientError::request_timeout);
  }
  EXPECT_EQ(client.counters().connections_open, 0u);
}

TEST(PartnerClientTest, WaitingForAConnectionCountsAgainstTheTimeout) {
  TestServer server({.after = Behaviour::After::never_answer});
  asio::io_context io;
  auto options = options_for(server.url());
  options.request_timeout = 1s;
  options.max_connections = 1;
  PartnerClient client(io.get_executor(), options);

  // All three start together. If time spent waiting for the one connection
  // were not counted, they would end one after another (1, 2, 3 s).
  int failed = 0;
  auto slowest = std::chrono::steady_clock::duration::zero();
  for (int i = 0; i < 3; ++i) {
    spawn(io, [&]() -> asio::awaitable<void> {
      const auto start = std::chrono::steady_clock::now();
      if (!co_await client.post("{}", "k")) ++failed;
      slowest = std::max(slowest, std::chrono::steady_clock::now() - start);
    });
  }
  ASSERT_TRUE(run(io));
  EXPECT_EQ(failed, 3);
  EXPECT_LT(slowest, 2500ms);
}

TEST(PartnerClientTest, CancelAllFailsEveryPostAtOnce) {
  TestServer server({.after = Behaviour::After::never_answer});
  asio::io_context io;
  auto options = options_for(server.url());
  options.request_timeout = 60s;
  options.max_connections = 2;  // two posts on the wire, three parked for a slot
  PartnerClient client(io.get_executor(), options);

  int failed = 0;
  for (int i = 0; i < 5; ++i) {
    spawn(io, [&]() -> asio::awaitable<void> {
      if (!co_await client.post("{}", "k")) ++failed;
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (server.requests().size() < 2 && std::chrono::steady_clock::now() < deadline) io.run_for(5ms);
  ASSERT_EQ(server.requests().size(), 2u);
  client.cancel_all();
  ASSERT_TRUE(run(io, 10s));  // long before the 60 s request timeout
  EXPECT_EQ(failed, 5);
  EXPECT_EQ(client.counters().connections_open, 0u);
}

TEST(PartnerClientTest, FailsWhenConnectionRefused) {
  asio::io_context io;
  PartnerClient client(io.get_executor(),
                       options_for("http://127.0.0.1:" + std::to_string(closed_port()) + "/"));
  auto result = post_once(io, client, "{}", "k");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), asio::error::connection_refused) << result.error().message();
  EXPECT_EQ(client.counters().connect_failures, 1u);
  EXPECT_EQ(client.counters().connections_open, 0u);
  // The failed connect released its slot: the next post is not stuck behind it.
  EXPECT_FALSE(post_once(io, client, "{}", "k"));
}

TEST(PartnerClientTest, CapsConnectionsUnderConcurrency) {
  TestServer server({.delay = 5ms});
  asio::io_context io;
  auto options = options_for(server.url());
  options.max_connections = 500;
  options.request_timeout = 20s;
  PartnerClient client(io.get_executor(), options);

  constexpr int posts = 2000;
  int succeeded = 0;
  std::vector<std::string> keys;
  for (int i = 0; i < posts; ++i) keys.push_back("key-" + std::to_string(i));
  for (int i = 0; i < posts; ++i) {
    spawn(io, [&, i]() -> asio::awaitable<void> {
      auto result = co_await client.post(R"({"n":1})", keys[static_cast<std::size_t>(i)]);
      if (result && result->status == 200) {
        ++succeeded;
      } else if (!result) {
        ADD_FAILURE() << result.error().message();
      }
    });
  }
  ASSERT_TRUE(run(io, 60s));
  EXPECT_EQ(succeeded, posts);
  EXPECT_LE(server.max_connections_open(), 500u);
  EXPECT_GT(server.max_connections_open(), 1u);
  const auto counters = client.counters();
  EXPECT_LE(counters.connections_opened, 500u);
  EXPECT_EQ(counters.connections_reused, posts - counters.connections_opened);
  EXPECT_EQ(server.requests().size(), static_cast<std::size_t>(posts));
}

class PartnerClientTlsTest : public ::testing::Test {
 protected:
  TempDir dir_;
  TlsIdentity identity_ = make_identity("IP:127.0.0.1,DNS:localhost", dir_.path() / "ca.pem");
};

TEST_F(PartnerClientTlsTest, FailsVerificationByDefault) {
  TestServer server({}, &identity_);
  asio::io_context io;
  PartnerClient client(io.get_executor(), options_for(server.url()));
  auto result = post_once(io, client, "{}", "k");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().category(), asio::error::get_ssl_category()) << result.error().message();
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(PartnerClientTlsTest, SucceedsWithCaFile) {
  TestServer server({.body = "secure"}, &identity_);
  asio::io_context io;
  auto options = options_for(server.url("/tls?x=1"));
  options.tls_ca_file = identity_.ca_file.string();
  PartnerClient client(io.get_executor(), options);
  for (int i = 0; i < 3; ++i) {
    auto result = post_once(io, client, R"({"tls":true})", "k");
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_EQ(result->status, 200u);
    EXPECT_EQ(result->body_prefix, "secure");
  }
  EXPECT_EQ(server.connections_accepted(), 1u);
  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].body, R"({"tls":true})");
  EXPECT_EQ(seen[0].target, "/tls?x=1");
}

TEST_F(PartnerClientTlsTest, ChecksTheHostName) {
  const TlsIdentity other = make_identity("DNS:partner.invalid", dir_.path() / "other.pem");
  TestServer server({}, &other);
  asio::io_context io;
  auto options = options_for(server.url());
  options.tls_ca_file = other.ca_file.string();  // trusted, but not for 127.0.0.1
  PartnerClient client(io.get_executor(), options);
  auto result = post_once(io, client, "{}", "k");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().category(), asio::error::get_ssl_category()) << result.error().message();
}

TEST_F(PartnerClientTlsTest, SucceedsWhenInsecure) {
  TestServer server({}, &identity_);
  asio::io_context io;
  auto options = options_for(server.url());
  options.tls_insecure = true;
  PartnerClient client(io.get_executor(), options);
  auto result = post_once(io, client, "{}", "k");
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->status, 200u);
}

}  // namespace
