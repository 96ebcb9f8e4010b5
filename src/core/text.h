// Small pure helpers for reading text fields (header values, lists, settings). Any thread.
#pragma once

#include <charconv>
#include <string>
#include <string_view>

namespace conveyor {

// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
inline std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The whole of `text` as a decimal unsigned number; false for anything else (empty, sign, junk).
inline bool parse_unsigned(std::string_view text, unsigned& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size() && !text.empty();
}

// A short (200 bytes), printable quote of a remote's own text for an error message or a log,
// with `secret` (when not empty) cut out as "***" in case the remote echoes what it was sent.
inline std::string quote_remote(std::string_view text, std::string_view secret = {}) {
  std::string out;
  for (const char c : text.substr(0, 200)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (!secret.empty()) {
    for (auto at = out.find(secret); at != std::string::npos; at = out.find(secret)) out.replace(at, secret.size(), "***");
  }
  return out;
}

}  // namespace conveyor
