// The in-test partner for PartnerClient tests: a small Beast HTTP/1.1 server
// on 127.0.0.1 (its own thread and io_context) with scripted behaviours, a
// self-signed TLS identity made at test time, and helpers that run one post.
#pragma once

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

#include "http/client.h"

namespace conveyor::http_test {

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

inline std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

// `subject_alt_name` in OpenSSL config syntax, e.g. "IP:127.0.0.1"; the
// certificate is also written to `ca_file`.
inline TlsIdentity make_identity(const std::string& subject_alt_name, std::filesystem::path ca_file) {
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
  // hold_open: after raw_reply, keep the connection open and silent (else it is closed).
  enum class After { keep_open, send_connection_close, close_silently, never_answer, hold_open };
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
      bhttp::request_parser<bhttp::string_body> parser;
      parser.body_limit(64 * 1024 * 1024);  // room for bodies larger than any socket buffer
      auto [read_error, read] = co_await bhttp::async_read(stream, buffer, parser, nothrow);
      if (read_error) co_return;  // the client closed, or a test ended
      const bhttp::request<bhttp::string_body> request = parser.release();
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
        if (behaviour_.after == Behaviour::After::hold_open) {
          char byte = 0;  // until the client gives up
          co_await stream.async_read_some(asio::buffer(&byte, 1), nothrow);
        }
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
inline bool run(asio::io_context& io, std::chrono::milliseconds limit = run_limit) {
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

inline Result<PartnerResponse> post_once(asio::io_context& io, PartnerClient& client,
                                  std::string_view body, std::string_view key) {
  std::optional<Result<PartnerResponse>> result;
  spawn(io, [&]() -> asio::awaitable<void> { result.emplace(co_await client.post(body, key)); });
  if (!run(io) || !result) {
    ADD_FAILURE() << "post did not complete within " << run_limit.count() << "s";
    return error_code(asio::error::timed_out);
  }
  return std::move(*result);
}

inline PartnerClientOptions options_for(std::string url) {
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
inline unsigned short closed_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

}  // namespace conveyor::http_test
