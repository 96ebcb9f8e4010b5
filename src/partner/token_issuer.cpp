#include "partner/token_issuer.h"

#include <fmt/format.h>
#include <openssl/rand.h>

#include <array>
#include <optional>
#include <stdexcept>

#include "http/basic_auth.h"

namespace conveyor::partner {
namespace {

using http::ServerResponse;

ServerResponse json(unsigned status, std::string body) {
  return ServerResponse{status, "application/json", std::move(body), {}, {}};
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') return (c | 0x20) - 'a' + 10;
  return -1;
}

// One application/x-www-form-urlencoded component, decoded ('+' is a space).
std::string form_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// The decoded value of `name` in a form body, or nullopt.
std::optional<std::string> form_field(std::string_view body, std::string_view name) {
  while (!body.empty()) {
    const auto amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    const auto eq = pair.find('=');
    if (form_decode(pair.substr(0, eq)) == name) {
      return eq == std::string_view::npos ? std::string() : form_decode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    body.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::string random_token() {
  std::array<unsigned char, 24> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  std::string token;
  for (const unsigned char b : bytes) token += fmt::format("{:02x}", b);
  return token;
}

}  // namespace

TokenIssuer::TokenIssuer(std::string_view client, std::chrono::seconds ttl) : ttl_(ttl) {
  const auto colon = client.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == client.size()) {
    throw std::invalid_argument("--oauth-client: expected ID:SECRET, both not empty");
  }
  if (ttl.count() < 1) throw std::invalid_argument("--token-ttl: at least 1s");
  client_id_ = client.substr(0, colon);
  client_secret_ = client.substr(colon + 1);
}

ServerResponse TokenIssuer::issue(const http::ServerRequest& request) {
  // RFC 6749 §2.3.1: HTTP Basic with the form-encoded id and secret, or both as form fields.
  std::optional<std::string> id, secret;
  if (auto basic = http::parse_basic_authorization(request.header("Authorization"))) {
    id = form_decode(basic->user);
    secret = form_decode(basic->password);
  } else {
    id = form_field(request.body(), "client_id");
    secret = form_field(request.body(), "client_secret");
  }
  if (!id || !secret || !http::same_secret(*id, client_id_) || !http::same_secret(*secret, client_secret_)) {
    unauthorized_.fetch_add(1, std::memory_order_relaxed);
    ServerResponse refused = json(401, R"({"error":"invalid_client"})");
    refused.extra_header_name = "WWW-Authenticate";
    refused.extra_header_value = R"(Basic realm="conveyor partner")";
    return refused;
  }
  if (form_field(request.body(), "grant_type") != "client_credentials") {
    return json(400, R"({"error":"unsupported_grant_type"})");
  }
  std::string token = random_token();
  const auto now = Clock::now();
  {
    std::lock_guard lock(mutex_);
    std::erase_if(live_, [now](const auto& entry) { return entry.second <= now; });
    live_.emplace(token, now + ttl_);
  }
  issued_.fetch_add(1, std::memory_order_relaxed);
  return json(200, fmt::format(R"({{"access_token":"{}","token_type":"Bearer","expires_in":{}}})", token,
                               ttl_.count()));
}

bool TokenIssuer::authorized(std::string_view authorization) {
  constexpr std::string_view bearer = "Bearer ";
  if (authorization.starts_with(bearer)) {
    const std::string token(authorization.substr(bearer.size()));
    std::lock_guard lock(mutex_);
    const auto found = live_.find(token);
    if (found != live_.end() && Clock::now() < found->second) return true;
  }
  unauthorized_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

ServerResponse TokenIssuer::refusal() {
  ServerResponse refused = json(401, R"({"ok":false,"error":"invalid_token"})");
  refused.extra_header_name = "WWW-Authenticate";
  refused.extra_header_value = R"(Bearer error="invalid_token")";
  return refused;
}

}  // namespace conveyor::partner
