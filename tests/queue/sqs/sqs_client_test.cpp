// sqs::Client: signing and error shapes against an in-test HTTP server that records what arrives
// on the wire (fauxqs does not check signatures), then every action against the fauxqs emulator.
// GCC 12 reports a false -Wmismatched-new-delete when it inlines the frame
// allocation of an awaitable into a coroutine lambda (as redis/connection_test does).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include "queue/sqs/sqs_client.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "http/server.h"
#include "support/coroutine.h"

#include "support/sqs_emulator.h"

namespace {

namespace asio = boost::asio;
using conveyor::aws::Credentials;
using conveyor::http::ServerRequest;
using conveyor::http::ServerResponse;
using conveyor::sqs::ApiError;
using conveyor::sqs::Client;
using conveyor::sqs::ClientOptions;
using conveyor::sqs::SqsError;
using conveyor::testing::run_coroutine;
using namespace std::chrono_literals;

constexpr std::string_view kRegion = "us-east-1";

Credentials long_term() { return {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""}; }
Credentials with_session() {
  return {"ASIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "IQoJb3JpZ2luX2VjEXAMPLE/token+with=base64"};
}

ClientOptions options_for(std::string endpoint, Credentials credentials = long_term()) {
  ClientOptions options;
  options.endpoint = std::move(endpoint);
  options.region = std::string(kRegion);
  options.credentials = std::move(credentials);
  options.connect_timeout = 5s;
  options.request_timeout = 15s;  // above the longest long poll used here
  options.max_connections = 4;
  return options;
}

// ---------------------------------------------------------------------------
// What the client puts on the wire, recorded by a real HTTP server on 127.0.0.1.

struct Recorded {
  std::string target, body;
  std::map<std::string, std::string> headers;  // the ones that matter to SigV4
};

class RecordingHandler final : public conveyor::http::ServerHandler {
 public:
  ServerResponse response;  // set before the server starts

  asio::awaitable<ServerResponse> handle(const ServerRequest& request) override {
    Recorded recorded{std::string(request.target()), std::string(request.body()), {}};
    for (const char* name : {"Host", "Content-Type", "X-Amz-Target", "X-Amz-Date", "X-Amz-Security-Token",
                             "Authorization"}) {
      recorded.headers[name] = std::string(request.header(name));
    }
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(std::move(recorded));
    }
    co_return response;
  }

  std::vector<Recorded> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  std::mutex mutex_;
  std::vector<Recorded> requests_;
};

class RecordingServer {
 public:
  explicit RecordingServer(ServerResponse response) : server_({}, handler_) {
    handler_.response = std::move(response);
    EXPECT_FALSE(server_.listen());
    server_.start();
  }
  ~RecordingServer() { server_.stop(); }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(server_.local_endpoint().port()); }
  std::vector<Recorded> requests() { return handler_.requests(); }

 private:
  RecordingHandler handler_;
  conveyor::http::Server server_;
};

ServerResponse json_response(unsigned status, std::string body) {
  ServerResponse response;
  response.status = status;
  response.content_type = "application/x-amz-json-1.0";
  response.body = std::move(body);
  return response;
}

// Re-signs the recorded request from its recorded headers alone: equal Authorization means the
// client signed exactly the bytes it sent.
void expect_signed_as_sent(const Recorded& sent, const Credentials& credentials, const conveyor::http::Target& target) {
  ASSERT_FALSE(sent.headers.at("X-Amz-Date").empty());
  ASSERT_FALSE(sent.headers.at("Authorization").empty());
  const std::vector<conveyor::aws::Header> headers = {{"Host", sent.headers.at("Host")},
                                                      {"Content-Type", sent.headers.at("Content-Type")},
                                                      {"X-Amz-Target", sent.headers.at("X-Amz-Target")}};
  conveyor::aws::SigningRequest request{
      .method = "POST", .path = sent.target, .query = {}, .headers = headers, .body = sent.body};
  auto signature = conveyor::aws::sign(request, credentials, kRegion, "sqs", sent.headers.at("X-Amz-Date"));
  ASSERT_TRUE(signature);
  EXPECT_EQ(signature->authorization, sent.headers.at("Authorization"));

  // The seam the client signs through produces exactly the recorded lines.
  auto lines = conveyor::sqs::signed_headers(target, "GetQueueUrl", sent.body, credentials, kRegion,
                                             sent.headers.at("X-Amz-Date"));
  ASSERT_TRUE(lines);
  std::map<std::string, std::string> expected;
  for (const auto& [name, value] : *lines) expected[name] = value;
  EXPECT_EQ(expected.size(), credentials.session_token.empty() ? 3u : 4u);
  for (const auto& [name, value] : expected) EXPECT_EQ(sent.headers.at(name), value) << name;
}

