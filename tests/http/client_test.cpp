// PartnerClient against a real (small, in-test) HTTP/1.1 server on 127.0.0.1:
// exact bytes on the wire, keep-alive reuse and its failure modes, limits,
// timeouts, and TLS verification with a certificate made at test time.
#include "http/client.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using conveyor::error_code;
using conveyor::Result;
using conveyor::http::PartnerClient;
using conveyor::http::PartnerClientOptions;
using conveyor::http::PartnerResponse;
using namespace std::chrono_literals;

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
constexpr auto run_limit = 30s;  // no single test's client work should come near this

// ---------------------------------------------------------------------------
// A self-signed certificate (also its own CA), made with OpenSSL at test time.

struct TlsIdentity {
  std::string cert_pem;
  std::string key_pem;
  std::filesystem::path ca_file;  // cert_pem written out, for PartnerClientOptions::tls_ca_file
};

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct ExtFree {
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

// `subject_alt_name` in OpenSSL config syntax, e.g. "IP:127.0.0.1"; the
// certificate is also written to `ca_file`.
TlsIdentity make_identity(const std::string& subject_alt_name, std::filesystem::path ca_file) {
  std::unique_ptr<EVP_PKEY, PkeyFree> key(EVP_EC_gen("P-256"));
  std::unique_ptr<X509, X509Free> cert(X509_new());
  if (!key || !cert) throw std::runtime_error("OpenSSL: cannot create key or certificate");
  X509_set_version(cert.get(), 2);  // v3, for extensions
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("conveyor test partner"), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), name);

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  const std::pair<int, std::string> extensions[] = {
      {NID_basic_constraints, "critical,CA:TRUE"},
      {NID_subject_key_identifier, "hash"},
      {NID_subject_alt_name, subject_alt_name},
  };
  for (const auto& [nid, value] : extensions) {
    std::unique_ptr<X509_EXTENSION, ExtFree> ext(
        X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
    if (!ext || X509_add_ext(cert.get(), ext.get(), -1) != 1) {
      throw std::runtime_error("OpenSSL: cannot add extension " + value);
    }
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
    throw std::runtime_error("OpenSSL: sign");

  TlsIdentity identity;
  std::unique_ptr<BIO, BioFree> cert_bio(BIO_new(BIO_s_mem()));
  std::unique_ptr<BIO, BioFree> key_bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1 ||
      PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1) {
    throw std::runtime_error("OpenSSL: cannot write PEM");
  }
  identity.cert_pem = bio_text(cert_bio.get());
  identity.key_pem = bio_text(key_bio.get());
  identity.ca_file = std::move(ca_file);
  std::ofstream(identity.ca_file) << identity.cert_pem;
  return identity;
}

// A fresh directory under the system temp dir, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "conveyor-client-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// ---------------------------------------------------------------------------
// The in-test partner: Beast on its own thread and io_context, 127.0.0.1 only.

struct SeenRequest {
  std::string method;
  std::string target;
  std::string host;
  std::string content_type;
  std::string content_length;
  std::string idempotency_key;
  std::string authorization;
  std::string body;
};

struct Behaviour {
  enum class After { keep_open, send_connection_close, close_silently, never_answer };
  unsigned status = 200;
  std::string body = R"({"ok":true})";
  std::vector<std::pair<std::string, std::string>> headers{};
  bool chunked = false;
  std::optional<std::string> raw_reply{};  // sent verbatim instead of a proper response
  After after = After::keep_open;
  std::chrono::milliseconds delay{0};  // before answering each request
};

