#include "queue/sqs/sqs_client.h"

#include <fmt/format.h>

#include <array>
#include <boost/json/array.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/system/system_error.hpp>
#include <charconv>
#include <stdexcept>
#include <utility>

namespace conveyor::sqs {

namespace json = boost::json;
namespace asio = boost::asio;

namespace {

class SqsCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "conveyor.sqs"; }
  std::string message(int value) const override {
    switch (static_cast<SqsError>(value)) {
      case SqsError::ok: return "success";
      case SqsError::api_error: return "the SQS service refused the request";
      case SqsError::bad_response: return "the SQS service sent an unreadable response";
      case SqsError::no_credentials: return "no current AWS credentials (expired, and their refresh is failing)";
    }
    return "unknown SQS error";
  }
};

Failure fail(error_code code) { return Failure{code, std::nullopt}; }
Failure bad_response() { return fail(SqsError::bad_response); }
Failure invalid_argument() { return fail(make_error_code(boost::system::errc::invalid_argument)); }

http::PartnerClientOptions http_options(const ClientOptions& options) {
  http::PartnerClientOptions http;
  http.url = options.endpoint;
  http.connect_timeout = options.connect_timeout;
  http.request_timeout = options.request_timeout;
  http.max_connections = options.max_connections;
  http.max_response_body = Client::max_response_body;
  http.keep_body = Client::max_response_body;  // the whole body is the answer, not a log excerpt
  http.content_type = std::string(Client::content_type);
  return http;
}

std::string string_field(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  if (value && value->is_string()) return std::string(value->get_string());
  return {};
}

// AWS sends __type as "namespace#Type" and some services append ":<doc URL>"; callers match
// on the bare type, as the SDKs do.
std::string bare_type(std::string_view type) {
  if (auto hash = type.rfind('#'); hash != std::string_view::npos) type.remove_prefix(hash + 1);
  if (auto colon = type.find(':'); colon != std::string_view::npos) type = type.substr(0, colon);
  return std::string(type);
}

// A non-2xx answer: the AWS JSON error shape when it is one, else just the status (a proxy's
// HTML 503 must still read as throttling).
ApiError parse_api_error(const http::PartnerResponse& response) {
  ApiError error;
  error.status = response.status;
  error_code ec;
  json::value value = json::parse(response.body_prefix, ec);
  if (!ec && value.is_object()) {
    const json::object& object = value.get_object();
    error.type = bare_type(string_field(object, "__type"));
    error.message = string_field(object, "message");
    if (error.message.empty()) error.message = string_field(object, "Message");
  }
  return error;
}

bool parse_bool(const json::value* value) {
  if (!value) return false;
  if (value->is_bool()) return value->get_bool();
  return value->is_string() && value->get_string() == "true";  // lenient: some emulators quote it
}

unsigned parse_count(std::string_view text) {
  unsigned count = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
  return ec == std::errc{} && end == text.data() + text.size() ? count : 0;
}

// "Failed": [{Id, Code, Message, SenderFault}]; absent means none failed.
Result<std::vector<BatchFailure>> parse_failed(const json::object& answer) {
  std::vector<BatchFailure> failed;
  const json::value* list = answer.if_contains("Failed");
  if (!list || list->is_null()) return failed;
  if (!list->is_array()) return make_error_code(SqsError::bad_response);
  for (const json::value& item : list->get_array()) {
    if (!item.is_object()) return make_error_code(SqsError::bad_response);
    const json::object& entry = item.get_object();
    failed.push_back({string_field(entry, "Id"), string_field(entry, "Code"), string_field(entry, "Message"),
                      parse_bool(entry.if_contains("SenderFault"))});
  }
  return failed;
}

// "Successful": [{Id, ...}]; each object handed to `add`.
template <class Add>
bool parse_successful(const json::object& answer, Add add) {
  const json::value* list = answer.if_contains("Successful");
  if (!list || list->is_null()) return true;
  if (!list->is_array()) return false;
  for (const json::value& item : list->get_array()) {
    if (!item.is_object()) return false;
    add(item.get_object());
  }
  return true;
}