void check_signing(const Credentials& credentials) {
  RecordingServer server(json_response(200, R"({"QueueUrl":"http://sqs.us-east-1.localhost:1/000000000000/q"})"));
  asio::io_context io;
  Client client(io.get_executor(), options_for(server.endpoint(), credentials));
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto url = co_await client.get_queue_url("q");
    CO_ASSERT(url);
    EXPECT_EQ(*url, "http://sqs.us-east-1.localhost:1/000000000000/q");
  });
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const Recorded& sent = requests[0];
  EXPECT_EQ(sent.target, "/");
  EXPECT_EQ(sent.headers.at("Host"), client.target().host_header);
  EXPECT_EQ(sent.headers.at("Content-Type"), "application/x-amz-json-1.0");
  EXPECT_EQ(sent.headers.at("X-Amz-Target"), "AmazonSQS.GetQueueUrl");
  EXPECT_EQ(sent.headers.at("X-Amz-Security-Token"), credentials.session_token);
  const std::string& authorization = sent.headers.at("Authorization");
  EXPECT_EQ(authorization.find("AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/"), 0u);
  EXPECT_NE(authorization.find("/us-east-1/sqs/aws4_request"), std::string::npos);
  const std::string signed_list = credentials.session_token.empty()
                                      ? "SignedHeaders=content-type;host;x-amz-date;x-amz-target,"
                                      : "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target,";
  EXPECT_NE(authorization.find(signed_list), std::string::npos) << authorization;
  EXPECT_EQ(boost::json::parse(sent.body), boost::json::parse(R"({"QueueName":"q"})"));
  expect_signed_as_sent(sent, credentials, client.target());
}

TEST(SqsClientWire, SignsExactlyTheHeadersItSends) { check_signing(long_term()); }

TEST(SqsClientWire, SignsAndSendsTheSessionToken) { check_signing(with_session()); }

// A provider whose set the test swaps, as a refresh would.
class SwappableCredentials final : public conveyor::aws::CredentialsProvider {
 public:
  conveyor::aws::CredentialsPtr current() const override {
    std::lock_guard lock(mutex_);
    return current_;
  }
  const std::string& source() const override { return source_; }
  void set(conveyor::aws::CredentialsPtr next) {
    std::lock_guard lock(mutex_);
    current_ = std::move(next);
  }

 private:
  mutable std::mutex mutex_;
  conveyor::aws::CredentialsPtr current_;
  const std::string source_ = "test";
};

TEST(SqsClientWire, SignsEachRequestWithTheProvidersCurrentCredentials) {
  RecordingServer server(json_response(200, R"({"QueueUrl":"http://sqs.us-east-1.localhost:1/000000000000/q"})"));
  auto provider = std::make_shared<SwappableCredentials>();
  provider->set(std::make_shared<const Credentials>(with_session()));
  ClientOptions options = options_for(server.endpoint(), Credentials{"AKIDUNUSED", "unused-secret", ""});
  options.credentials_provider = provider;
  asio::io_context io;
  Client client(io.get_executor(), options);
  const Credentials refreshed{"ASIAREFRESHED", "refreshed/secret", "refreshed-session-token"};
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    CO_ASSERT(co_await client.get_queue_url("q"));
    provider->set(std::make_shared<const Credentials>(refreshed));
    CO_ASSERT(co_await client.get_queue_url("q"));
    // Expired, refresh failing: nothing is sent, and the failure is worth retrying.
    provider->set(nullptr);
    auto none = co_await client.get_queue_url("q");
    CO_ASSERT(!none);
    EXPECT_EQ(none.error().code, conveyor::sqs::make_error_code(SqsError::no_credentials));
    EXPECT_TRUE(none.error().retryable());
  });
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_NE(requests[0].headers.at("Authorization").find("Credential=" + with_session().access_key_id + "/"),
            std::string::npos);
  EXPECT_NE(requests[1].headers.at("Authorization").find("Credential=" + refreshed.access_key_id + "/"),
            std::string::npos);
  EXPECT_EQ(requests[0].headers.at("X-Amz-Security-Token"), with_session().session_token);
  expect_signed_as_sent(requests[0], with_session(), client.target());
  EXPECT_EQ(requests[1].headers.at("X-Amz-Security-Token"), refreshed.session_token);
  expect_signed_as_sent(requests[1], refreshed, client.target());
}

