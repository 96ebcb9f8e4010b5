#include "http/retryable_statuses.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/text.h"

namespace conveyor::http {

std::optional<RetryableStatuses> RetryableStatuses::parse(std::string_view list, std::string* why) {
  RetryableStatuses out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    const std::string_view item = trim_blanks(list.substr(0, comma));
    unsigned code = 0;
    if (item.size() == 3 && item[0] >= '1' && item[0] <= '5' && (item.substr(1) == "xx" || item.substr(1) == "XX")) {
      const unsigned hundred = static_cast<unsigned>(item[0] - '0') * 100;
      out.ranges_.emplace_back(hundred, hundred + 99);
    } else if (parse_unsigned(item, code) && code >= 100 && code <= 599) {
      out.ranges_.emplace_back(code, code);
    } else {
      if (why) *why = fmt::format("'{}' is neither a status code (100-599) nor a class like 5xx", item);
      return std::nullopt;
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

bool RetryableStatuses::contains(unsigned status) const {
  return std::any_of(ranges_.begin(), ranges_.end(),
                     [status](const auto& range) { return status >= range.first && status <= range.second; });
}

}  // namespace conveyor::http
