#include "http/retry_after.h"

#include <algorithm>
#include <ctime>
#include <string>

#include "core/text.h"

namespace conveyor::http {

namespace {

// IMF-fixdate, the form HTTP/1.1 senders must use: "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text) {
  std::tm tm{};
  const std::string copy(text);
  const char* end = strptime(copy.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now) {
  value = trim_blanks(value);
  if (value.empty()) return std::nullopt;
  unsigned seconds = 0;
  if (parse_unsigned(value, seconds)) return std::chrono::seconds(seconds);
  auto date = parse_http_date(value);
  if (!date) return std::nullopt;
  return std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(*date - now));
}

}  // namespace conveyor::http
