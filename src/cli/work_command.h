// `conveyor work`: the subscriber and executor in one process. Runs THREADS
// share-nothing lanes (io_context + queue connection + partner pool +
// dispatcher each), splits CONCURRENCY among them, handles SIGINT/SIGTERM
// (stop fetching, drain within SHUTDOWN_TIMEOUT, give the rest back; a second
// signal exits at once) and ends with a report.
#pragma once

#include <string>

#include "config/settings.h"

namespace conveyor::cli {

struct WorkOptions {
  bool until_empty = false;
  std::string report_path;  // also write the report here as JSON
};

// 0 after a clean end; 1 if a lane failed. Configuration problems throw ConfigError. `layers`
// resolve the routes file's ${VAR}s.
int run_work(const config::Settings& settings, const config::Layers& layers, const WorkOptions& options);

}  // namespace conveyor::cli