// The QueueUrl of a GetQueueUrl or CreateQueue answer.
Outcome<std::string> queue_url_of(const Outcome<json::object>& answer) {
  if (!answer) return answer.error();
  std::string url = string_field(*answer, "QueueUrl");
  if (url.empty()) return bad_response();
  return url;
}

Outcome<BatchResult> parse_batch_result(const json::object& answer) {
  BatchResult result;
  if (!parse_successful(answer, [&](const json::object& entry) { result.successful.push_back(string_field(entry, "Id")); })) {
    return bad_response();
  }
  auto failed = parse_failed(answer);
  if (!failed) return bad_response();
  result.failed = std::move(*failed);
  return result;
}

}  // namespace

const boost::system::error_category& sqs_category() noexcept {
  static const SqsCategory category;
  return category;
}

std::size_t message_size(std::string_view body, std::span<const MessageAttribute> attributes) {
  std::size_t size = body.size();
  for (const MessageAttribute& attribute : attributes) {
    size += attribute.name.size() + std::string_view("String").size() + attribute.value.size();
  }
  return size;
}

bool ApiError::throttled() const {
  static constexpr std::array<std::string_view, 3> types = {"ThrottlingException", "RequestThrottled",
                                                           "TooManyRequestsException"};
  for (std::string_view name : types) {
    if (type == name) return true;
  }
  return status == 429 || status == 503;
}

bool Failure::retryable() const {
  if (api) return api->throttled() || api->status >= 500;
  return code != make_error_code(SqsError::bad_response) && code != boost::system::errc::invalid_argument;
}

std::string Failure::to_string() const {
  if (!api) return code.message();
  return fmt::format("SQS {} (HTTP {}): {}", api->type.empty() ? "error" : api->type, api->status,
                     api->message.empty() ? "no message" : api->message);
}

void throw_exception_from_error(const Failure& failure, const boost::source_location& location) {
  boost::throw_exception(boost::system::system_error(failure.code, failure.to_string()), location);
}

Result<aws::Headers> signed_headers(const http::Target& target, std::string_view action, std::string_view body,
                                    const aws::Credentials& credentials, std::string_view region,
                                    std::string_view amz_date) {
  const std::string amz_target = fmt::format("AmazonSQS.{}", action);
  // Exactly the Host and Content-Type lines PartnerClient writes, so AWS recomputes our signature.
  const std::array<aws::Header, 3> to_sign = {aws::Header{"Host", target.host_header},
                                              aws::Header{"Content-Type", std::string(Client::content_type)},
                                              aws::Header{"X-Amz-Target", amz_target}};
  std::string_view request_target = target.request_target;
  const auto question = request_target.find('?');
  aws::SigningRequest request{.method = "POST",
                              .path = request_target.substr(0, question),
                              .query = question == std::string_view::npos ? std::string_view{}
                                                                          : request_target.substr(question + 1),
                              .headers = to_sign,
                              .body = body};
  auto signature = aws::sign(request, credentials, region, "sqs", amz_date);
  if (!signature) return signature.error();
  aws::Headers headers;
  headers.emplace_back("X-Amz-Target", amz_target);
  aws::add_signature_headers(headers, *signature, credentials);
  return headers;
}

Client::Client(asio::any_io_executor executor, ClientOptions options)
    : options_(std::move(options)), http_(std::move(executor), http_options(options_)) {
  if (options_.region.empty()) throw std::invalid_argument("SQS client: the region is empty");
}

