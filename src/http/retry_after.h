// The Retry-After header (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace conveyor::http {

// The value as a delay from `now` (a date in the past is 0); nullopt when absent or unreadable.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now);

}  // namespace conveyor::http
