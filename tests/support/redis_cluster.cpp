#include "support/redis_cluster.h"

#include <cstdlib>
#include <stdexcept>

#include "support/child_process.h"

namespace conveyor::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kNodes = 6;

bool has_line(const std::string& text, const std::string& line) {
  return text.find(line + "\r\n") != std::string::npos || text.find(line + "\n") != std::string::npos ||
         text.ends_with(line);
}

}  // namespace

RedisCluster::RedisCluster() : dead_(kNodes, false) {
  for (std::size_t i = 0; i < kNodes; ++i) {
    // The cluster bus listens on port + 10000: LocalServer picks a cluster node's port so that
    // both are free and in range (redis/local_server.cpp).
    nodes_.push_back(std::make_unique<RedisServer>(std::vector<std::string>{
        "--cluster-enabled", "yes", "--cluster-node-timeout", "1000", "--cluster-config-file", "nodes.conf",
        "--cluster-replica-validity-factor", "0", "--appendonly", "no"}));
  }
  std::vector<std::string> create = {"redis-cli", "--cluster", "create"};
  for (const auto& node : nodes_) create.push_back("127.0.0.1:" + std::to_string(node->port()));
  create.insert(create.end(), {"--cluster-replicas", "1", "--cluster-yes"});
  auto cli = ChildProcess::spawn(create, {}, ChildProcess::Stderr::into_stdout);
  const std::string output = cli.read_all(30s);
  const auto status = cli.wait(5s);
  if (!status || *status != 0) throw std::runtime_error("redis-cli --cluster create failed:\n" + output);
  if (!wait_until_ok(30s)) throw std::runtime_error("the test cluster did not reach cluster_state:ok in 30 s");
  // Replicas in sync, so that a killed master can be replaced at once.
  const bool synced = wait_until(
      [&] {
        for (const auto& node : nodes_) {
          const std::string info = node->query({"INFO", "replication"});
          if (has_line(info, "role:slave") && !has_line(info, "master_link_status:up")) return false;
        }
        return true;
      },
      30s);
  if (!synced) throw std::runtime_error("the test cluster's replicas did not sync in 30 s");
}

std::string RedisCluster::url() const {
  std::string out = "redis+cluster://";
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (i) out += ',';
    out += "127.0.0.1:" + std::to_string(nodes_[i]->port());
  }
  return out;
}

const RedisServer& RedisCluster::any_live() const {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!dead_[i]) return *nodes_[i];
  }
  throw std::runtime_error("every node of the test cluster is dead");
}

long long RedisCluster::keyslot(const std::string& key) const {
  return any_live().integer({"CLUSTER", "KEYSLOT", key});
}

RedisServer& RedisCluster::master_of(const std::string& key) {
  const long long slot = keyslot(key);
  // CLUSTER SLOTS, flattened by RedisServer::list: per range "start\nend\nip\nport\nid..." —
  // read it as text, range by range.
  const std::string port = [&] {
    for (const std::string& range : any_live().list({"CLUSTER", "SLOTS"})) {
      // One range: "start\nend\nip\nport\nid\n..." (nested arrays joined by '\n').
      const auto field = [&](std::size_t n) {
        std::size_t begin = 0;
        for (std::size_t i = 0; i < n; ++i) begin = range.find('\n', begin) + 1;
        return range.substr(begin, range.find('\n', begin) - begin);
      };
      if (std::stoll(field(0)) <= slot && slot <= std::stoll(field(1))) return field(3);
    }
    throw std::runtime_error("no node serves slot " + std::to_string(slot));
  }();
  for (auto& node : nodes_) {
    if (std::to_string(node->port()) == port) return *node;
  }
  throw std::runtime_error("the slot map names a port that is not one of ours: " + port);
}

void RedisCluster::kill(RedisServer& node) {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].get() == &node) dead_[i] = true;
  }
  node.kill();
}

bool RedisCluster::wait_until_replicated(std::chrono::milliseconds timeout) {
  // A master's INFO replication: "master_repl_offset:N" and one
  // "slaveK:ip=...,port=...,state=online,offset=M,lag=0" per replica.
  const auto number_after = [](const std::string& text, const std::string& label) -> long long {
    const auto at = text.find(label);
    return at == std::string::npos ? -1 : std::atoll(text.c_str() + at + label.size());
  };
  return wait_until(
      [&] {
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
          if (dead_[i]) continue;
          const std::string info = nodes_[i]->query({"INFO", "replication"});
          if (!has_line(info, "role:master")) continue;
          const long long offset = number_after(info, "master_repl_offset:");
          for (std::size_t at = info.find(",offset="); at != std::string::npos; at = info.find(",offset=", at + 1)) {
            if (std::atoll(info.c_str() + at + 8) != offset) return false;
          }
        }
        return true;
      },
      timeout, 20ms);
}

bool RedisCluster::wait_until_ok(std::chrono::milliseconds timeout) {
  return wait_until(
      [&] {
        try {
          for (std::size_t i = 0; i < nodes_.size(); ++i) {
            if (dead_[i]) continue;
            if (!has_line(nodes_[i]->query({"CLUSTER", "INFO"}), "cluster_state:ok")) return false;
            // Every slot served by a live master, in this node's view.
            for (const std::string& range : nodes_[i]->list({"CLUSTER", "SLOTS"})) {
              std::size_t begin = 0;
              for (int f = 0; f < 3; ++f) begin = range.find('\n', begin) + 1;
              const std::string port = range.substr(begin, range.find('\n', begin) - begin);
              for (std::size_t j = 0; j < nodes_.size(); ++j) {
                if (dead_[j] && std::to_string(nodes_[j]->port()) == port) return false;
              }
            }
          }
          return true;
        } catch (const std::runtime_error&) {
          return false;  // a node busy restarting its connections: ask again
        }
      },
      timeout, 50ms);
}

}  // namespace conveyor::testing