asio::awaitable<Outcome<json::object>> Client::call(std::string_view action, json::object request) {
  const std::string body = json::serialize(request);
  aws::CredentialsPtr live;  // held until signed: a refresh may replace the provider's set meanwhile
  if (options_.credentials_provider) {
    live = options_.credentials_provider->current();
    if (!live) co_return fail(SqsError::no_credentials);
  }
  auto headers = signed_headers(http_.target(), action, body, live ? *live : options_.credentials, options_.region,
                                aws::format_amz_date(std::chrono::system_clock::now()));
  if (!headers) co_return fail(headers.error());
  std::vector<http::HeaderField> fields;
  fields.reserve(headers->size());
  for (auto& [name, value] : *headers) fields.push_back({std::move(name), std::move(value)});

  auto response = co_await http_.post(body, fields);
  if (!response) co_return fail(response.error());
  if (!response->delivered()) co_return Failure{make_error_code(SqsError::api_error), parse_api_error(*response)};
  // Some actions answer 200 with an empty body; that is an empty object.
  if (response->body_prefix.empty()) co_return json::object{};
  error_code ec;
  // The answer's strings and containers come from one arena that lives as long as the answer: a
  // receive of ten messages is dozens of strings, which would otherwise be as many mallocs and frees.
  json::value answer = json::parse(response->body_prefix, ec,
                                   json::make_shared_resource<json::monotonic_resource>(response->body_prefix.size()));
  if (ec || !answer.is_object()) co_return bad_response();
  co_return std::move(answer.get_object());
}

asio::awaitable<Outcome<std::string>> Client::get_queue_url(std::string_view queue_name) {
  // Objects are built before co_await: GCC 12 miscompiles braced lists inside a co_await expression.
  json::object request{{"QueueName", queue_name}};
  auto answer = co_await call("GetQueueUrl", std::move(request));
  co_return queue_url_of(answer);
}

asio::awaitable<Outcome<std::string>> Client::create_queue(std::string_view queue_name,
                                                           const std::map<std::string, std::string>& attributes) {
  json::object fields;
  for (const auto& [key, value] : attributes) fields[key] = value;
  json::object request{{"QueueName", queue_name}, {"Attributes", std::move(fields)}};
  auto answer = co_await call("CreateQueue", std::move(request));
  co_return queue_url_of(answer);
}

asio::awaitable<Outcome<SendBatchResult>> Client::send_message_batch(std::string_view queue_url,
                                                                     std::span<const SendEntry> entries) {
  json::array list;
  list.reserve(entries.size());
  for (const SendEntry& entry : entries) {
    json::object item{{"Id", entry.id}, {"MessageBody", entry.body}};
    if (entry.delay_seconds > 0) item["DelaySeconds"] = entry.delay_seconds;
    if (!entry.attributes.empty()) {
      json::object attributes;
      for (const MessageAttribute& attribute : entry.attributes) {
        attributes[attribute.name] = json::object{{"DataType", "String"}, {"StringValue", attribute.value}};
      }
      item["MessageAttributes"] = std::move(attributes);
    }
    list.push_back(std::move(item));
  }
  json::object request{{"QueueUrl", queue_url}, {"Entries", std::move(list)}};
  auto answer = co_await call("SendMessageBatch", std::move(request));
  if (!answer) co_return answer.error();

  SendBatchResult result;
  if (!parse_successful(*answer, [&](const json::object& entry) {
        result.successful.push_back({string_field(entry, "Id"), string_field(entry, "MessageId")});
      })) {
    co_return bad_response();
  }
  auto failed = parse_failed(*answer);
  if (!failed) co_return bad_response();
  result.failed = std::move(*failed);
  co_return result;
}

