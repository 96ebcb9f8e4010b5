// A real Redis Cluster for a test: six redis-servers (--cluster-enabled, a short
// cluster-node-timeout) on free 127.0.0.1 ports, joined by `redis-cli --cluster create` into
// three masters with a replica each. Ready when the constructor returns: every node says
// cluster_state:ok, and every replica is in sync. Killed and cleaned up on destruction.
// Used from the test's thread only.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "support/redis_server.h"

namespace conveyor::testing {

class RedisCluster {
 public:
  // Throws std::runtime_error if the cluster does not form within 30 s.
  RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  // redis+cluster://127.0.0.1:P1,127.0.0.1:P2,... (every node a seed).
  std::string url() const;
  std::size_t size() const { return nodes_.size(); }
  RedisServer& node(std::size_t i) { return *nodes_.at(i); }

  // The node that is master of `key`'s slot now, as the slot map of a live node says.
  RedisServer& master_of(const std::string& key);
  // A live node's answer to CLUSTER KEYSLOT.
  long long keyslot(const std::string& key) const;
  // Runs a command at the master of args[1] (the key); see RedisServer::query.
  std::string query(const std::vector<std::string>& args) { return master_of(args.at(1)).query(args); }
  long long integer(const std::vector<std::string>& args) { return master_of(args.at(1)).integer(args); }
  std::vector<std::string> list(const std::vector<std::string>& args) { return master_of(args.at(1)).list(args); }

  // SIGKILLs a node; it stays dead.
  void kill(RedisServer& node);
  // Waits until every live node says cluster_state:ok and agrees that no slot is served by a
  // dead node (after a kill: until a replica took over). False when `timeout` passes first.
  bool wait_until_ok(std::chrono::milliseconds timeout);
  // Waits until every live replica has every write its master has (replication offsets equal):
  // after it, killing a master loses no write made before the call.
  bool wait_until_replicated(std::chrono::milliseconds timeout);

 private:
  const RedisServer& any_live() const;

  std::vector<std::unique_ptr<RedisServer>> nodes_;
  std::vector<bool> dead_;
};

}  // namespace conveyor::testing
