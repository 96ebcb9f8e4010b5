#include "aws/web_identity_credentials.h"

#include <fmt/format.h>

#include <array>
#include <boost/asio/this_coro.hpp>
#include <optional>
#include <stdexcept>

#include "aws/token_file.h"
#include "core/text.h"
#include "http/client.h"
#include "http/form_encode.h"

namespace conveyor::aws {
namespace {

namespace asio = boost::asio;

constexpr std::size_t kMaxAnswer = 64 * 1024;

std::string sts_url_of(const WebIdentityOptions& options) {
  std::string base = options.sts_endpoint.empty() ? fmt::format("https://sts.{}.amazonaws.com", options.region)
                                                  : options.sts_endpoint;
  // The Query API answers at the root; an endpoint given with a path keeps it.
  if (base.find('/', base.find("//") == std::string::npos ? 0 : base.find("//") + 2) == std::string::npos) base += '/';
  return base;
}

std::string decode_entities(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, char>, 5> entities = {
      {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}}};
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    bool decoded = false;
    if (text[i] == '&') {
      for (const auto& [entity, ch] : entities) {
        if (text.substr(i, entity.size()) == entity) {
          out.push_back(ch);
          i += entity.size();
          decoded = true;
          break;
        }
      }
    }
    if (!decoded) out.push_back(text[i++]);
  }
  return out;
}

}  // namespace

std::optional<std::string> xml_element(std::string_view xml, std::string_view name, std::string_view after) {
  std::size_t from = 0;
  if (!after.empty()) {
    from = xml.find(fmt::format("<{}>", after));
    if (from == std::string_view::npos) return std::nullopt;
  }
  const std::string open = fmt::format("<{}>", name), close = fmt::format("</{}>", name);
  const auto start = xml.find(open, from);
  if (start == std::string_view::npos) return std::nullopt;
  const auto end = xml.find(close, start + open.size());
  if (end == std::string_view::npos) return std::nullopt;
  return decode_entities(trim_blanks(xml.substr(start + open.size(), end - start - open.size())));
}

WebIdentityCredentials::WebIdentityCredentials(WebIdentityOptions options)
    : options_(std::move(options)), sts_url_(sts_url_of(options_)) {}

asio::awaitable<SourceOutcome> WebIdentityCredentials::fetch() {
  const auto failed = [&](std::string why) { return SourceFailure{true, std::move(why)}; };
  auto token = read_token_file(options_.token_file);
  if (!token) {
    co_return failed(fmt::format("token file {} cannot be read ({})", options_.token_file, token.error().message()));
  }
  const std::string session_name =
      options_.session_name.empty()
          ? fmt::format("conveyor-{}", std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count())
          : options_.session_name;
  const std::string body = fmt::format(
      "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn={}&RoleSessionName={}&WebIdentityToken={}",
      http::form_encode(options_.role_arn), http::form_encode(session_name), http::form_encode(*token));

  auto client_options = http::form_client_options(sts_url_, options_.connect_timeout, options_.request_timeout, 1,
                                                 kMaxAnswer, options_.tls_ca_file);
  std::optional<http::PartnerClient> client;
  try {
    client.emplace(co_await asio::this_coro::executor, std::move(client_options));
  } catch (const std::exception& e) {
    co_return failed(fmt::format("STS endpoint {}: {}", sts_url_, e.what()));
  }
  const std::array<http::HeaderField, 1> headers = {http::HeaderField{"Accept", "text/xml"}};
  auto response = co_await client->post(body, headers);
  if (!response) co_return failed(fmt::format("STS {} unreachable ({})", sts_url_, response.error().message()));
  const std::string& answer = response->body_prefix;
  if (!response->delivered()) {
    const auto code = xml_element(answer, "Code", "Error");
    const auto message = xml_element(answer, "Message", "Error");
    co_return failed(fmt::format("STS {} answered {}: {} ({})", sts_url_, response->status,
                                 quote_remote(code.value_or("no error code"), *token),
                                 quote_remote(message.value_or("no message"), *token)));
  }
  const auto field = [&](std::string_view element) { return xml_element(answer, element, "Credentials").value_or(""); };
  co_return temporary_credentials(field("AccessKeyId"), field("SecretAccessKey"), field("SessionToken"),
                                  field("Expiration"), fmt::format("STS {}", sts_url_));
}

}  // namespace conveyor::aws
