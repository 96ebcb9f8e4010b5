// A Redis Sentinel deployment for a test, on 127.0.0.1: one master, one replica (--replicaof) and
// three sentinels (quorum 2, down-after 1 s, failover-timeout 3 s) on free ports in temporary
// directories. Ready when constructed: the replica is in sync and every sentinel sees the master,
// the replica and the two other sentinels. Everything is killed on destruction.
//
// Used from the test's thread only.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/redis_server.h"

namespace conveyor::testing {

class RedisSentinels {
 public:
  // Throws std::runtime_error if the set is not ready within 30 s.
  explicit RedisSentinels(std::string master_name = "conveyor");
  ~RedisSentinels();
  RedisSentinels(const RedisSentinels&) = delete;
  RedisSentinels& operator=(const RedisSentinels&) = delete;

  // redis+sentinel://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3/<master name>
  std::string url() const;
  const std::string& master_name() const { return master_name_; }
  std::vector<unsigned short> sentinel_ports() const;

  // The servers as started: `master()` is the one a failover replaces.
  RedisServer& master() { return *servers_[0]; }
  RedisServer& replica() { return *servers_[1]; }

  // The port the first sentinel that answers names as the master's (0: none answers).
  unsigned short named_master_port() const;

  // kill -9 of the master as started.
  void kill_master() { master().kill(); }

  // Waits until every sentinel names the replica as master and it says ROLE master.
  bool wait_for_failover(std::chrono::milliseconds timeout) const;

 private:
  struct Sentinel {
    unsigned short port = 0;
    std::filesystem::path dir;
    ChildProcess process;
  };
  void start_sentinel(Sentinel& sentinel);
  bool ready() const;

  std::string master_name_;
  std::vector<std::unique_ptr<RedisServer>> servers_;  // [0] master, [1] replica
  std::vector<Sentinel> sentinels_;
};

}  // namespace conveyor::testing