asio::awaitable<Outcome<std::vector<Message>>> Client::receive_message(std::string_view queue_url, int max_messages,
                                                                       int wait_time_seconds,
                                                                       std::optional<int> visibility_timeout_seconds,
                                                                       std::span<const std::string_view> message_attributes) {
  if (max_messages < 1 || max_messages > 10 || wait_time_seconds < 0 || wait_time_seconds > 20) {
    co_return invalid_argument();
  }
  json::object request{{"QueueUrl", queue_url},
                       {"MaxNumberOfMessages", max_messages},
                       {"WaitTimeSeconds", wait_time_seconds},
                       // The current name, and the deprecated one for servers that predate it.
                       {"MessageSystemAttributeNames", json::array{"ApproximateReceiveCount"}},
                       {"AttributeNames", json::array{"ApproximateReceiveCount"}}};
  if (visibility_timeout_seconds) request["VisibilityTimeout"] = *visibility_timeout_seconds;
  if (!message_attributes.empty()) {
    json::array names;
    for (std::string_view name : message_attributes) names.emplace_back(name);
    request["MessageAttributeNames"] = std::move(names);
  }
  auto answer = co_await call("ReceiveMessage", std::move(request));
  if (!answer) co_return answer.error();

  std::vector<Message> messages;
  const json::value* list = answer->if_contains("Messages");
  if (!list || list->is_null()) co_return messages;  // an empty poll omits the list
  if (!list->is_array()) co_return bad_response();
  messages.reserve(list->get_array().size());
  for (const json::value& item : list->get_array()) {
    if (!item.is_object()) co_return bad_response();
    const json::object& entry = item.get_object();
    Message message{string_field(entry, "MessageId"), string_field(entry, "ReceiptHandle"),
                    string_field(entry, "Body"), 0, {}};
    if (const json::value* attributes = entry.if_contains("Attributes"); attributes && attributes->is_object()) {
      message.approximate_receive_count = parse_count(string_field(attributes->get_object(), "ApproximateReceiveCount"));
    }
    if (const json::value* attributes = entry.if_contains("MessageAttributes"); attributes && attributes->is_object()) {
      for (const auto& [name, value] : attributes->get_object()) {
        if (value.is_object()) message.attributes[std::string(name)] = string_field(value.get_object(), "StringValue");
      }
    }
    if (message.receipt_handle.empty()) co_return bad_response();  // unusable: it could never be deleted
    messages.push_back(std::move(message));
  }
  co_return messages;
}

asio::awaitable<Outcome<BatchResult>> Client::delete_message_batch(std::string_view queue_url,
                                                                   std::span<const DeleteEntry> entries) {
  json::array list;
  list.reserve(entries.size());
  for (const DeleteEntry& entry : entries) {
    list.push_back(json::object{{"Id", entry.id}, {"ReceiptHandle", entry.receipt_handle}});
  }
  json::object request{{"QueueUrl", queue_url}, {"Entries", std::move(list)}};
  auto answer = co_await call("DeleteMessageBatch", std::move(request));
  if (!answer) co_return answer.error();
  co_return parse_batch_result(*answer);
}

asio::awaitable<Outcome<BatchResult>> Client::change_message_visibility_batch(
    std::string_view queue_url, std::span<const VisibilityEntry> entries) {
  json::array list;
  list.reserve(entries.size());
  for (const VisibilityEntry& entry : entries) {
    list.push_back(json::object{{"Id", entry.id},
                                {"ReceiptHandle", entry.receipt_handle},
                                {"VisibilityTimeout", entry.visibility_timeout_seconds}});
  }
  json::object request{{"QueueUrl", queue_url}, {"Entries", std::move(list)}};
  auto answer = co_await call("ChangeMessageVisibilityBatch", std::move(request));
  if (!answer) co_return answer.error();
  co_return parse_batch_result(*answer);
}

asio::awaitable<Outcome<std::map<std::string, std::string>>> Client::get_queue_attributes(
    std::string_view queue_url, std::span<const std::string_view> names) {
  json::array list;
  for (std::string_view name : names) list.emplace_back(name);
  json::object request{{"QueueUrl", queue_url}, {"AttributeNames", std::move(list)}};
  auto answer = co_await call("GetQueueAttributes", std::move(request));
  if (!answer) co_return answer.error();

  std::map<std::string, std::string> attributes;
  const json::value* map = answer->if_contains("Attributes");
  if (!map || map->is_null()) co_return attributes;
  if (!map->is_object()) co_return bad_response();
  for (const auto& [key, value] : map->get_object()) {
    // Values are strings in SQS; render anything else rather than drop it.
    attributes.emplace(std::string(key), value.is_string() ? std::string(value.get_string()) : json::serialize(value));
  }
  co_return attributes;
}

}  // namespace conveyor::sqs
