// A Connection to a whole Redis Cluster: it learns the slot map (CLUSTER SLOTS) from the seed
// nodes, sends each command to the master of its key's slot (slot.h) over one pipelined
// Connection per node, follows MOVED (and corrects the map) and ASK (ASKING, then the command on
// the target), and waits out TRYAGAIN and CLUSTERDOWN (a failover in progress) within bounds.
// Everything that holds a redis::Connection (queue, admin, producer, rate limiter) runs on a
// cluster unchanged, as long as each command's keys share one slot.
//
// Like a single Connection it breaks for good on a transport failure (a node died, a node
// refused the connection): pending and later commands fail with the error, and its owner makes
// a new one, which asks the seeds for a fresh slot map: that is how a promoted replica is found.
// Owned by one io_context and only used from it (no locks); destroying it at any time is safe
// (its state lives in a shared state held by the commands in flight).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "redis/connection.h"
#include "redis/slot_map.h"

namespace conveyor::redis {

class ClusterConnection final : public Connection {
 public:
  // Asks the seeds of `endpoint` in turn for the slot map, each within `timeout`. Fails with the
  // last seed's error if none answers: ConnectError::auth_failed for a refused login (as
  // Connection::connect), Error::redis_reply if a seed is not a cluster node or its cluster
  // serves no slot; `why` (which must outlive the call) names the seed and the reason.
  static boost::asio::awaitable<Result<std::unique_ptr<Connection>>> connect(boost::asio::any_io_executor executor,
                                                                             const Endpoint& endpoint,
                                                                             std::chrono::milliseconds timeout,
                                                                             std::string* why = nullptr);
  ~ClusterConnection() override;

  // The command goes to its key's master (keyless ones to any master). An error reply is a Reply;
  // MOVED, ASK, TRYAGAIN and CLUSTERDOWN are handled here and only reach the caller once their
  // bounds are used up (a few redirects; about five seconds of CLUSTERDOWN).
  boost::asio::awaitable<Result<Reply>> command(std::span<const std::string_view> args) override;
  // One write per node: commands go where their keys live; a keyless command goes with the next
  // keyed one (SCRIPT LOAD before its EVALSHA). Replies come back in the order given.
  boost::asio::awaitable<Result<std::vector<Reply>>> pipeline(
      std::span<const std::vector<std::string_view>> commands) override;
  bool is_open() const override;
  void close() override;

  // The slot map as now known (for tools and tests).
  const SlotMap& slots() const;

  struct State;
  explicit ClusterConnection(std::shared_ptr<State> state);

 private:
  std::shared_ptr<State> state_;
};

}  // namespace conveyor::redis
