// Turns the URL settings into the typed endpoints the layers take, failing at
// start with a ConfigError that names the key (and never shows a password).
#pragma once

#include "config/settings.h"
#include "redis/endpoint.h"

namespace conveyor::cli {

redis::Endpoint redis_endpoint(const config::Settings& settings);

}  // namespace conveyor::cli
