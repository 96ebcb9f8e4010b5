#include "config/key_suggestion.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include <fmt/format.h>

#include "config/settings.h"

namespace conveyor::config {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
  return out;
}

std::size_t edits_allowed(std::size_t length) {
  if (length >= 6) return 2;
  if (length >= 4) return 1;
  return 0;
}

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Three rows of the classic table: the previous two and the current one.
  std::vector<std::size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        current[j] = std::min(current[j], before[j - 2] + 1);
      }
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::optional<std::string_view> closest_key(std::string_view unknown, std::span<const std::string_view> candidates) {
  const std::string key = upper(unknown);
  const std::size_t allowed = edits_allowed(key.size());
  std::optional<std::string_view> best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const std::string_view candidate : candidates) {
    if (candidate == unknown) return std::nullopt;  // not unknown at all
    const std::size_t d = edit_distance(key, upper(candidate));
    if (d <= allowed && d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

std::optional<std::string_view> likely_key(std::string_view unknown) {
  std::vector<std::string_view> names;
  for (const KeySpec& spec : known_keys()) names.push_back(spec.name);
  return closest_key(unknown, names);
}

std::vector<std::string> misspelt_key_warnings(const EnvFile& file) {
  std::vector<std::string> out;
  for (const EnvBinding& binding : file.bindings) {
    if (auto meant = likely_key(binding.key)) {
      out.push_back(fmt::format("{}:{}: unknown key {}; did you mean {}?", file.origin, binding.line, binding.key, *meant));
    }
  }
  return out;
}

}  // namespace conveyor::config
