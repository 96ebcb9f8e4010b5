// Human-written durations for settings and flags: "1s", "250ms", "2m", "1.5s",
// or a bare number meaning seconds. Parsing never throws; a bad text gives
// std::nullopt so the caller can name the offending key.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace conveyor {

using Duration = std::chrono::milliseconds;

std::optional<Duration> parse_duration(std::string_view text);
std::string format_duration(Duration d);

}  // namespace conveyor
