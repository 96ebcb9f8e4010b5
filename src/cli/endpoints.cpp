#include "cli/endpoints.h"

#include <fmt/format.h>

#include "config/config_error.h"

namespace conveyor::cli {

redis::Endpoint redis_endpoint(const config::Settings& settings) {
  std::string why;
  auto endpoint = redis::parse_endpoint(settings.redis_url, &why);
  if (!endpoint) {
    // The URL may hold a password: name the problem, not the value.
    throw config::ConfigError(fmt::format("REDIS_URL: {}", why.empty() ? "not a redis:// or rediss:// URL" : why));
  }
  return *endpoint;
}

}  // namespace conveyor::cli
