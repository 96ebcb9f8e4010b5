// The RESP form of one Redis command, as a Connection writes it: hiredis' redisFormatCommandArgv
// behind a pure function, so no hiredis type leaves the redis/ folder. Owns nothing, keeps no
// state; any thread may call it.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace conveyor::redis {

// Appends the RESP form of `args` (args[0] is the command name) to `out`. False, with `out`
// unchanged, for a command Redis would not answer (empty), which would otherwise shift every
// later reply on a pipelined connection.
bool append_command(std::string& out, std::span<const std::string_view> args);

// The arguments of EVALSHA, as Script::run sends them: "EVALSHA", `sha1`, `key_count` (keys.size()
// in decimal), the keys, then the arguments. REQUIRES: every input outlives the list (it views them).
std::vector<std::string_view> evalsha_arguments(std::string_view sha1, std::string_view key_count,
                                                std::span<const std::string_view> keys,
                                                std::span<const std::string_view> args);

}  // namespace conveyor::redis
