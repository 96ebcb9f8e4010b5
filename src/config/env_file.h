// A `.env` file as the old Python design wrote them: KEY=VALUE lines, `#`
// comments, blank lines, an optional `export ` prefix and optional single or
// double quotes around the value. A malformed line is a ConfigError naming
// the file and line; nothing is guessed.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

namespace conveyor::config {

using KeyValues = std::map<std::string, std::string, std::less<>>;

// Throws ConfigError on a malformed line or an unreadable file.
KeyValues parse_env_text(std::string_view text, std::string_view origin);
KeyValues read_env_file(const std::filesystem::path& path);

}  // namespace conveyor::config
