#include "support/credentials_stand_in.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <condition_variable>
#include <ctime>
#include <stdexcept>

namespace conveyor::testing {

struct CredentialsStandIn::State final : http::ServerHandler {
  explicit State(Answer a) : answer(std::move(a)), server({}, *this) {}

  boost::asio::awaitable<http::ServerResponse> handle(const http::ServerRequest& request) override {
    SeenRequest seen{std::string(request.method()), std::string(request.target()), std::string(request.body()), {}};
    for (std::string_view name : recorded_headers) {
      if (auto value = request.header(name); !value.empty()) seen.headers[std::string(name)] = std::string(value);
    }
    std::size_t index = 0;
    {
      std::lock_guard lock(mutex);
      index = seen_requests.size();
      seen_requests.push_back(seen);
    }
    changed.notify_all();
    co_return answer(seen, index);
  }

  Answer answer;
  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::vector<SeenRequest> seen_requests;
  http::Server server;
};

CredentialsStandIn::CredentialsStandIn(Answer answer) : state_(std::make_unique<State>(std::move(answer))) {
  if (state_->server.listen()) throw std::runtime_error("credentials stand-in: cannot listen on 127.0.0.1");
  state_->server.start();
}

CredentialsStandIn::~CredentialsStandIn() { state_->server.stop(); }

std::string CredentialsStandIn::url(std::string_view path) const {
  return fmt::format("http://127.0.0.1:{}{}", state_->server.local_endpoint().port(), path);
}

std::vector<SeenRequest> CredentialsStandIn::requests() const {
  std::lock_guard lock(state_->mutex);
  return state_->seen_requests;
}

bool CredentialsStandIn::wait_for(std::size_t count, std::chrono::milliseconds limit) const {
  std::unique_lock lock(state_->mutex);
  return state_->changed.wait_for(lock, limit, [&] { return state_->seen_requests.size() >= count; });
}

http::ServerResponse json_answer(unsigned status, std::string body) {
  http::ServerResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

http::ServerResponse text_answer(unsigned status, std::string body) {
  http::ServerResponse response;
  response.status = status;
  response.content_type = "text/plain";
  response.body = std::move(body);
  return response;
}

aws::SourceOutcome fetch_now(aws::CredentialsSource& source) {
  boost::asio::io_context io;
  auto future = boost::asio::co_spawn(io, source.fetch(), boost::asio::use_future);
  io.run_for(std::chrono::seconds(30));
  if (future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    throw std::runtime_error("credentials fetch did not end within 30 s");
  }
  return future.get();
}

::testing::AssertionResult yields(const aws::SourceOutcome& outcome, const aws::Credentials& issued,
                                  std::chrono::system_clock::time_point expires) {
  if (!outcome) return ::testing::AssertionFailure() << "no credentials: " << outcome.error().message;
  const aws::Credentials& got = outcome->credentials;
  if (got.access_key_id != issued.access_key_id || got.secret_access_key != issued.secret_access_key ||
      got.session_token != issued.session_token) {
    return ::testing::AssertionFailure() << "other credentials: " << got.access_key_id;  // never the secrets
  }
  if (!outcome->expiration) return ::testing::AssertionFailure() << "no expiration";
  if (std::chrono::abs(*outcome->expiration - expires) > std::chrono::seconds(2)) {
    return ::testing::AssertionFailure() << "expires " << iso8601(*outcome->expiration) << ", not " << iso8601(expires);
  }
  return ::testing::AssertionSuccess();
}

std::string iso8601(std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", utc);
}

std::string credentials_json(const aws::Credentials& credentials, std::chrono::system_clock::time_point expiration,
                             bool imds) {
  boost::json::object answer{{"AccessKeyId", credentials.access_key_id},
                             {"SecretAccessKey", credentials.secret_access_key},
                             {"Token", credentials.session_token},
                             {"Expiration", iso8601(expiration)}};
  if (imds) {
    answer["Code"] = "Success";
    answer["Type"] = "AWS-HMAC";
    answer["LastUpdated"] = iso8601(std::chrono::system_clock::now());
  } else {
    answer["RoleArn"] = "arn:aws:iam::123456789012:role/conveyor";
  }
  return boost::json::serialize(answer);
}

std::string sts_answer(const aws::Credentials& credentials, std::chrono::system_clock::time_point expiration) {
  return fmt::format(
      "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
      "  <AssumeRoleWithWebIdentityResult>\n"
      "    <SubjectFromWebIdentityToken>system:serviceaccount:jobs:conveyor</SubjectFromWebIdentityToken>\n"
      "    <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/conveyor/s</Arn>"
      "<AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>\n"
      "    <Credentials>\n"
      "      <SessionToken>{}</SessionToken>\n"
      "      <SecretAccessKey>{}</SecretAccessKey>\n"
      "      <Expiration>{}</Expiration>\n"
      "      <AccessKeyId>{}</AccessKeyId>\n"
      "    </Credentials>\n"
      "  </AssumeRoleWithWebIdentityResult>\n"
      "  <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>\n"
      "</AssumeRoleWithWebIdentityResponse>\n",
      credentials.session_token, credentials.secret_access_key, iso8601(expiration), credentials.access_key_id);
}

}  // namespace conveyor::testing
