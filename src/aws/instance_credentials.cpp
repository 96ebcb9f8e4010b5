#include "aws/instance_credentials.h"

#include <fmt/format.h>

#include <array>
#include <vector>
#include <boost/json/parse.hpp>

#include "core/text.h"
#include "http/fetch.h"

namespace conveyor::aws {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

constexpr std::string_view kTokenPath = "/latest/api/token";
constexpr std::string_view kRolesPath = "/latest/meta-data/iam/security-credentials/";
constexpr std::string_view kTokenTtl = "21600";  // 6 h, the SDKs' value; one token serves one fetch

std::string_view string_field(const json::object& object, std::string_view name) {
  const json::value* value = object.if_contains(name);
  return value && value->is_string() ? std::string_view(value->get_string()) : std::string_view{};
}

// One metadata request; owns its arguments, so the caller's temporaries may go before it is awaited.
asio::awaitable<Result<http::FetchedPage>> metadata_call(std::string method, std::string url,
                                                         std::vector<http::HeaderField> headers,
                                                         const InstanceOptions& options) {
  co_return co_await http::request({.method = method,
                                    .url = url,
                                    .headers = headers,
                                    .connect_timeout = options.connect_timeout,
                                    .timeout = options.request_timeout});
}

std::string without_trailing_slash(std::string url) {
  while (url.ends_with('/')) url.pop_back();
  return url;
}

}  // namespace

InstanceCredentials::InstanceCredentials(InstanceOptions options)
    : options_(std::move(options)), base_(without_trailing_slash(options_.endpoint)) {}

asio::awaitable<SourceOutcome> InstanceCredentials::fetch() {
  if (options_.disabled) co_return SourceFailure{false, "AWS_EC2_METADATA_DISABLED=true"};
  const auto failed = [&](bool configured, std::string why) {
    return SourceFailure{configured, fmt::format("{}: {}", base_, why)};
  };
  const auto call = [&](std::string_view method, std::string_view path, std::span<const http::HeaderField> headers) {
    return metadata_call(std::string(method), base_ + std::string(path), {headers.begin(), headers.end()},
                         options_);
  };

  const std::array<http::HeaderField, 1> ttl = {http::HeaderField{"X-aws-ec2-metadata-token-ttl-seconds", std::string(kTokenTtl)}};
  auto token = co_await call("PUT", kTokenPath, ttl);
  if (!token) co_return failed(false, fmt::format("no answer ({})", token.error().message()));
  if (token->status != 200 || token->body.empty()) {
    // Not an IMDSv2 service (a proxy answering for the address, IMDSv1 only): nothing to use.
    co_return failed(false, fmt::format("the session token request was answered {}", token->status));
  }
  const std::array<http::HeaderField, 1> session = {http::HeaderField{"X-aws-ec2-metadata-token", token->body}};

  auto roles = co_await call("GET", kRolesPath, session);
  if (!roles) co_return failed(true, fmt::format("the role list is unreachable ({})", roles.error().message()));
  if (roles->status == 404) co_return failed(false, "no IAM role is attached to this instance");
  if (roles->status != 200) co_return failed(true, fmt::format("the role list was answered {}", roles->status));
  const std::string role(trim_blanks(std::string_view(roles->body).substr(0, roles->body.find('\n'))));
  if (role.empty() || role.find('/') != std::string::npos) co_return failed(true, "the role list names no usable role");

  auto keys = co_await call("GET", std::string(kRolesPath) + role, session);
  if (!keys) co_return failed(true, fmt::format("role {} unreachable ({})", role, keys.error().message()));
  if (keys->status != 200) co_return failed(true, fmt::format("role {} was answered {}", role, keys->status));
  error_code ec;
  const json::value answer = json::parse(keys->body, ec);
  if (ec || !answer.is_object()) co_return failed(true, fmt::format("role {}: the answer is not a JSON object", role));
  const json::object& object = answer.get_object();
  if (const auto code = string_field(object, "Code"); !code.empty() && code != "Success") {
    co_return failed(true, fmt::format("role {}: {} ({})", role, quote_remote(code),
                                       quote_remote(string_field(object, "Message"))));
  }
  co_return temporary_credentials(string_field(object, "AccessKeyId"), string_field(object, "SecretAccessKey"),
                                  string_field(object, "Token"), string_field(object, "Expiration"),
                                  fmt::format("{} (role {})", base_, role));
}

}  // namespace conveyor::aws
