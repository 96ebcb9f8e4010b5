// Which HTTP statuses are worth retrying, parsed from a list like "408,425,429,5xx" (the
// RETRY_STATUSES setting, overridable per route). Immutable once parsed: any thread may read it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace conveyor::http {

class RetryableStatuses {
 public:
  // nullopt (with `why`) for a list that is not comma-separated codes (100-599) or Nxx classes.
  static std::optional<RetryableStatuses> parse(std::string_view list, std::string* why = nullptr);
  bool contains(unsigned status) const;

 private:
  std::vector<std::pair<unsigned, unsigned>> ranges_;  // inclusive
};

}  // namespace conveyor::http
