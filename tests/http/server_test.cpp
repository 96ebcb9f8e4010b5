#include "http/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "support/child_process.h"

namespace conveyor::http {
namespace {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;
using conveyor::testing::wait_until;
using tcp = net::ip::tcp;

// Echoes the request: the body back, the method, target and Idempotency-Key
// in headers, and the serving thread in X-Thread. POST /wait waits for a
// minute on a timer bound to the request's cancellation slot; POST /throw
// throws.
class EchoHandler final : public ServerHandler {
 public:
  net::awaitable<ServerResponse> handle(const ServerRequest& request) override {
    {
      std::lock_guard lock(mutex_);
      threads_.insert(std::this_thread::get_id());
    }
    if (request.path() == "/wait") {
      waiting_.fetch_add(1);
      net::steady_timer timer(co_await net::this_coro::executor, 60s);
      auto slot = request.cancellation_slot();
      auto [ec] = co_await timer.async_wait(net::bind_cancellation_slot(slot, net::as_tuple(net::use_awaitable)));
      slot.clear();
      cancelled_.fetch_add(ec ? 1 : 0);
    }
    if (request.path() == "/throw") throw std::runtime_error("handler failure");
    ServerResponse response;
    response.content_type = "text/plain";
    response.body = std::string(request.body());
    response.extra_header_name = "X-Echo";
    response.extra_header_value = std::string(request.method()) + " " + std::string(request.target()) +
                                  " key=" + std::string(request.idempotency_key());
    co_return response;
  }

  std::size_t distinct_threads() {
    std::lock_guard lock(mutex_);
    return threads_.size();
  }
  std::atomic<int> waiting_{0};
  std::atomic<int> cancelled_{0};

 private:
  std::mutex mutex_;
  std::set<std::thread::id> threads_;
};

struct Reply {
  boost::system::error_code error;
  unsigned status = 0;
  bhttp::response<bhttp::string_body> message;
};

// A blocking client whose every call is bounded by a timeout.
class Client {
 public:
  Client(net::io_context& io, const tcp::endpoint& endpoint) : io_(io), stream_(io) {
    connect_error_ = complete([&](auto h) { stream_.async_connect(endpoint, h); });
  }
  const boost::system::error_code& connect_error() const { return connect_error_; }

  boost::system::error_code send(bhttp::verb verb, std::string_view target, std::string_view body = {},
                                 std::string_view key = {}, int version = 11, bool keep_alive = true) {
    bhttp::request<bhttp::string_body> request(verb, target, version);
    request.set(bhttp::field::host, "127.0.0.1");
    if (!key.empty()) request.set("Idempotency-Key", key);
    request.body() = std::string(body);
    request.keep_alive(keep_alive);
    request.prepare_payload();
    return complete([&](auto h) { bhttp::async_write(stream_, request, h); });
  }
  boost::system::error_code send_raw(std::string_view bytes) {
    return complete([&](auto h) { net::async_write(stream_, net::buffer(bytes), h); });
  }
  Reply receive() {
    bhttp::response_parser<bhttp::string_body> parser;
    Reply reply;
    reply.error = complete([&](auto h) { bhttp::async_read(stream_, buffer_, parser, h); });
    if (!reply.error) {
      reply.message = parser.release();
      reply.status = reply.message.result_int();
    }
    return reply;
  }
  Reply request(bhttp::verb verb, std::string_view target, std::string_view body = {},
                std::string_view key = {}) {
    if (auto ec = send(verb, target, body, key)) return Reply{ec, 0, {}};
    return receive();
  }

 private:
  template <class Start>
  boost::system::error_code complete(Start&& start) {
    std::optional<boost::system::error_code> result;
    stream_.expires_after(30s);
    start([&result](boost::system::error_code ec, auto&&...) { result = ec; });
    io_.restart();
    io_.run();
    return result.value_or(net::error::timed_out);
  }

