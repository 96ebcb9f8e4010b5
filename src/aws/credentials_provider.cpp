#include "aws/credentials_provider.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>
#include <charconv>
#include <stdexcept>

namespace conveyor::aws {
namespace {

// Digits at text[at .. at+n), or -1.
int digits(std::string_view text, std::size_t at, std::size_t n) {
  if (at + n > text.size()) return -1;
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data() + at, text.data() + at + n, value);
  return ec == std::errc{} && end == text.data() + at + n ? value : -1;
}

bool usable_value(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

}  // namespace

void throw_exception_from_error(const SourceFailure& failure, const boost::source_location& location) {
  boost::throw_exception(std::runtime_error(failure.message), location);
}

std::optional<std::chrono::system_clock::time_point> parse_expiration(std::string_view text) {
  using namespace std::chrono;
  // YYYY-MM-DDTHH:MM:SS
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') ||
      text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  const int y = digits(text, 0, 4), mo = digits(text, 5, 2), d = digits(text, 8, 2);
  const int h = digits(text, 11, 2), mi = digits(text, 14, 2), s = digits(text, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60) return std::nullopt;
  const year_month_day date{year(y), month(static_cast<unsigned>(mo)), day(static_cast<unsigned>(d))};
  if (!date.ok()) return std::nullopt;
  std::size_t at = 19;
  if (at < text.size() && text[at] == '.') {  // a fraction, dropped
    ++at;
    const std::size_t start = at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') ++at;
    if (at == start) return std::nullopt;
  }
  const std::string_view zone = text.substr(at);
  if (zone != "Z" && zone != "z" && zone != "+00:00") return std::nullopt;
  return sys_days(date) + hours(h) + minutes(mi) + seconds(s);
}

SourceOutcome temporary_credentials(std::string_view access_key_id, std::string_view secret_access_key,
                                    std::string_view session_token, std::string_view expiration,
                                    const std::string& what) {
  const auto bad = [&](std::string_view field) {
    return SourceFailure{true, fmt::format("{}: no usable {} in its answer", what, field)};
  };
  if (!usable_value(access_key_id)) return bad("AccessKeyId");
  if (!usable_value(secret_access_key)) return bad("SecretAccessKey");
  if (!usable_value(session_token)) return bad("session token");
  auto expires = parse_expiration(expiration);
  if (!expires) return bad("Expiration");
  return TimedCredentials{{std::string(access_key_id), std::string(secret_access_key), std::string(session_token)},
                          expires};
}

}  // namespace conveyor::aws
