// The routes file (ROUTES_FILE, docs/routes.md): TOML read with toml++ into validated RouteSpecs, in
// file order, and the one route "default" built from TARGET_URL when there is no such file. Start-up
// only: every problem throws config::ConfigError, whose message starts with
// `ROUTES_FILE: route "NAME": KEY: ...` (or `ROUTES_FILE: FILE:LINE:COL: ...` where no route names
// it, e.g. a TOML syntax error) and never contains a secret's value. Pure functions; any thread.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/settings.h"
#include "route/route_spec.h"

namespace conveyor::route {

// Resolves `${NAME}` in the url, header values and auth fields: the value, or nullopt when NAME is
// not set (a ConfigError naming the route, the key and NAME). `$$` writes a literal `$`.
using VariableLookup = std::function<std::optional<std::string>(std::string_view)>;

// Reads and validates the file at `path` (unreadable: ConfigError "ROUTES_FILE: cannot read ...").
std::vector<RouteSpec> load_routes(const std::filesystem::path& path, const VariableLookup& lookup);
// The same from the file's text; `origin` names it in messages.
std::vector<RouteSpec> parse_routes(std::string_view toml, std::string_view origin, const VariableLookup& lookup);

// The one route "default" when no routes file is given: TARGET_URL (whose {field} placeholders fill
// as in a routes file), order_by = ORDER_KEY, and an Authorization header of PARTNER_AUTHORIZATION
// if set. A bad TARGET_URL throws ConfigError("TARGET_URL: ...").
RouteSpec single_route(const config::Settings& settings);

// Calls per second from "500/s", "30/m", "1000/h", "2.5/s" (spaces around the parts allowed);
// nullopt for anything else, or a rate that is not above 0.
std::optional<double> parse_rate(std::string_view text);

}  // namespace conveyor::route
