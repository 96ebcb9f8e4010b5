// A real redis-server for a test (redis::LocalServer on a free port), plus a
// small blocking client (hiredis' synchronous API) for the test's own checks.
#pragma once

#include <string>
#include <vector>

#include "redis/local_server.h"

namespace conveyor::testing {

class RedisServer : public redis::LocalServer {
 public:
  // Extra redis-server arguments, e.g. {"--appendonly", "yes"}.
  explicit RedisServer(std::vector<std::string> extra_args = {})
      : redis::LocalServer(std::move(extra_args), REDIS_SERVER_BINARY) {}

  // Sets requirepass (empty: none); query() and friends log in with it from now on.
  void require_password(const std::string& password);

  // Runs one command; integer replies as their decimal text, nil as "(nil)",
  // arrays as their elements joined by '\n'. Throws on a connection error.
  std::string query(const std::vector<std::string>& args) const;
  long long integer(const std::vector<std::string>& args) const;
  std::vector<std::string> list(const std::vector<std::string>& args) const;

 private:
  std::string password_;
};

// One command to any redis-server or sentinel on 127.0.0.1:`port`, without a password, answered
// as RedisServer::query answers. Throws on a connection error.
std::string query_redis(unsigned short port, const std::vector<std::string>& args);

}  // namespace conveyor::testing
