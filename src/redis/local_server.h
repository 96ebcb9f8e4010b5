// A redis-server of our own on a free 127.0.0.1 port, in a temporary
// directory: the demo's embedded queue and the tests' real peer. Ready
// (answers PING) when start() returns; killed and cleaned up on destruction.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/child_process.h"

namespace conveyor::redis {

class LocalServer {
 public:
  // Starts `program` (found on PATH if not a path) with `extra_args` appended
  // to a throwaway configuration (no RDB snapshots, no AOF unless asked).
  // Throws std::runtime_error if it does not come up within 10 s.
  explicit LocalServer(std::vector<std::string> extra_args = {}, std::string program = "redis-server");
  ~LocalServer();
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;

  unsigned short port() const { return port_; }
  std::string url() const;  // redis://127.0.0.1:PORT/0
  const std::filesystem::path& directory() const { return dir_; }

  // Kills the server (SIGKILL) and starts it again on the same port and
  // directory, e.g. to test recovery from AOF.
  void kill();
  void restart();

 private:
  void launch();

  std::vector<std::string> extra_args_;
  std::string program_;
  std::filesystem::path dir_;
  unsigned short port_ = 0;
  ChildProcess process_;
};

}  // namespace conveyor::redis
