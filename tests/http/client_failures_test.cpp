// PartnerClient's failures, each produced by a real situation on 127.0.0.1 and
// checked by its class (http/failure_class.h), and the rule that a 2xx's
// status decides once its head has arrived (accept_2xx_at_headers).
#include <gtest/gtest.h>

#include "http/client.h"
#include "http/client_error.h"
#include "http/failure_class.h"
#include "http/test_partner.h"

namespace {

using namespace conveyor::http_test;
using conveyor::http::ClientError;
using conveyor::http::FailureClass;
using conveyor::http::classify;
using conveyor::http::label;

constexpr std::size_t kMiB = 1024 * 1024;

// What one post to a server behaving so ended in, and how long it took.
struct Outcome {
  Result<PartnerResponse> result;
  std::chrono::steady_clock::duration took;
  std::size_t connections_open_after;
};

Outcome post_to(const std::string& url, bool accept_2xx_at_headers, std::chrono::milliseconds request_timeout = 5s) {
  asio::io_context io;
  auto options = options_for(url);
  options.accept_2xx_at_headers = accept_2xx_at_headers;
  options.request_timeout = request_timeout;
  PartnerClient client(io.get_executor(), options);
  const auto start = std::chrono::steady_clock::now();
  auto result = post_once(io, client, "{}", "k");
  return {std::move(result), std::chrono::steady_clock::now() - start, client.counters().connections_open};
}

std::string describe(const Result<PartnerResponse>& result) {
  return result ? "answered " + std::to_string(result->status) : std::string(label(classify(result.error()))) +
                                                                      ": " + result.error().message();
}

// A partner whose 2xx head is fine and whose body then goes wrong, and the
// class the call has when the status does not decide (the SQS client's view).
struct BadBody {
  const char* name;
  Behaviour behaviour;
  FailureClass without_status_deciding;
};

std::vector<BadBody> bad_bodies() {
  return {
      {"1 MiB body (Content-Length)", {.body = std::string(kMiB, 'L')}, FailureClass::too_large},
      {"1 MiB body (chunked)", {.body = std::string(kMiB, 'L'), .chunked = true}, FailureClass::too_large},
      {"1 GiB Content-Length, never sent",
       {.raw_reply = "HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\nlabel", .after = Behaviour::After::hold_open},
       FailureClass::too_large},
      {"closed mid-body", {.raw_reply = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial"}, FailureClass::reset},
      {"body never finishes",
       {.raw_reply = "HTTP/1.1 201 Created\r\nContent-Length: 100\r\n\r\npartial", .after = Behaviour::After::hold_open},
       FailureClass::timeout},
      {"malformed chunking",
       {.raw_reply = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnot a chunk\r\n\r\n"},
       FailureClass::malformed},
  };
}

TEST(PartnerClientStatusDecidesTest, A2xxIsAcceptedOnceItsHeadArrivedWhateverTheBodyDoes) {
  for (const BadBody& bad : bad_bodies()) {
    SCOPED_TRACE(bad.name);
    TestServer server(bad.behaviour);
    const Outcome outcome = post_to(server.url(), true, 1s);
    ASSERT_TRUE(outcome.result) << describe(outcome.result);
    EXPECT_TRUE(outcome.result->delivered());
    EXPECT_LE(outcome.result->body_prefix.size(), PartnerResponse::body_prefix_limit);
    EXPECT_EQ(outcome.connections_open_after, 0u) << "a connection whose body was not read is never reused";
  }
}

TEST(PartnerClientStatusDecidesTest, WithoutItTheSameBodiesAreFailuresOfTheirClass) {
  for (const BadBody& bad : bad_bodies()) {
    SCOPED_TRACE(bad.name);
    TestServer server(bad.behaviour);
    const Outcome outcome = post_to(server.url(), false, 1s);
    ASSERT_FALSE(outcome.result) << describe(outcome.result);
    EXPECT_EQ(label(classify(outcome.result.error())), label(bad.without_status_deciding))
        << outcome.result.error().message();
    EXPECT_EQ(outcome.connections_open_after, 0u);
  }
}

TEST(PartnerClientStatusDecidesTest, AHugeBodyIsNotReadToTheEnd) {
  // 1 GiB announced: the answer comes at once, not after reading (or waiting for) the body.
  for (bool status_decides : {true, false}) {
    TestServer server({.raw_reply = "HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\nlabel",
                       .after = Behaviour::After::hold_open});
    const Outcome outcome = post_to(server.url(), status_decides, 10s);
    EXPECT_EQ(bool(outcome.result), status_decides) << describe(outcome.result);
    EXPECT_LT(outcome.took, 2s);
  }
  // 64 MiB streamed in chunks: reading stops past the limit (64 KiB), long before the end.
  TestServer server({.body = std::string(64 * kMiB, 'L'), .chunked = true});
  const Outcome outcome = post_to(server.url(), true, 10s);
  ASSERT_TRUE(outcome.result) << describe(outcome.result);
  EXPECT_LT(outcome.took, 2s);
}

TEST(PartnerClientStatusDecidesTest, ASmall2xxStillKeepsItsConnection) {
  TestServer server({.body = std::string(60 * 1024, 'L')});
  asio::io_context io;
  auto options = options_for(server.url());
  options.accept_2xx_at_headers = true;
  PartnerClient client(io.get_executor(), options);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(post_once(io, client, "{}", "k"));
  EXPECT_EQ(server.connections_accepted(), 1u);
  EXPECT_EQ(client.counters().connections_reused, 2u);
}

TEST(PartnerClientStatusDecidesTest, ANon2xxWithAHugeBodyIsStillTooLarge) {
  for (unsigned status : {404u, 503u}) {
    TestServer server({.status = status, .body = std::string(kMiB, 'E')});
    const Outcome outcome = post_to(server.url(), true);
    ASSERT_FALSE(outcome.result) << describe(outcome.result);
    EXPECT_EQ(outcome.result.error(), ClientError::response_too_large) << outcome.result.error().message();
    EXPECT_EQ(classify(outcome.result.error()), FailureClass::too_large);
  }
}

// ---------------------------------------------------------------------------
// Each class from the situation that produces it.

// A listener with a backlog of 0 that never accepts: once one connection
// waits in its queue, Linux drops further SYNs, so a connect hangs.
class FullListener {
 public:
  FullListener() : acceptor_(io_) {
    acceptor_.open(tcp::v4());
    acceptor_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    acceptor_.listen(0);
    for (int i = 0; i < 2; ++i) {  // fill the queue; the second may hang itself
      queued_.emplace_back(io_);
      queued_.back().async_connect(acceptor_.local_endpoint(), [](error_code) {});
    }
    io_.run_for(200ms);  // long enough for the first handshake on loopback
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/"; }

 private:
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::vector<tcp::socket> queued_;
};

TEST(PartnerClientFailureClassTest, RefusedByAClosedPort) {
  const Outcome outcome = post_to("http://127.0.0.1:" + std::to_string(closed_port()) + "/", true);
  ASSERT_FALSE(outcome.result);
  EXPECT_EQ(classify(outcome.result.error()), FailureClass::refused) << outcome.result.error().message();
}

TEST(PartnerClientFailureClassTest, TimeoutWhenTheServerNeverAnswers) {
  TestServer server({.after = Behaviour::After::never_answer});
  const Outcome outcome = post_to(server.url(), true, 300ms);
  ASSERT_FALSE(outcome.result);
  EXPECT_EQ(outcome.result.error(), ClientError::request_timeout) << outcome.result.error().message();
  EXPECT_EQ(classify(outcome.result.error()), FailureClass::timeout);
  EXPECT_TRUE(outcome.result.error() == boost::system::errc::timed_out) << "still a timeout as a condition";
}

TEST(PartnerClientFailureClassTest, ConnectTimeoutWhenTheListenerAcceptsNoMore) {
  FullListener listener;
  asio::io_context io;
  auto options = options_for(listener.url());
  options.connect_timeout = 300ms;
  options.request_timeout = 5s;
  PartnerClient client(io.get_executor(), options);
  const auto start = std::chrono::steady_clock::now();
  auto result = post_once(io, client, "{}", "k");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), ClientError::connect_timeout) << result.error().message();
  EXPECT_EQ(classify(result.error()), FailureClass::connect_timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST(PartnerClientFailureClassTest, ATimeoutWhileConnectingIsTheRequestsWhenItsDeadlineComesFirst) {
  FullListener listener;
  const Outcome outcome = post_to(listener.url(), true, 300ms);
  ASSERT_FALSE(outcome.result);  // connect_timeout is 2 s here: REQUEST_TIMEOUT passed first
  EXPECT_EQ(outcome.result.error(), ClientError::request_timeout) << outcome.result.error().message();
}

TEST(PartnerClientFailureClassTest, ResetWhenTheServerClosesMidResponse) {
  TestServer server({.raw_reply = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 100\r\n\r\npartial"});
  const Outcome outcome = post_to(server.url(), true);
  ASSERT_FALSE(outcome.result);
  EXPECT_EQ(classify(outcome.result.error()), FailureClass::reset) << outcome.result.error().message();
}

TEST(PartnerClientFailureClassTest, MalformedForGarbage) {
  TestServer server({.raw_reply = "SMTP ready\r\n\r\n"});
  const Outcome outcome = post_to(server.url(), true);
  ASSERT_FALSE(outcome.result);
  EXPECT_EQ(outcome.result.error(), conveyor::Error::http_protocol);
  EXPECT_EQ(classify(outcome.result.error()), FailureClass::malformed);
}

TEST(PartnerClientFailureClassTest, DnsErrorForAHostThatNeverResolves) {
  const Outcome outcome = post_to("http://conveyor-partner.invalid/", true);
  ASSERT_FALSE(outcome.result);
  EXPECT_EQ(classify(outcome.result.error()), FailureClass::dns_error) << outcome.result.error().message();
}

TEST(PartnerClientFailureClassTest, TlsErrorForAnUntrustedCertificate) {
  TempDir dir;
  const TlsIdentity identity = make_identity("IP:127.0.0.1", dir.path() / "ca.pem");
  TestServer server({}, &identity);
  const Outcome outcome = post_to(server.url(), true);
  ASSERT_FALSE(outcome.result);
  EXPECT_EQ(classify(outcome.result.error()), FailureClass::tls_error) << outcome.result.error().message();
}

}  // namespace
