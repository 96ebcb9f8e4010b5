// `conveyor publish`: generated test messages (--count) or one JSON object per
// input line (--input), RPUSHed in pipelined batches to CHANNEL_NAME.
#pragma once

#include <cstddef>
#include <string>

#include "config/settings.h"

namespace conveyor::cli {

struct PublishCommandOptions {
  std::size_t count = 0;  // generate this many
  std::string input;      // or read this file ('-' = stdin)
};

// 0 when everything went; 1 if some input lines were refused (the rest went)
// or the queue failed; 2 for a configuration error (thrown as ConfigError).
int run_publish(const config::Settings& settings, const PublishCommandOptions& options);

}  // namespace conveyor::cli