TEST(SqsClientWire, SendsToTheEndpointWhateverHostTheQueueUrlNames) {
  RecordingServer server(json_response(200, R"({"Attributes":{"ApproximateNumberOfMessages":"3"}})"));
  asio::io_context io;
  Client client(io.get_executor(), options_for(server.endpoint()));
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    const std::string_view names[] = {"ApproximateNumberOfMessages"};
    auto attributes = co_await client.get_queue_attributes("https://sqs.eu-west-1.amazonaws.invalid/1/q", names);
    CO_ASSERT(attributes);
    EXPECT_EQ(attributes->at("ApproximateNumberOfMessages"), "3");
  });
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].headers.at("X-Amz-Target"), "AmazonSQS.GetQueueAttributes");
  EXPECT_EQ(boost::json::parse(requests[0].body).at("QueueUrl"), "https://sqs.eu-west-1.amazonaws.invalid/1/q");
}

TEST(SqsClientWire, ParsesTheAwsJsonErrorShape) {
  RecordingServer server(
      json_response(400, R"({"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."})"));
  asio::io_context io;
  Client client(io.get_executor(), options_for(server.endpoint()));
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto url = co_await client.get_queue_url("missing");
    CO_ASSERT(!url);
    EXPECT_EQ(url.error().code, conveyor::sqs::make_error_code(SqsError::api_error));
    CO_ASSERT(url.error().api);
    EXPECT_EQ(url.error().api->type, "QueueDoesNotExist");
    EXPECT_EQ(url.error().api->message, "The specified queue does not exist.");
    EXPECT_EQ(url.error().api->status, 400u);
    EXPECT_FALSE(url.error().throttled());
    const std::string text = url.error().to_string();
    EXPECT_NE(text.find("QueueDoesNotExist"), std::string::npos);
    EXPECT_EQ(text.find(long_term().secret_access_key), std::string::npos);
  });
}

TEST(SqsClientWire, ReadsPartialBatchFailuresEntryByEntry) {
  RecordingServer server(json_response(200, R"({"Successful":[{"Id":"a"}],"Failed":[)"
                                            R"({"Id":"b","Code":"ReceiptHandleIsInvalid","Message":"gone","SenderFault":true},)"
                                            R"({"Id":"c","Code":"InternalError","SenderFault":false}]})"));
  asio::io_context io;
  Client client(io.get_executor(), options_for(server.endpoint()));
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    const conveyor::sqs::DeleteEntry entries[] = {{"a", "ra"}, {"b", "rb"}, {"c", "rc"}};
    auto deleted = co_await client.delete_message_batch("q", entries);
    CO_ASSERT(deleted);
    EXPECT_EQ(deleted->successful, std::vector<std::string>{"a"});
    CO_ASSERT(deleted->failed.size() == 2u);
    EXPECT_EQ(deleted->failed[0].id, "b");
    EXPECT_EQ(deleted->failed[0].code, "ReceiptHandleIsInvalid");
    EXPECT_EQ(deleted->failed[0].message, "gone");
    EXPECT_TRUE(deleted->failed[0].sender_fault);
    EXPECT_EQ(deleted->failed[1].id, "c");
    EXPECT_FALSE(deleted->failed[1].sender_fault);
  });
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].headers.at("X-Amz-Target"), "AmazonSQS.DeleteMessageBatch");
  EXPECT_EQ(boost::json::parse(requests[0].body).at("Entries").as_array().size(), 3u);
}

TEST(SqsClientWire, ThrottlingIsRecognisedByTypeOrStatus) {
  RecordingServer server(json_response(503, "<html>Service Unavailable</html>"));
  asio::io_context io;
  Client client(io.get_executor(), options_for(server.endpoint()));
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto url = co_await client.get_queue_url("q");
    CO_ASSERT(!url);
    CO_ASSERT(url.error().api);
    EXPECT_EQ(url.error().api->status, 503u);
    EXPECT_TRUE(url.error().throttled());
  });
  EXPECT_TRUE((ApiError{"ThrottlingException", "", 400}.throttled()));
  EXPECT_TRUE((ApiError{"RequestThrottled", "", 400}.throttled()));
  EXPECT_TRUE((ApiError{"TooManyRequestsException", "", 400}.throttled()));
  EXPECT_TRUE((ApiError{"", "", 429}.throttled()));
  EXPECT_FALSE((ApiError{"QueueDoesNotExist", "", 400}.throttled()));
}

