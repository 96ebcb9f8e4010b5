#include "aws/container_credentials.h"

#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <vector>

#include "aws/token_file.h"
#include "core/text.h"
#include "http/fetch.h"

namespace conveyor::aws {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

constexpr std::string_view kEcsAgent = "http://169.254.170.2";

std::string url_of(const ContainerOptions& options) {
  if (!options.relative_uri.empty()) {
    return fmt::format("{}{}{}", kEcsAgent, options.relative_uri.starts_with('/') ? "" : "/", options.relative_uri);
  }
  return options.full_uri;
}

// Why a FULL_URI may not carry the token, or "" when it may.
std::string refused_host(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return "not a URL";
  if (parsed->scheme() == "https") return "https is not supported (use the agent's http:// address)";
  if (parsed->scheme() != "http") return "not an http:// URL";
  const std::string host(parsed->encoded_host());
  if (host == "localhost" || host.starts_with("127.") || host == "[::1]" || host == "169.254.170.2" ||
      host == "169.254.170.23" || host == "[fd00:ec2::23]") {
    return "";
  }
  return "a plain http:// host must be loopback or the ECS / EKS agent (169.254.170.2, 169.254.170.23)";
}

std::string_view string_field(const json::object& object, std::string_view name) {
  const json::value* value = object.if_contains(name);
  return value && value->is_string() ? std::string_view(value->get_string()) : std::string_view{};
}

}  // namespace

ContainerCredentials::ContainerCredentials(ContainerOptions options)
    : options_(std::move(options)), url_(url_of(options_)) {}

asio::awaitable<SourceOutcome> ContainerCredentials::fetch() {
  if (url_.empty()) {
    co_return SourceFailure{false, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not set"};
  }
  const auto failed = [&](std::string why) { return SourceFailure{true, fmt::format("{}: {}", url_, why)}; };
  if (options_.relative_uri.empty()) {
    if (const std::string why = refused_host(url_); !why.empty()) co_return failed(why);
  }
  std::string token = options_.authorization_token;
  if (!options_.authorization_token_file.empty()) {
    auto read = read_token_file(options_.authorization_token_file);
    if (!read) {
      co_return failed(fmt::format("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {} cannot be read ({})",
                                   options_.authorization_token_file, read.error().message()));
    }
    token = std::move(*read);
  }
  std::vector<http::HeaderField> headers = {{"Accept", "application/json"}};
  if (!token.empty()) headers.push_back({"Authorization", token});
  auto page = co_await http::request({.method = "GET",
                                      .url = url_,
                                      .headers = headers,
                                      .connect_timeout = options_.connect_timeout,
                                      .timeout = options_.request_timeout});
  if (!page) co_return failed(fmt::format("unreachable ({})", page.error().message()));
  error_code ec;
  const json::value answer = json::parse(page->body, ec);
  const json::object* object = !ec && answer.is_object() ? &answer.get_object() : nullptr;
  if (page->status < 200 || page->status >= 300) {
    std::string why = fmt::format("answered {}", page->status);
    if (object && !string_field(*object, "Code").empty()) {
      why += fmt::format(": {} ({})", quote_remote(string_field(*object, "Code"), token),
                         quote_remote(string_field(*object, "Message"), token));
    }
    co_return failed(why);
  }
  if (!object) co_return failed("its answer is not a JSON object");
  co_return temporary_credentials(string_field(*object, "AccessKeyId"), string_field(*object, "SecretAccessKey"),
                                  string_field(*object, "Token"), string_field(*object, "Expiration"),
                                  url_);
}

}  // namespace conveyor::aws