  net::io_context& io_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  boost::system::error_code connect_error_;
};

// A server on 127.0.0.1:0 with the echo handler, serving on its own threads.
class ServerTest : public ::testing::Test {
 protected:
  void start(unsigned threads = 1, std::size_t body_limit = 4 * 1024 * 1024) {
    ServerOptions options;
    options.threads = threads;
    options.body_limit = body_limit;
    server_ = std::make_unique<Server>(options, handler_);
    ASSERT_FALSE(server_->listen());
    server_->start();
  }
  tcp::endpoint endpoint() const { return server_->local_endpoint(); }

  EchoHandler handler_;  // outlives the server
  std::unique_ptr<Server> server_;
  net::io_context io_;
};

TEST_F(ServerTest, ReportsTheBoundPort) {
  start();
  EXPECT_EQ(endpoint().address().to_string(), "127.0.0.1");
  EXPECT_NE(endpoint().port(), 0);
}

TEST_F(ServerTest, PassesMethodTargetKeyAndBodyToTheHandler) {
  start();
  Client client(io_, endpoint());
  const Reply reply = client.request(bhttp::verb::post, "/a/b?c=d", "hello", "key-1");
  ASSERT_FALSE(reply.error) << reply.error.message();
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.message.body(), "hello");
  EXPECT_EQ(reply.message["X-Echo"], "POST /a/b?c=d key=key-1");
  EXPECT_EQ(reply.message[bhttp::field::content_type], "text/plain");
  EXPECT_TRUE(reply.message.keep_alive());
}

TEST_F(ServerTest, KeepsTheConnectionForManyRequests) {
  start();
  Client client(io_, endpoint());
  for (int i = 0; i < 50; ++i) {
    const std::string body = "request " + std::to_string(i);
    const Reply reply = client.request(bhttp::verb::post, "/", body);
    ASSERT_FALSE(reply.error) << i << ": " << reply.error.message();
    EXPECT_EQ(reply.message.body(), body);
  }
}

TEST_F(ServerTest, AnswersPipelinedRequestsInOrder) {
  start();
  Client client(io_, endpoint());
  ASSERT_FALSE(client.send_raw(
      "POST /1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\none"
      "POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\ntwo"));
  EXPECT_EQ(client.receive().message.body(), "one");
  EXPECT_EQ(client.receive().message.body(), "two");
}

TEST_F(ServerTest, ClosesAfterConnectionCloseAndHttp10) {
  start();
  {
    Client client(io_, endpoint());
    ASSERT_FALSE(client.send(bhttp::verb::get, "/", {}, {}, 11, false));
    const Reply reply = client.receive();
    EXPECT_EQ(reply.status, 200u);
    EXPECT_FALSE(reply.message.keep_alive());
    EXPECT_EQ(client.receive().error, bhttp::error::end_of_stream);
  }
  {
    Client client(io_, endpoint());
    ASSERT_FALSE(client.send(bhttp::verb::get, "/", {}, {}, 10, false));
    EXPECT_EQ(client.receive().status, 200u);
    EXPECT_EQ(client.receive().error, bhttp::error::end_of_stream);
  }
  {
    Client client(io_, endpoint());  // HTTP/1.0 asking for keep-alive gets it
    ASSERT_FALSE(client.send(bhttp::verb::get, "/", {}, {}, 10, true));
    const Reply first = client.receive();
    EXPECT_EQ(first.message[bhttp::field::connection], "keep-alive");
    ASSERT_FALSE(client.send(bhttp::verb::get, "/", {}, {}, 10, true));
    EXPECT_EQ(client.receive().status, 200u);
  }
}

TEST_F(ServerTest, AnswersMalformedRequestsWith400AndCloses) {
  start();
  Client client(io_, endpoint());
  ASSERT_FALSE(client.send_raw("NOT HTTP AT ALL\r\n\r\n"));
  EXPECT_EQ(client.receive().status, 400u);
  EXPECT_TRUE(client.receive().error);
}

TEST_F(ServerTest, AnswersBodiesOverTheLimitWith413) {
  start(1, 1024);
  Client client(io_, endpoint());
  EXPECT_EQ(client.request(bhttp::verb::post, "/", std::string(1024, 'x')).status, 200u);
  EXPECT_EQ(client.request(bhttp::verb::post, "/", std::string(1025, 'x')).status, 413u);
}

TEST_F(ServerTest, ReadsALargeBodyThroughTheSmallReadBuffer) {
  start();
  Client client(io_, endpoint());
  const std::string body(3 * 1024 * 1024, 'z');
  const Reply reply = client.request(bhttp::verb::post, "/", body);
  ASSERT_FALSE(reply.error) << reply.error.message();
  EXPECT_EQ(reply.message.body().size(), body.size());
}

TEST_F(ServerTest, HonoursExpect100Continue) {
  start();
  Client client(io_, endpoint());
  ASSERT_FALSE(client.send_raw("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"));
  EXPECT_EQ(client.receive().status, 100u);
  ASSERT_FALSE(client.send_raw("body"));
  const Reply reply = client.receive();
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.message.body(), "body");
}