TEST(SqsClientWire, TransportErrorsAreReturnedAsTheHttpClientReportsThem) {
  std::string endpoint;
  {
    RecordingServer server(json_response(200, "{}"));
    endpoint = server.endpoint();
  }  // closed: nothing listens on that port now
  asio::io_context io;
  Client client(io.get_executor(), options_for(endpoint));
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto url = co_await client.get_queue_url("q");
    CO_ASSERT(!url);
    EXPECT_FALSE(url.error().api);
    EXPECT_EQ(url.error().code, asio::error::connection_refused);
  });
}

TEST(SqsClientWire, RejectsArgumentsSqsWouldRefuse) {
  RecordingServer server(json_response(200, "{}"));
  asio::io_context io;
  Client client(io.get_executor(), options_for(server.endpoint()));
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto messages = co_await client.receive_message("q", 11, 0);
    CO_ASSERT(!messages);
    EXPECT_EQ(messages.error().code, boost::system::errc::invalid_argument);
  });
  EXPECT_TRUE(server.requests().empty());
  EXPECT_THROW(Client(io.get_executor(), options_for("not a url")), std::invalid_argument);
}

// ---------------------------------------------------------------------------
// Every action against fauxqs, a real SQS emulator on 127.0.0.1.

class SqsClientEmulator : public ::testing::Test {
 protected:
  void SetUp() override {
    emulator_.emplace();
  }

  std::string endpoint() const {
    return std::string(emulator_->endpoint());
  }

  // Creates the queue through the emulator's own tooling and finds it through the client.
  std::string make_queue(Client& client, asio::io_context& io, const std::string& name) {
    emulator_->create_queue(name);
    std::string url;
    run_coroutine(io, [&]() -> asio::awaitable<void> {
      auto found = co_await client.get_queue_url(name);
      CO_ASSERT(found);
      url = *found;
    });
    EXPECT_FALSE(url.empty());
    return url;
  }

  std::optional<conveyor::testing::SqsEmulator> emulator_;
};

// Receives until `count` messages arrived or `polls` long polls of 1 s came back short.
asio::awaitable<std::vector<conveyor::sqs::Message>> receive_all(Client& client, const std::string& url,
                                                                 std::size_t count, int polls = 10) {
  std::vector<conveyor::sqs::Message> all;
  for (int poll = 0; poll < polls && all.size() < count; ++poll) {
    auto messages = co_await client.receive_message(url, 10, 1, 30);
    EXPECT_TRUE(messages) << (messages ? "" : messages.error().to_string());
    if (!messages) break;
    for (auto& message : *messages) all.push_back(std::move(message));
  }
  co_return all;
}

std::vector<std::string> ids(std::size_t count) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < count; ++i) out.push_back("m" + std::to_string(i));
  return out;
}

TEST_F(SqsClientEmulator, GetQueueUrlOfCreatedAndUnknownQueues) {
  asio::io_context io;
  Client client(io.get_executor(), options_for(endpoint()));
  const std::string url = make_queue(client, io, "urls");
  EXPECT_NE(url.find("urls"), std::string::npos) << url;
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto missing = co_await client.get_queue_url("no-such-queue");
    CO_ASSERT(!missing);
    CO_ASSERT(missing.error().api);
    const std::string type = missing.error().api->type;  // error() returns a copy
    EXPECT_TRUE(type == "QueueDoesNotExist" || type == "AWS.SimpleQueueService.NonExistentQueue") << type;
    EXPECT_EQ(missing.error().api->status, 400u);
    EXPECT_FALSE(missing.error().throttled());
  });
}

