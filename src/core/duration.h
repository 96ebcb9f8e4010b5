// Human-written durations for settings and flags: "1s", "250ms", "2m", "1.5s",
// "1h", "180d" (days of 24 hours), or a bare number meaning seconds. Parsing never throws; a bad text gives
// std::nullopt so the caller can name the offending key.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace conveyor {

using Duration = std::chrono::milliseconds;

std::optional<Duration> parse_duration(std::string_view text);
// Whole days as "180d", whole seconds as "30s", else "250ms": parse_duration reads it back.
std::string format_duration(Duration d);

}  // namespace conveyor
