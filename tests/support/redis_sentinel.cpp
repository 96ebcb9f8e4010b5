#include "support/redis_sentinel.h"

#include <signal.h>
#include <stdlib.h>

#include <fstream>
#include <stdexcept>

namespace conveyor::testing {
namespace {

using namespace std::chrono_literals;

// A field of an INFO or SENTINEL MASTER answer ("name\nvalue\n..." or "name:value" lines).
std::string field(const std::string& text, const std::string& name, char separator) {
  const std::string key = name + separator;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    std::string line = text.substr(at, end - at);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (separator == ':' && line.starts_with(key)) return line.substr(key.size());
    if (separator == '\n' && line == name) {
      const std::size_t next = std::min(text.find('\n', end + 1), text.size());
      return end < text.size() ? text.substr(end + 1, next - end - 1) : "";
    }
    at = end + 1;
  }
  return "";
}

}  // namespace

RedisSentinels::RedisSentinels(std::string master_name) : master_name_(std::move(master_name)) {
  servers_.push_back(std::make_unique<RedisServer>());
  servers_.push_back(
      std::make_unique<RedisServer>(std::vector<std::string>{"--replicaof", "127.0.0.1", std::to_string(master().port())}));
  sentinels_.resize(3);
  for (auto& sentinel : sentinels_) start_sentinel(sentinel);
  if (!wait_until([&] { return ready(); }, 30s, 50ms)) {
    throw std::runtime_error("the sentinels did not see the master, the replica and each other within 30 s; see " +
                             sentinels_[0].dir.string());
  }
}

RedisSentinels::~RedisSentinels() {
  for (auto& sentinel : sentinels_) {
    sentinel.process.signal(SIGKILL);
    sentinel.process.wait(5s);
    std::error_code ec;
    std::filesystem::remove_all(sentinel.dir, ec);
  }
}

void RedisSentinels::start_sentinel(Sentinel& sentinel) {
  char tmpl[] = "/tmp/conveyor-sentinel-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("cannot make a directory for a sentinel");
  sentinel.dir = tmpl;
  // The port can be taken between free_port() and bind: try a few.
  for (int attempt = 0; attempt < 5; ++attempt) {
    sentinel.port = free_port();
    const auto conf = sentinel.dir / "sentinel.conf";  // rewritten by the sentinel itself
    {
      std::ofstream out(conf);
      out << "port " << sentinel.port << "\nbind 127.0.0.1\ndir " << sentinel.dir.string() << "\nlogfile "
          << (sentinel.dir / "sentinel.log").string() << "\nsentinel monitor " << master_name_ << " 127.0.0.1 "
          << master().port() << " 2\nsentinel down-after-milliseconds " << master_name_
          << " 1000\nsentinel failover-timeout " << master_name_ << " 3000\nsentinel parallel-syncs " << master_name_
          << " 1\n";
    }
    sentinel.process = ChildProcess::spawn({REDIS_SERVER_BINARY, conf.string(), "--sentinel"});
    const unsigned short port = sentinel.port;
    const bool up = wait_until(
        [&] {
          if (sentinel.process.wait(0ms)) return true;
          try {
            return query_redis(port, {"PING"}) == "PONG";
          } catch (const std::runtime_error&) {
            return false;
          }
        },
        10s, 20ms);
    if (up && sentinel.process.running()) return;
  }
  throw std::runtime_error("a sentinel did not start; see " + sentinel.dir.string());
}

bool RedisSentinels::ready() const {
  try {
    if (field(servers_[1]->query({"INFO", "replication"}), "master_link_status", ':') != "up") return false;
    for (const auto& sentinel : sentinels_) {
      const std::string master = query_redis(sentinel.port, {"SENTINEL", "MASTER", master_name_});
      if (field(master, "num-slaves", '\n') != "1" || field(master, "num-other-sentinels", '\n') != "2") return false;
    }
    return true;
  } catch (const std::runtime_error&) {
    return false;
  }
}

std::string RedisSentinels::url() const {
  std::string hosts;
  for (const auto& sentinel : sentinels_) {
    hosts += (hosts.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(sentinel.port);
  }
  return "redis+sentinel://" + hosts + "/" + master_name_;
}

std::vector<unsigned short> RedisSentinels::sentinel_ports() const {
  std::vector<unsigned short> ports;
  for (const auto& sentinel : sentinels_) ports.push_back(sentinel.port);
  return ports;
}

unsigned short RedisSentinels::named_master_port() const {
  for (const auto& sentinel : sentinels_) {
    try {
      const std::string answer = query_redis(sentinel.port, {"SENTINEL", "get-master-addr-by-name", master_name_});
      const auto newline = answer.find('\n');
      if (newline != std::string::npos) return static_cast<unsigned short>(std::stoi(answer.substr(newline + 1)));
    } catch (const std::exception&) {
    }
  }
  return 0;
}

bool RedisSentinels::wait_for_failover(std::chrono::milliseconds timeout) const {
  const std::string replica_port = std::to_string(servers_[1]->port());
  return wait_until(
      [&] {
        try {
          for (const auto& sentinel : sentinels_) {
            const std::string answer =
                query_redis(sentinel.port, {"SENTINEL", "get-master-addr-by-name", master_name_});
            if (answer != "127.0.0.1\n" + replica_port) return false;
          }
          return servers_[1]->query({"ROLE"}).starts_with("master");
        } catch (const std::runtime_error&) {
          return false;
        }
      },
      timeout, 50ms);
}

}  // namespace conveyor::testing
