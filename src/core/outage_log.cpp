#include "core/outage_log.h"

#include <utility>

#include <fmt/format.h>

namespace conveyor {

OutageLog::OutageLog(std::string subject) : OutageLog(std::move(subject), Options{}) {}

OutageLog::OutageLog(std::string subject, Options options) : subject_(std::move(subject)), options_(options) {}

std::optional<std::string> OutageLog::failed(TimePoint now, std::string_view reason,
                                             std::optional<std::chrono::milliseconds> retry_in) {
  if (!in_outage_) {
    in_outage_ = true;
    since_ = now;
    next_summary_ = now + options_.verbose_for;
  }
  if (now < since_ + options_.verbose_for) {
    if (!retry_in) return fmt::format("{} unreachable: {}", subject_, reason);
    return fmt::format("{} unreachable: {}; next attempt in {}", subject_, reason, format_elapsed(*retry_in));
  }
  if (now < next_summary_) return std::nullopt;
  // Due: one line, then the next a whole period later (periods without a failure are skipped).
  while (next_summary_ <= now) next_summary_ += options_.summary_every;
  const auto down = std::chrono::duration_cast<std::chrono::milliseconds>(now - since_);
  return fmt::format("{} unreachable for {}: {}", subject_,
                     format_elapsed(std::chrono::floor<std::chrono::minutes>(down)), reason);
}

std::optional<std::string> OutageLog::succeeded(TimePoint now) {
  if (!in_outage_) return std::nullopt;
  in_outage_ = false;
  const auto down = std::chrono::duration_cast<std::chrono::milliseconds>(now - since_);
  return fmt::format("{} reachable again after {}", subject_, format_elapsed(down));
}

std::string format_elapsed(std::chrono::milliseconds elapsed) {
  const long long ms = std::max<long long>(0, elapsed.count());
  if (ms < 1'000) return fmt::format("{}ms", ms);
  if (ms < 60'000) {
    if (ms % 1'000 < 100) return fmt::format("{}s", ms / 1'000);
    return fmt::format("{}.{}s", ms / 1'000, ms % 1'000 / 100);
  }
  const long long seconds = ms / 1'000;
  if (seconds < 3'600) {
    if (seconds % 60 == 0) return fmt::format("{}m", seconds / 60);
    return fmt::format("{}m{}s", seconds / 60, seconds % 60);
  }
  const long long minutes = seconds / 60;
  if (minutes % 60 == 0) return fmt::format("{}h", minutes / 60);
  return fmt::format("{}h{}m", minutes / 60, minutes % 60);
}

}  // namespace conveyor
