// A `.env` file read by python-dotenv's rules, so files written for the old
// Python stack (and Docker Compose's) mean the same here: KEY=VALUE bindings,
// `#` comments (after an unquoted value only when whitespace precedes the `#`),
// an optional `export ` prefix, single quotes (literal but for \' and \\),
// double quotes (with \n \t \" \\ ... escapes), quoted values over several
// lines, `KEY=` (empty) and a bare `KEY` (no value: not set). Unlike
// python-dotenv, which skips a malformed line with a warning, a malformed
// binding is a ConfigError naming the file and line: nothing is guessed.
// Pure functions; any thread.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conveyor::config {

using KeyValues = std::map<std::string, std::string, std::less<>>;

// One binding, as written.
struct EnvBinding {
  std::string key;
  std::optional<std::string> value;  // nullopt: a bare `KEY` line, which sets nothing
  std::size_t line = 0;              // where the binding starts, from 1
};

struct EnvFile {
  std::string origin;               // the path, for messages
  std::vector<EnvBinding> bindings;  // in file order, repeats kept

  // The bindings that have a value; a repeated key: the last one wins.
  KeyValues values() const;
};

// Throw ConfigError("<origin>:<line>: ...") on a malformed binding or an unreadable file.
EnvFile parse_env_file(std::string_view text, std::string origin);
EnvFile read_env_file(const std::filesystem::path& path);
// parse_env_file(text, origin).values().
KeyValues parse_env_text(std::string_view text, std::string_view origin);

}  // namespace conveyor::config
