#include "config/env_file.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "config/config_error.h"

namespace conveyor::config {
namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

bool valid_key(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return !(key[0] >= '0' && key[0] <= '9');
}

}  // namespace

KeyValues parse_env_text(std::string_view text, std::string_view origin) {
  KeyValues out;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const auto nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    if (line.starts_with("export ")) line = trim(line.substr(7));
    const auto eq = line.find('=');
    const std::string_view key = trim(line.substr(0, eq));
    if (eq == std::string_view::npos || !valid_key(key)) {
      throw ConfigError(fmt::format("{}:{}: expected KEY=VALUE, got '{}'", origin, line_no, line));
    }
    std::string_view value = trim(line.substr(eq + 1));
    if (!value.empty() && (value.front() == '"' || value.front() == '\'')) {
      const char quote = value.front();
      const auto close = value.find(quote, 1);
      if (close == std::string_view::npos || !trim(value.substr(close + 1)).empty()) {
        throw ConfigError(fmt::format("{}:{}: unterminated quote in the value of {}", origin, line_no, key));
      }
      value = value.substr(1, close - 1);
    } else if (const auto hash = value.find(" #"); hash != std::string_view::npos) {
      value = trim(value.substr(0, hash));  // trailing comment after an unquoted value
    }
    out.insert_or_assign(std::string(key), std::string(value));
  }
  return out;
}

KeyValues read_env_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("cannot read env file {}", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_env_text(text.str(), path.string());
}

}  // namespace conveyor::config