TEST_F(SqsClientEmulator, SendReceiveDeleteAndCount) {
  asio::io_context io;
  Client client(io.get_executor(), options_for(endpoint()));
  const std::string url = make_queue(client, io, "roundtrip");
  const auto entry_ids = ids(10);
  std::vector<std::string> bodies;
  // Bodies that need JSON escaping, so the round trip checks it.
  for (std::size_t i = 0; i < 10; ++i) bodies.push_back(R"({"n":)" + std::to_string(i) + R"(,"s":"a\"b\u00e9 ü"})");
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    std::vector<conveyor::sqs::SendEntry> entries;
    for (std::size_t i = 0; i < 10; ++i) entries.push_back({entry_ids[i], bodies[i]});
    auto sent = co_await client.send_message_batch(url, entries);
    CO_ASSERT(sent);
    EXPECT_EQ(sent->successful.size(), 10u);
    EXPECT_TRUE(sent->failed.empty());
    for (const auto& success : sent->successful) EXPECT_FALSE(success.message_id.empty());

    auto received = co_await receive_all(client, url, 10);
    CO_ASSERT(received.size() == 10u);
    std::multiset<std::string> got, want(bodies.begin(), bodies.end());
    for (const auto& message : received) {
      got.insert(message.body);
      EXPECT_EQ(message.approximate_receive_count, 1u);
      EXPECT_FALSE(message.message_id.empty());
    }
    EXPECT_EQ(got, want);

    std::vector<conveyor::sqs::DeleteEntry> deletes;
    for (std::size_t i = 0; i < received.size(); ++i) deletes.push_back({entry_ids[i], received[i].receipt_handle});
    auto deleted = co_await client.delete_message_batch(url, deletes);
    CO_ASSERT(deleted);
    EXPECT_EQ(deleted->successful.size(), 10u);
    EXPECT_TRUE(deleted->failed.empty());

    const std::string_view names[] = {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                                      "MaximumMessageSize"};
    auto attributes = co_await client.get_queue_attributes(url, names);
    CO_ASSERT(attributes);
    EXPECT_EQ((*attributes)["ApproximateNumberOfMessages"], "0");
    EXPECT_EQ((*attributes)["ApproximateNumberOfMessagesNotVisible"], "0");
    EXPECT_FALSE((*attributes)["MaximumMessageSize"].empty());
  });
}

// SQS takes messages of up to 1 MiB. Ten of them in one ReceiveMessage answer, each made of
// quotes that JSON escaping doubles, still fit the client's response limit: such a receive
// must not fail (and so be retried) for ever.
TEST_F(SqsClientEmulator, TenMessagesOfOneMebibyteEachComeInOneReceive) {
  asio::io_context io;
  Client client(io.get_executor(), options_for(endpoint()));
  const std::string url = make_queue(client, io, "large");
  std::vector<std::string> bodies;
  for (std::size_t i = 0; i < 10; ++i) {
    bodies.push_back(std::to_string(i) + std::string(Client::max_message_bytes - 10, '"'));
  }
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    for (std::size_t i = 0; i < bodies.size(); ++i) {
      const conveyor::sqs::SendEntry entry{"m" + std::to_string(i), bodies[i]};
      auto sent = co_await client.send_message_batch(url, std::span(&entry, 1));
      CO_ASSERT(sent);
      CO_ASSERT(sent->successful.size() == 1u);
    }
    auto received = co_await client.receive_message(url, 10, 1, 30);
    CO_ASSERT(received);
    std::multiset<std::string> got, want(bodies.begin(), bodies.end());
    for (auto& message : *received) got.insert(std::move(message.body));
    // One receive may return fewer than ten; the rest come with the next ones, all whole.
    auto rest = co_await receive_all(client, url, 10 - received->size());
    for (auto& message : rest) got.insert(std::move(message.body));
    EXPECT_TRUE(got == want) << got.size() << " of 10 bodies came back whole";
  }, std::chrono::seconds(60));
}

TEST_F(SqsClientEmulator, VisibilityZeroMakesAMessageReceivableAgain) {
  asio::io_context io;
  Client client(io.get_executor(), options_for(endpoint()));
  const std::string url = make_queue(client, io, "visibility");
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    const conveyor::sqs::SendEntry entry{"only", "hello"};
    auto sent = co_await client.send_message_batch(url, std::span(&entry, 1));
    CO_ASSERT(sent && sent->successful.size() == 1u);

    auto first = co_await receive_all(client, url, 1);
    CO_ASSERT(first.size() == 1u);
    EXPECT_EQ(first[0].approximate_receive_count, 1u);
    // Hidden for 30 s now: nothing to receive without waiting.
    auto hidden = co_await client.receive_message(url, 10, 0);
    CO_ASSERT(hidden);
    EXPECT_TRUE(hidden->empty());

    const conveyor::sqs::VisibilityEntry change{"v", first[0].receipt_handle, 0};
    auto changed = co_await client.change_message_visibility_batch(url, std::span(&change, 1));
    CO_ASSERT(changed);
    EXPECT_EQ(changed->successful, std::vector<std::string>{"v"});
    EXPECT_TRUE(changed->failed.empty());

    auto again = co_await client.receive_message(url, 10, 0);
    CO_ASSERT(again);
    CO_ASSERT(again->size() == 1u);
    EXPECT_EQ((*again)[0].body, "hello");
    EXPECT_EQ((*again)[0].approximate_receive_count, 2u);

    // A stale receipt handle never fails the whole call. Real SQS fails the entry alone
    // (ReceiptHandleIsInvalid, parsed in SqsClientWire); fauxqs 1.9.2 accepts it as a no-op.
    const conveyor::sqs::DeleteEntry stale{"stale", "not-a-receipt-handle"};
    auto deleted = co_await client.delete_message_batch(url, std::span(&stale, 1));
    CO_ASSERT(deleted);
    EXPECT_EQ(deleted->successful.size() + deleted->failed.size(), 1u);
    for (const auto& failure : deleted->failed) {
      EXPECT_EQ(failure.id, "stale");
      EXPECT_FALSE(failure.code.empty());
    }
  });
}

