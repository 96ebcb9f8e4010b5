// The RESP form of one Redis command, as a Connection writes it: hiredis' redisFormatCommandArgv
// behind a pure function, so no hiredis type leaves the redis/ folder. Owns nothing, keeps no
// state; any thread may call it.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace conveyor::redis {

// Appends the RESP form of `args` (args[0] is the command name) to `out`. False, with `out`
// unchanged, for a command Redis would not answer (empty), which would otherwise shift every
// later reply on a pipelined connection.
bool append_command(std::string& out, std::span<const std::string_view> args);

}  // namespace conveyor::redis
