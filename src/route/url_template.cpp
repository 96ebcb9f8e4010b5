#include "route/url_template.h"

#include <algorithm>
#include <charconv>

#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <fmt/format.h>

namespace conveyor::route {
namespace {

Result<UrlTemplate> fail(std::string* why, std::string reason) {
  if (why) *why = std::move(reason);
  return error_code(Error::bad_url);
}

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.';
}

bool unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

void percent_encode(std::string_view value, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (unreserved(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
}

const char* kind_of(const boost::json::value& v) {
  if (v.is_null()) return "null";
  if (v.is_object()) return "an object";
  return "an array";
}

}  // namespace

bool scalar_text(const boost::json::value& value, std::string& out) {
  switch (value.kind()) {
    case boost::json::kind::string:
      out.assign(value.get_string().data(), value.get_string().size());
      return true;
    case boost::json::kind::int64:
      out = fmt::format("{}", value.get_int64());
      return true;
    case boost::json::kind::uint64:
      out = fmt::format("{}", value.get_uint64());
      return true;
    case boost::json::kind::double_:
      out = fmt::format("{}", value.get_double());
      return true;
    case boost::json::kind::bool_:
      out = value.get_bool() ? "true" : "false";
      return true;
    default:
      return false;
  }
}

Expanded UrlTemplate::expand(const boost::json::object& message) const {
  Expanded result;
  if (fields_.empty()) {
    result.target = fixed_target_;
    return result;
  }
  std::string value;
  for (const Piece& piece : pieces_) {
    if (!piece.placeholder) {
      result.target += piece.text;
      continue;
    }
    const boost::json::value* field = message.if_contains(piece.text);
    if (!field) {
      result.failure = fmt::format("field \"{}\" for the URL is missing", piece.text);
    } else if (!scalar_text(*field, value)) {
      result.failure = fmt::format("field \"{}\" for the URL is {}", piece.text, kind_of(*field));
    } else if (piece.in_path && value.empty()) {
      result.failure = fmt::format("field \"{}\" for the URL is empty", piece.text);
    } else if (piece.in_path && (value == "." || value == "..")) {
      // Percent-encoding does not disarm a dot segment: RFC 3986 normalisation decodes %2E.
      result.failure = fmt::format("field \"{}\" for the URL is \"{}\", a dot segment", piece.text, value);
    }
    if (!result.failure.empty()) {
      result.target.clear();
      return result;
    }
    percent_encode(value, result.target);
  }
  return result;
}

Result<UrlTemplate> parse_url_template(std::string_view text, std::string* why) {
  UrlTemplate t;
  t.text_ = std::string(text);

  // Where the authority ends: placeholders before that point would let a message choose the server.
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) return fail(why, "not an absolute http:// or https:// URL");
  const auto authority_end = text.find_first_of("/?#", scheme_end + 3);
  const auto origin_end = authority_end == std::string_view::npos ? text.size() : authority_end;
  if (text.find('#') != std::string_view::npos) {
    return fail(why, "a fragment (#...) is never sent to a server; remove it");
  }

  // Split the target into literal and placeholder pieces, checking the braces.
  std::string probe(text.substr(0, origin_end));  // the URL with every placeholder filled by "x"
  if (probe.find_first_of("{}") != std::string::npos) {
    return fail(why, "placeholders may fill only the path and the query");
  }
  const auto query_start = text.find('?');
  std::string literal;
  for (std::size_t i = origin_end; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '}') return fail(why, fmt::format("a '}}' without its '{{' at column {}", i + 1));
    if (c != '{') {
      literal.push_back(c);
      probe.push_back(c);
      continue;
    }
    const auto close = text.find('}', i);
    if (close == std::string_view::npos) return fail(why, fmt::format("a '{{' without its '}}' at column {}", i + 1));
    const std::string_view name = text.substr(i + 1, close - i - 1);
    if (name.empty()) return fail(why, "an empty placeholder {}: name the message's field");
    for (const char n : name) {
      if (!name_char(n)) {
        return fail(why, fmt::format("placeholder {{{}}}: a field name has only letters, digits, '_', '-' and '.'",
                                     name));
      }
    }
    if (!literal.empty()) t.pieces_.push_back({std::move(literal), false, false});
    literal.clear();
    t.pieces_.push_back({std::string(name), true, query_start == std::string_view::npos || i < query_start});
    if (std::find(t.fields_.begin(), t.fields_.end(), name) == t.fields_.end()) t.fields_.emplace_back(name);
    probe.push_back('x');
    i = close;
  }
  if (!literal.empty()) t.pieces_.push_back({std::move(literal), false, false});
  if (t.pieces_.empty() || t.pieces_.front().placeholder || t.pieces_.front().text.front() != '/') {
    // "https://host?q" or "https://host": the target starts at "/".
    t.pieces_.insert(t.pieces_.begin(), {"/", false, false});
  }

  auto parsed = boost::urls::parse_absolute_uri(boost::urls::string_view(probe.data(), probe.size()));
  if (!parsed) return fail(why, fmt::format("not a valid absolute URL ({})", parsed.error().message()));
  const boost::urls::url_view url = *parsed;
  switch (url.scheme_id()) {
    case boost::urls::scheme::http: t.tls_ = false; break;
    case boost::urls::scheme::https: t.tls_ = true; break;
    default:
      return fail(why, fmt::format("unsupported scheme \"{}\" (only http and https)", std::string_view(url.scheme())));
  }
  if (url.has_userinfo()) return fail(why, "user info in the URL is not supported; pass credentials as a header");
  if (url.host_type() != boost::urls::host_type::name && url.host_type() != boost::urls::host_type::ipv4 &&
      url.host_type() != boost::urls::host_type::ipv6) {
    return fail(why, "the URL has no usable host");
  }
  t.host_ = url.host_address();
  if (t.host_.empty()) return fail(why, "the URL has an empty host");
  const std::string_view port = url.port();
  if (port.empty()) {
    t.port_ = t.tls_ ? 443 : 80;
  } else {
    unsigned value = 0;  // not url.port_number(): it wraps values above 65535
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
      return fail(why, fmt::format("invalid port \"{}\"", port));
    }
    t.port_ = static_cast<std::uint16_t>(value);
  }
  t.origin_ = std::string(text.substr(0, origin_end));
  if (t.fields_.empty()) {
    for (const auto& piece : t.pieces_) t.fixed_target_ += piece.text;
  }
  return t;
}

}  // namespace conveyor::route