// What parking relies on: a per-entry DelaySeconds hides the message that long, and the message
// attributes asked for by name come back (only those), and count toward the size limit.
TEST_F(SqsClientEmulator, SendMessageBatchDelaysEntriesAndCarriesNamedAttributes) {
  asio::io_context io;
  Client client(io.get_executor(), options_for(endpoint()));
  const std::string url = make_queue(client, io, "delayed");
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    const conveyor::sqs::MessageAttribute attributes[] = {
        {"conveyor-id", "original-id"}, {"conveyor-attempts", "3"}, {"other", "x"}};
    const conveyor::sqs::SendEntry entry{"0", "parked", attributes, 1};
    EXPECT_EQ(conveyor::sqs::message_size(entry.body, attributes),
              6u + (11 + 6 + 11) + (17 + 6 + 1) + (5 + 6 + 1));
    const auto sent_at = std::chrono::steady_clock::now();
    auto sent = co_await client.send_message_batch(url, std::span(&entry, 1));
    CO_ASSERT(sent && sent->successful.size() == 1u);
    auto early = co_await client.receive_message(url, 10, 0);
    CO_ASSERT(early);
    EXPECT_TRUE(early->empty()) << "delayed";

    static constexpr std::string_view names[] = {"conveyor-id", "conveyor-attempts"};
    std::vector<conveyor::sqs::Message> received;
    for (int poll = 0; poll < 5 && received.empty(); ++poll) {
      auto messages = co_await client.receive_message(url, 10, 1, 30, names);
      CO_ASSERT(messages);
      received = std::move(*messages);
    }
    CO_ASSERT(received.size() == 1u);
    EXPECT_GE(std::chrono::steady_clock::now() - sent_at, std::chrono::seconds(1));
    EXPECT_EQ(received[0].body, "parked");
    EXPECT_EQ(received[0].approximate_receive_count, 1u);
    const std::map<std::string, std::string> want = {{"conveyor-id", "original-id"}, {"conveyor-attempts", "3"}};
    EXPECT_EQ(received[0].attributes, want);
  });
}

// SQS refuses the whole call (BatchEntryIdsNotDistinct), not single entries.
TEST_F(SqsClientEmulator, DuplicateEntryIdsFailTheWholeBatch) {
  asio::io_context io;
  Client client(io.get_executor(), options_for(endpoint()));
  const std::string url = make_queue(client, io, "duplicates");
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    const conveyor::sqs::SendEntry entries[] = {{"same", "a"}, {"same", "b"}};
    auto sent = co_await client.send_message_batch(url, entries);
    CO_ASSERT(!sent);
    CO_ASSERT(sent.error().api);
    const std::string type = sent.error().api->type;  // error() returns a copy
    EXPECT_TRUE(type == "BatchEntryIdsNotDistinct" || type == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct")
        << type;
    EXPECT_EQ(sent.error().api->status, 400u);
  });
}

TEST_F(SqsClientEmulator, SessionTokenCredentialsWork) {
  asio::io_context io;
  Client client(io.get_executor(), options_for(endpoint(), with_session()));
  const std::string url = make_queue(client, io, "session");
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    const conveyor::sqs::SendEntry entry{"one", "with token"};
    auto sent = co_await client.send_message_batch(url, std::span(&entry, 1));
    CO_ASSERT(sent);
    EXPECT_EQ(sent->successful.size(), 1u);
    auto received = co_await receive_all(client, url, 1);
    CO_ASSERT(received.size() == 1u);
    EXPECT_EQ(received[0].body, "with token");
  });
}

}  // namespace
