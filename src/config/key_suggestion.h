// Unknown keys in a .env file are ignored, since the file is often shared with other programs;
// but a key a typo away from one Conveyor knows (CONCURENCY) is most likely a setting that would
// otherwise be silently lost, so it earns a warning naming the likely key. Pure functions; any
// thread.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/env_file.h"

namespace conveyor::config {

// Edits (insert, delete, substitute, swap two adjacent characters) from `a` to `b`: the optimal
// string alignment form of the Damerau-Levenshtein distance, case-sensitive.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The known key `unknown` was most likely meant to be, or nullopt. Letter case is ignored; a key
// of 6 or more characters may be 2 edits away, one of 4 or 5 only 1 edit, a shorter one none
// (short unrelated names such as PORT or HOST are too close to everything to guess from).
std::optional<std::string_view> likely_key(std::string_view unknown);

// Of `candidates`, the one `unknown` was most likely meant to be, by the rule above; or nullopt
// (also when `unknown` is itself a candidate).
std::optional<std::string_view> closest_key(std::string_view unknown, std::span<const std::string_view> candidates);

// "<origin>:<line>: unknown key CONCURENCY; did you mean CONCURRENCY?" for each such binding.
std::vector<std::string> misspelt_key_warnings(const EnvFile& file);

}  // namespace conveyor::config