class TestServer {
 public:
  explicit TestServer(Behaviour behaviour, const TlsIdentity* tls = nullptr)
      : behaviour_(std::move(behaviour)), io_(std::make_unique<asio::io_context>(1)) {
    if (tls) {
      tls_.emplace(asio::ssl::context::tls_server);
      tls_->use_certificate_chain(asio::buffer(tls->cert_pem));
      tls_->use_private_key(asio::buffer(tls->key_pem), asio::ssl::context::pem);
    }
    acceptor_.emplace(*io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port_ = acceptor_->local_endpoint().port();
    asio::co_spawn(*io_, accept_loop(), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    thread_ = std::thread([this] { io_->run(); });
  }

  ~TestServer() {
    io_->stop();
    thread_.join();
    acceptor_.reset();
    io_.reset();  // destroys the sessions while the rest of *this is alive
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  std::string url(const std::string& path_and_query = "/") const {
    return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_) +
           path_and_query;
  }
  unsigned short port() const { return port_; }
  std::vector<SeenRequest> requests() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  std::size_t connections_accepted() const { return accepted_.load(); }
  std::size_t connections_open() const { return open_.load(); }
  std::size_t max_connections_open() const { return max_open_.load(); }

 private:
  asio::awaitable<void> accept_loop() {
    for (int i = 0; i < 100'000; ++i) {  // or until the io_context stops
      auto [ec, socket] = co_await acceptor_->async_accept(nothrow);
      if (ec) co_return;
      ++accepted_;
      const std::size_t open = ++open_;
      max_open_.store(std::max(max_open_.load(), open));  // only this thread writes
      asio::co_spawn(*io_, session(std::move(socket)), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
    }
  }

  asio::awaitable<void> session(tcp::socket socket) {
    struct Closed {
      std::atomic<std::size_t>& open;
      ~Closed() { --open; }
    } closed{open_};
    if (tls_) {
      asio::ssl::stream<tcp::socket> stream(std::move(socket), *tls_);
      auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, nothrow);
      if (!ec) co_await serve(stream);
    } else {
      co_await serve(socket);
    }
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream& stream) {
    beast::flat_buffer buffer;
    for (int i = 0; i < 100'000; ++i) {
      bhttp::request<bhttp::string_body> request;
      auto [read_error, read] = co_await bhttp::async_read(stream, buffer, request, nothrow);
      if (read_error) co_return;  // the client closed, or a test ended
      record(request);

      if (behaviour_.after == Behaviour::After::never_answer) {
        char byte = 0;  // hold the connection until the client gives up
        co_await stream.async_read_some(asio::buffer(&byte, 1), nothrow);
        co_return;
      }
      if (behaviour_.delay.count() > 0) {
        asio::steady_timer timer(co_await asio::this_coro::executor, behaviour_.delay);
        co_await timer.async_wait(nothrow);
      }
      if (behaviour_.raw_reply) {
        co_await asio::async_write(stream, asio::buffer(*behaviour_.raw_reply), nothrow);
        co_return;
      }
      bhttp::response<bhttp::string_body> response{static_cast<bhttp::status>(behaviour_.status),
                                                   11};
      for (const auto& [name, value] : behaviour_.headers) response.set(name, value);
      response.body() = behaviour_.body;
      response.keep_alive(behaviour_.after != Behaviour::After::send_connection_close);
      if (behaviour_.chunked) {
        response.chunked(true);
      } else {
        response.prepare_payload();
      }
      auto [write_error, written] = co_await bhttp::async_write(stream, response, nothrow);
      if (write_error) co_return;
      if (behaviour_.after != Behaviour::After::keep_open) {
        error_code ignored;
        beast::get_lowest_layer(stream).close(ignored);  // no TLS close_notify: a silent close
        co_return;
      }
    }
  }

  void record(const bhttp::request<bhttp::string_body>& request) {
    auto text = [&](bhttp::field f) { return std::string(request[f]); };
    std::lock_guard lock(mutex_);
    seen_.push_back({std::string(request.method_string()), std::string(request.target()),
                     text(bhttp::field::host), text(bhttp::field::content_type),
                     text(bhttp::field::content_length), std::string(request["Idempotency-Key"]),
                     text(bhttp::field::authorization), request.body()});
  }

  Behaviour behaviour_;
  std::optional<asio::ssl::context> tls_;
  std::unique_ptr<asio::io_context> io_;
  std::optional<tcp::acceptor> acceptor_;
  unsigned short port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<SeenRequest> seen_;
  std::atomic<std::size_t> accepted_{0};
  std::atomic<std::size_t> open_{0};
  std::atomic<std::size_t> max_open_{0};
};

// ---------------------------------------------------------------------------
// Client side: the test thread runs the client's io_context.

// Runs `io` until its work is done or `limit` passes; true if it finished.
bool run(asio::io_context& io, std::chrono::milliseconds limit = run_limit) {
  io.restart();
  io.run_for(limit);
  return io.stopped();
}

template <class Body>
void spawn(asio::io_context& io, Body body) {
  asio::co_spawn(io, std::move(body), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
}

Result<PartnerResponse> post_once(asio::io_context& io, PartnerClient& client,
                                  std::string_view body, std::string_view key) {
  std::optional<Result<PartnerResponse>> result;
  spawn(io, [&]() -> asio::awaitable<void> { result.emplace(co_await client.post(body, key)); });
  if (!run(io) || !result) {
    ADD_FAILURE() << "post did not complete within " << run_limit.count() << "s";
    return error_code(asio::error::timed_out);
  }
  return std::move(*result);
}

PartnerClientOptions options_for(std::string url) {
  PartnerClientOptions options;
  options.url = std::move(url);
  options.connect_timeout = 2s;
  options.request_timeout = 5s;
  options.max_connections = 16;
  return options;
}

// Polls `condition` until it holds or `timeout` passes.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// A port on 127.0.0.1 that nothing listens on (bound, then released).
unsigned short closed_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

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
    EXPECT_EQ(result.error(), conveyor::Error::http_protocol);
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