TEST_F(ServerTest, AnswersAThrowingHandlerWith500) {
  start();
  Client client(io_, endpoint());
  EXPECT_EQ(client.request(bhttp::verb::post, "/throw").status, 500u);
}

TEST_F(ServerTest, SpreadsConnectionsOverThreads) {
  start(3);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(std::make_unique<Client>(io_, endpoint()));
    ASSERT_EQ(clients.back()->request(bhttp::verb::get, "/").status, 200u);
  }
  EXPECT_EQ(handler_.distinct_threads(), 3u);
}

TEST_F(ServerTest, ListenReportsErrorsAsValues) {
  start();
  ServerOptions taken;
  taken.listen = "127.0.0.1:" + std::to_string(endpoint().port());
  Server second(taken, handler_);
  EXPECT_EQ(second.listen(), boost::system::errc::address_in_use);

  for (const char* bad : {"127.0.0.1", "127.0.0.1:x", "127.0.0.1:70000", ":80"}) {
    ServerOptions options;
    options.listen = bad;
    Server server(options, handler_);
    EXPECT_EQ(server.listen(), boost::system::errc::invalid_argument) << bad;
  }
}

TEST_F(ServerTest, StopEndsWaitingAndIdleConnectionsPromptly) {
  start(2);
  std::vector<std::unique_ptr<Client>> waiting;
  for (int i = 0; i < 4; ++i) {
    waiting.push_back(std::make_unique<Client>(io_, endpoint()));
    ASSERT_FALSE(waiting.back()->send(bhttp::verb::post, "/wait"));
  }
  std::vector<std::unique_ptr<Client>> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(std::make_unique<Client>(io_, endpoint()));
  ASSERT_TRUE(wait_until([&] { return handler_.waiting_.load() == 4; }, 10s));

  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    server_->wait();
    returned = true;
  });
  server_->stop();
  // The handlers wait a minute unless stop() cancels them.
  const bool prompt = wait_until([&] { return returned.load(); }, 10s);
  waiter.join();
  EXPECT_TRUE(prompt);
  EXPECT_EQ(handler_.cancelled_.load(), 4);
  for (auto& client : waiting) EXPECT_TRUE(client->receive().error);
  for (auto& client : idle) EXPECT_TRUE(client->receive().error);

  Client late(io_, endpoint());  // the acceptor is closed too
  EXPECT_TRUE(late.connect_error());
}

TEST_F(ServerTest, StopBeforeAnyConnectionAndDestructionWithoutStop) {
  start(2);
  server_->stop();
  server_->wait();
  server_.reset();
  start(2);
  Client client(io_, endpoint());
  ASSERT_EQ(client.request(bhttp::verb::get, "/").status, 200u);
  server_.reset();  // the destructor stops and joins with the connection open
}

}  // namespace
}  // namespace conveyor::http
