// How Conveyor logs: to stderr, as text ("2026-11-30T02:00:00.123 info message", coloured on a
// terminal) or, with LOG_FORMAT=json, one JSON object per line. Text logs on a terminal go
// through the stderr StatusLine, so a live status line and log lines never garble each other;
// JSON logs turn the status line off (they are for log shippers). Called once at start-up, on
// the main thread, before any other thread logs.
#pragma once

#include <string>

#include "core/log_format.h"

namespace conveyor::cli {

// `level`: a LOG_LEVEL value; `format`: a LOG_FORMAT value ("text" or "json"), both validated.
void use_stderr_logging(const std::string& level, const std::string& format = "text");

}  // namespace conveyor::cli
