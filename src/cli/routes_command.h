// `conveyor routes check [FILE]`: validates a routes file as `work` would at start and prints the
// resolved routes with every secret masked (header values, client_secret, ${VAR}s in a query). A bad
// file throws ConfigError, which the CLI prints as one line and turns into exit code 2. Also the
// ${VAR} lookup that `work` and `routes check` share. Main thread, at start-up.
#pragma once

#include <cstdio>
#include <string>

#include "config/settings.h"
#include "route/route_spec.h"
#include "route/routes_file.h"

namespace conveyor::cli {

// ${VAR} in a routes file: a flag's value for that key, else the process environment (any variable,
// not only Conveyor's keys), else the .env file. Copies what it needs from `layers`.
route::VariableLookup routes_lookup(const config::Layers& layers);

// The routes as `routes check` prints them: a block per route, secrets as "***".
std::string describe_routes(const std::vector<route::RouteSpec>& routes, const std::string& origin);

// Loads `path` (empty: ROUTES_FILE from the layers) and prints describe_routes to `out`; 0.
int run_routes_check(const std::string& path, const config::Layers& layers, std::FILE* out = stdout);

}  // namespace conveyor::cli
