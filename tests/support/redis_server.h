// A real redis-server for a test: started on a free 127.0.0.1 port in its own
// temporary directory, ready (answers PING) when the constructor returns,
// killed and cleaned up by the destructor. `query` is a small blocking client
// (hiredis' synchronous API) for the test's own checks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/child_process.h"

namespace conveyor::testing {

class RedisServer {
 public:
  // Extra redis-server arguments, e.g. {"--appendonly", "yes"}.
  explicit RedisServer(std::vector<std::string> extra_args = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  unsigned short port() const { return port_; }
  std::string url() const;  // redis://127.0.0.1:PORT/0

  // Runs one command; integer replies as their decimal text, nil as "(nil)",
  // arrays as their elements joined by '\n'. Throws on a connection error.
  std::string query(const std::vector<std::string>& args) const;
  long long integer(const std::vector<std::string>& args) const;
  std::vector<std::string> list(const std::vector<std::string>& args) const;

 private:
  std::filesystem::path dir_;
  unsigned short port_ = 0;
  ChildProcess process_;
};

}  // namespace conveyor::testing
