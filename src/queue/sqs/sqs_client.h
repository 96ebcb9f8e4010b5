// Amazon SQS over its JSON protocol (application/x-amz-json-1.0): every call is one SigV4-signed
// POST / to the configured endpoint on a keep-alive pool, and ends within request_timeout with a
// value or a Failure (transport error or the service's ApiError); secrets never reach an error.
// One Client per io_context (thread), used only from it, like http::PartnerClient: no locks.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/assert/source_location.hpp>
#include <boost/json/object.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aws/credentials_provider.h"
#include "aws/sigv4.h"
#include "core/error.h"
#include "http/client.h"
#include "http/target.h"

namespace conveyor::sqs {

struct ClientOptions {
  // http(s)://host:port of SQS (or an emulator, SQS_ENDPOINT). Every request goes here, whatever
  // host a queue URL names: the queue URL is only the QueueUrl field of the body.
  std::string endpoint;
  std::string region;
  // When set, every request is signed with its current() set (a pointer copy under a lock per
  // request); otherwise with `credentials`. Shared by every client of the process; must be
  // thread-safe (aws::CredentialsProvider is).
  std::shared_ptr<const aws::CredentialsProvider> credentials_provider;
  aws::Credentials credentials;
  std::chrono::milliseconds connect_timeout{5'000};
  // Must exceed the longest receive_message wait_time_seconds, or long polls time out.
  std::chrono::milliseconds request_timeout{30'000};
  std::size_t max_connections = 64;
};

// The service's answer to a call it refused (any non-2xx status).
struct ApiError {
  std::string type;     // "__type" without its "namespace#" prefix, e.g. "QueueDoesNotExist"; may be empty
  std::string message;  // "message" or "Message"; may be empty
  unsigned status = 0;  // HTTP status

  // The caller should back off and retry: a throttling type, 429 or 503.
  bool throttled() const;
};

enum class SqsError {
  ok = 0,
  api_error = 1,  // the service refused the call: Failure::api says why
  bad_response,   // a 2xx answer that is not the JSON the action returns
  no_credentials, // the credentials provider has none current (expired, refresh failing): nothing sent
};
const boost::system::error_category& sqs_category() noexcept;
inline error_code make_error_code(SqsError e) noexcept { return {static_cast<int>(e), sqs_category()}; }

// Why a call failed. `code` is always set:
//   SqsError::api_error with `api` filled, for any non-2xx answer;
//   SqsError::bad_response for a 2xx answer we cannot read;
//   errc::invalid_argument for arguments SQS could only refuse (or credentials sign() refuses);
//   SqsError::no_credentials when the provider has no current credentials (retryable: a refresh heals it);
//   otherwise the transport error exactly as http::PartnerClient::post returns it.
struct Failure {
  error_code code;
  std::optional<ApiError> api;

  bool throttled() const { return api && api->throttled(); }
  // Worth sending again unchanged: a transport failure, throttling or a server-side (5xx) error;
  // not a request the service refused as wrong, nor arguments refused before sending.
  bool retryable() const;
  std::string to_string() const;  // "SQS QueueDoesNotExist (HTTP 400): ..." or the code's message
};
// Lets Outcome<T>::value() throw (a boost::system::system_error carrying the message).
[[noreturn]] void throw_exception_from_error(const Failure& failure, const boost::source_location& location);

template <class T>
using Outcome = boost::system::result<T, Failure>;

// Batch entries are views: they must stay valid until the call's awaitable completes.
struct MessageAttribute {
  std::string_view name;
  std::string_view value;  // sent as DataType String
};
struct SendEntry {
  std::string_view id;  // unique within the batch
  std::string_view body;
  std::span<const MessageAttribute> attributes = {};
  int delay_seconds = 0;  // 0..900: hidden this long after the send (standard queues only)
};
// What SQS counts against its size limits: the body, and each attribute's name, type and value.
std::size_t message_size(std::string_view body, std::span<const MessageAttribute> attributes);
struct DeleteEntry {
  std::string_view id;
  std::string_view receipt_handle;
};
struct VisibilityEntry {
  std::string_view id;
  std::string_view receipt_handle;
  int visibility_timeout_seconds = 0;
};

// One entry of a batch that failed on its own while the call as a whole succeeded.
struct BatchFailure {
  std::string id;
  std::string code;
  std::string message;
  bool sender_fault = false;  // our request was wrong: retrying it unchanged will not help
};

struct SendSuccess {
  std::string id;
  std::string message_id;
};
struct SendBatchResult {
  std::vector<SendSuccess> successful;
  std::vector<BatchFailure> failed;
};

struct BatchResult {
  std::vector<std::string> successful;  // entry ids
  std::vector<BatchFailure> failed;
};

struct Message {
  std::string message_id;
  std::string receipt_handle;
  std::string body;
  unsigned approximate_receive_count = 0;  // 0 when the server did not report it
  std::map<std::string, std::string> attributes;  // String message attributes, when asked for
};

class Client {
 public:
  // The largest message SQS takes (1 MiB since 2025).
  static constexpr std::size_t max_message_bytes = 1024 * 1024;
  // A ReceiveMessage answer of 10 such messages, JSON-escaped: an escape at most triples a
  // byte (a 2-byte UTF-8 character written as \uXXXX; a quote or control character only
  // doubles), plus ids, receipt handles and attributes.
  static constexpr std::size_t max_response_body = 10 * max_message_bytes * 3 + 1024 * 1024;
  static constexpr std::string_view content_type = "application/x-amz-json-1.0";

  // Throws std::invalid_argument for a bad endpoint, an empty region or bad limits.
  // `executor` must be the single-threaded io_context this client lives on.
  Client(boost::asio::any_io_executor executor, ClientOptions options);
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  boost::asio::awaitable<Outcome<std::string>> get_queue_url(std::string_view queue_name);

  // Creates the queue (or finds an identical one) and returns its URL. Conveyor never creates
  // production queues; this serves tests, benchmarks and local emulators.
  boost::asio::awaitable<Outcome<std::string>> create_queue(std::string_view queue_name,
                                                            const std::map<std::string, std::string>& attributes);

  boost::asio::awaitable<Outcome<SendBatchResult>> send_message_batch(std::string_view queue_url,
                                                                      std::span<const SendEntry> entries);

  // max_messages in 1..10; wait_time_seconds in 0..20 (long poll); no visibility timeout means
  // the queue's default. Message attributes only those named (all_attributes: every one); the
  // names must stay valid until the call completes.
  static constexpr std::string_view all_attributes[] = {"All"};
  boost::asio::awaitable<Outcome<std::vector<Message>>> receive_message(
      std::string_view queue_url, int max_messages, int wait_time_seconds,
      std::optional<int> visibility_timeout_seconds = std::nullopt,
      std::span<const std::string_view> message_attributes = {});

  boost::asio::awaitable<Outcome<BatchResult>> delete_message_batch(std::string_view queue_url,
                                                                    std::span<const DeleteEntry> entries);

  boost::asio::awaitable<Outcome<BatchResult>> change_message_visibility_batch(
      std::string_view queue_url, std::span<const VisibilityEntry> entries);

  // e.g. ApproximateNumberOfMessages, ApproximateNumberOfMessagesNotVisible, MaximumMessageSize.
  boost::asio::awaitable<Outcome<std::map<std::string, std::string>>> get_queue_attributes(
      std::string_view queue_url, std::span<const std::string_view> names);

  // Fails every call in flight at once; for shutdowns past their deadline.
  void cancel_all() { http_.cancel_all(); }
  const http::Target& target() const noexcept { return http_.target(); }

 private:
  // Signs and posts one action; the parsed JSON object of a 2xx answer. `action` must be a literal.
  boost::asio::awaitable<Outcome<boost::json::object>> call(std::string_view action, boost::json::object request);

  ClientOptions options_;  // the credentials sign every request
  http::PartnerClient http_;
};

// The per-request header lines of one call, in the order sent: X-Amz-Target, then
// X-Amz-Security-Token (with a session token), X-Amz-Date and Authorization. Host and Content-Type
// are signed with the exact values the HTTP client writes (target.host_header, Client::content_type).
// Exposed so tests can check that what is signed is what goes on the wire.
Result<aws::Headers> signed_headers(const http::Target& target, std::string_view action, std::string_view body,
                                    const aws::Credentials& credentials, std::string_view region,
                                    std::string_view amz_date);

}  // namespace conveyor::sqs

template <>
struct boost::system::is_error_code_enum<conveyor::sqs::SqsError> : std::true_type {};
