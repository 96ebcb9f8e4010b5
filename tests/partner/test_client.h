// A small blocking HTTP/1.1 client for the partner tests: one keep-alive
// connection, requests written and responses read one call at a time, every
// call bounded by a timeout so a broken server fails the test instead of
// hanging it. Clients on one thread may share an io_context (no extra file
// descriptors each); clients used from several threads need one each.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace conveyor::partner::testing {

struct Reply {
  boost::system::error_code error;  // set when no response could be read
  unsigned status = 0;
  std::string body;
  boost::beast::http::response<boost::beast::http::string_body> message;
};

class TestClient {
 public:
  static constexpr std::chrono::seconds kTimeout{30};

  TestClient(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint)
      : io_(io), stream_(io) {
    connect_error_ = complete([&](auto handler) { stream_.async_connect(endpoint, handler); });
  }

  const boost::system::error_code& connect_error() const { return connect_error_; }

  boost::system::error_code send(std::string_view method, std::string_view target,
                                 std::string_view body = {}, std::string_view key = {},
                                 bool keep_alive = true) {
    namespace bhttp = boost::beast::http;
    bhttp::request<bhttp::string_body> request(bhttp::string_to_verb(method), target, 11);
    request.set(bhttp::field::host, "127.0.0.1");
    if (!key.empty()) request.set("Idempotency-Key", key);
    if (method == "POST") request.set(bhttp::field::content_type, "application/json");
    request.body() = std::string(body);
    request.keep_alive(keep_alive);
    request.prepare_payload();
    return complete([&](auto handler) { bhttp::async_write(stream_, request, handler); });
  }

  boost::system::error_code send_raw(std::string_view bytes) {
    return complete([&](auto handler) {
      boost::asio::async_write(stream_, boost::asio::buffer(bytes), handler);
    });
  }

  Reply receive() {
    namespace bhttp = boost::beast::http;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(256 * 1024 * 1024);
    Reply reply;
    reply.error = complete([&](auto handler) { bhttp::async_read(stream_, buffer_, parser, handler); });
    if (!reply.error) {
      reply.message = parser.release();
      reply.status = reply.message.result_int();
      reply.body = reply.message.body();
    }
    return reply;
  }

  Reply request(std::string_view method, std::string_view target, std::string_view body = {},
                std::string_view key = {}) {
    if (auto ec = send(method, target, body, key)) return Reply{ec, 0, {}, {}};
    return receive();
  }

 private:
  // Starts one operation and runs the io_context until it completes or the
  // stream's timeout ends it.
  template <class Start>
  boost::system::error_code complete(Start&& start) {
    std::optional<boost::system::error_code> result;
    stream_.expires_after(kTimeout);
    start([&result](boost::system::error_code ec, auto&&...) { result = ec; });
    io_.restart();
    io_.run();
    return result.value_or(boost::asio::error::timed_out);
  }

  boost::asio::io_context& io_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  boost::system::error_code connect_error_;
};

}  // namespace conveyor::partner::testing
