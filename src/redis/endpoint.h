// Where a Redis server is and how to log in: parsed from a REDIS_URL of the
// form redis://[[user]:password@]host[:port][/db][?ca_file=PATH&verify=BOOL],
// or rediss:// for TLS; or of a Redis Cluster, redis+cluster://[[user]:password@]
// host:port[,host:port...][?...] (rediss+cluster:// for TLS), which lists seed
// nodes; or redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/MASTER_NAME[/db]
// (rediss+sentinel:// for TLS), where the hosts are Redis Sentinels asked for
// the master at each connect (redis/sentinel.h). The password is kept out of
// every formatted form (to_string masks it) and out of every error text.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace conveyor::redis {

// One node's address: a seed of a cluster URL, or a node of its slot map.
struct NodeAddress {
  std::string host;
  std::uint16_t port = 6379;
  bool operator==(const NodeAddress&) const = default;
};

struct Endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string username;  // empty: AUTH with the password only
  std::string password;  // empty: no AUTH
  int db = 0;
  bool tls = false;
  // TLS only. Empty: the system's CA paths. verify=false accepts any
  // certificate (test setups only: it gives up protection against MITM).
  std::string tls_ca_file;
  bool tls_verify = true;
  // Not from the URL: a command unanswered this long fails the connection
  // (timed_out) so its owner reconnects rather than waiting forever. We send
  // no blocking commands, and our scripts run in milliseconds.
  std::chrono::milliseconds reply_timeout{30'000};
  // redis+cluster://: the seed nodes (host:port above is the first); the
  // client learns the rest from the cluster (cluster/cluster_connection.h).
  // A cluster has database 0 only.
  bool cluster = false;
  std::vector<NodeAddress> seeds;

  // redis+sentinel:// only (empty otherwise): the sentinels (port 26379 unless given), asked in
  // turn for the address of `master_name` at each connect; host and port above are unused then.
  // The sentinels' password is not in the URL: it comes from REDIS_SENTINEL_PASSWORD (empty: no
  // AUTH to the sentinels).
  std::vector<NodeAddress> sentinels;
  std::string master_name;
  std::string sentinel_password;

  // The same login and TLS settings, at one node of the cluster (not a cluster URL).
  Endpoint at(const NodeAddress& node) const;

  // "redis://127.0.0.1:6379/0", with the password shown as "***";
  // "redis+cluster://h1:7000,h2:7001" for a cluster.
  std::string to_string() const;
};

// Fails with Error::bad_url (and a reason in `why`) for anything else.
// As redis-cli does, a userinfo without ':' ("redis://secret@host") is the
// password. `why` never contains the password.
Result<Endpoint> parse_endpoint(std::string_view url, std::string* why = nullptr);

}  // namespace conveyor::redis
