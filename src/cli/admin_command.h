// Operator commands on a channel, either backend: `conveyor stats` (backlog per shard, in
// flight, delayed, dead; with --watch, again every interval until SIGINT/SIGTERM) and
// `conveyor dlq list|requeue|purge`.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "config/settings.h"

namespace conveyor::cli {

struct AdminOptions {
  enum class Action { stats, list, requeue, purge };
  Action action = Action::stats;
  bool json = false;             // machine-readable output
  bool watch = false;            // stats: refresh every `interval` until SIGINT/SIGTERM (then exit 0)
  std::chrono::milliseconds interval{2000};
  std::size_t limit = 100;       // list: at most this many
  bool all = false;              // requeue: every dead letter
  std::vector<std::string> ids;  // requeue: these
  bool yes = false;              // purge: confirmed
};

// 0 on success; 1 when the queue failed; configuration errors throw ConfigError.
int run_admin(const config::Settings& settings, const AdminOptions& options);

}  // namespace conveyor::cli
