#include "cli/live_line.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace conveyor::cli {
namespace {

std::string format_rate(double per_second) {
  if (!(per_second > 0)) return "0/s";
  if (per_second < 10) return fmt::format("{:.1f}/s", per_second);
  return format_count(static_cast<std::uint64_t>(std::llround(per_second))) + "/s";
}

}  // namespace

std::string format_count(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string format_eta(std::chrono::seconds eta) {
  const long long s = std::max<long long>(0, eta.count());
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
  return fmt::format("{}d{:02}h", s / 86400, s % 86400 / 3600);
}

std::optional<std::chrono::seconds> eta_from_fraction(double done_fraction, double seconds) {
  if (done_fraction >= 1) return std::chrono::seconds(0);
  if (!(done_fraction > 0) || !(seconds > 0)) return std::nullopt;
  const double left = seconds * (1 - done_fraction) / done_fraction;
  if (left > 1e9) return std::nullopt;  // no meaningful pace yet
  return std::chrono::seconds(static_cast<long long>(std::ceil(left)));
}

std::string format_live_line(const LiveFigures& f) {
  std::string line = fmt::format("delivered {}  {}  in flight {}", format_count(f.delivered), format_rate(f.rate),
                                 format_count(f.in_flight));
  if (f.backlog) line += fmt::format("  backlog {}", format_count(*f.backlog));
  line += fmt::format("  retrying {}  dead {}", format_count(f.retrying), format_count(f.dead));
  if (f.eta) line += "  ETA " + format_eta(*f.eta);
  return line;
}

std::string format_progress_bar(const PublishProgress& p, std::size_t bar_width) {
  const double rate = p.seconds > 0 ? p.published / p.seconds : 0;
  std::optional<double> fraction;
  if (p.total && *p.total > 0) fraction = static_cast<double>(p.published) / *p.total;
  else if (p.total) fraction = 1.0;  // --count 0
  else if (p.bytes_total && *p.bytes_total > 0) fraction = static_cast<double>(p.bytes_read) / *p.bytes_total;
  if (!fraction) return fmt::format("{} published  {}", format_count(p.published), format_rate(rate));

  const double done = std::clamp(*fraction, 0.0, 1.0);
  const auto filled = static_cast<std::size_t>(done * bar_width);
  // Appended piece by piece: GCC 12 at -O3 sees a false overlap (-Wrestrict) in "[" + std::string(...).
  std::string line;
  line.reserve(bar_width + 64);
  line += '[';
  line.append(filled, '#');
  line.append(bar_width - filled, '.');
  line += ']';
  line += fmt::format(" {:>3}%  ", static_cast<int>(done * 100));
  line += p.total ? fmt::format("{}/{}", format_count(p.published), format_count(*p.total))
                  : fmt::format("{} published", format_count(p.published));
  line += "  " + format_rate(rate);
  if (auto eta = eta_from_fraction(done, p.seconds)) line += "  ETA " + format_eta(*eta);
  return line;
}

LiveFigures live_figures(const admin::Status& status, bool until_empty) {
  LiveFigures f{.delivered = status.figures.delivered,
                .rate = status.rate_per_second,
                .in_flight = status.figures.in_flight,
                .retrying = status.figures.retried,
                .dead = status.figures.dead_lettered};
  if (!status.queue.ok) return f;
  std::uint64_t waiting = 0, left = 0;
  for (const auto& shard : status.queue.shards) {
    waiting += shard.waiting;
    left += shard.waiting + shard.delayed + shard.in_flight;
  }
  f.backlog = waiting;
  if (until_empty) {
    if (left == 0) f.eta = std::chrono::seconds(0);
    else if (status.rate_per_second > 0) {
      f.eta = std::chrono::seconds(static_cast<long long>(std::ceil(left / status.rate_per_second)));
    }
  }
  return f;
}

}  // namespace conveyor::cli
