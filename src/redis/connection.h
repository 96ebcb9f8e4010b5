// One connection to a Redis server, driven from an Asio io_context: hiredis
// formats commands and parses replies; Asio (TCP, or TLS for rediss://) moves
// the bytes. Commands from many coroutines are pipelined on the one socket and
// each caller gets its own reply, in order.
//
// Owned by one io_context and only used from it (no locks). A broken
// connection fails every pending and later command with an error_code; the
// owner reconnects by making a new Connection. Destroying the Connection is
// safe at any time: it closes the socket and its pending commands complete
// with Error::connection_closed on the executor (its internals live in a
// shared state held by the I/O in flight).
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "core/error.h"
#include "redis/endpoint.h"
#include "redis/error.h"
#include "redis/reply.h"

namespace conveyor::redis {

class Connection {
 public:
  // Connects, performs TLS, AUTH and SELECT as the endpoint asks, within
  // `timeout` (then fails with boost::asio::error::timed_out). A refused
  // login fails with ConnectError::auth_failed, a refused database with
  // ConnectError::select_failed; if `why` is given, it gets a sentence naming
  // the endpoint and quoting the server's words ("Redis at redis://:***@h:6379/0
  // refused the login: WRONGPASS ..."), never the password. Other failures
  // name the step and Asio's reason. `why` must outlive the call. A cluster
  // endpoint (redis+cluster://) gives a ClusterConnection (cluster_connection.h).
  //
  // A redis+sentinel:// endpoint (redis/sentinel.h) is resolved here, at each
  // connect: the sentinels are asked for the master, which must answer ROLE
  // as master (else ConnectError::not_master; none named: no_master). Such a
  // connection closes itself after a READONLY or LOADING error reply (the
  // caller gets that reply), so its owner's usual reconnect follows a failover.
  static boost::asio::awaitable<Result<std::unique_ptr<Connection>>> connect(
      boost::asio::any_io_executor executor, const Endpoint& endpoint,
      std::chrono::milliseconds timeout, std::string* why = nullptr);

  virtual ~Connection() = default;

  // Sends one command (args[0] is the command name) and waits for its reply.
  // A Redis error reply is returned as a Reply of Type::error, not as a
  // failed Result: only transport failures are errors here. `args` is copied
  // out before the first suspension. An empty command is refused with
  // boost::asio::error::invalid_argument (Redis would not answer it).
  virtual boost::asio::awaitable<Result<Reply>> command(std::span<const std::string_view> args) = 0;

  // Sends several commands in one write and returns their replies in order.
  virtual boost::asio::awaitable<Result<std::vector<Reply>>> pipeline(
      std::span<const std::vector<std::string_view>> commands) = 0;

  // False once the connection failed or was closed; every command fails then.
  virtual bool is_open() const = 0;

  // Closes the socket; pending commands fail with Error::connection_closed.
  virtual void close() = 0;
};

// A Lua script run by EVALSHA, loaded (SCRIPT LOAD) on first NOSCRIPT.
class Script {
 public:
  explicit Script(std::string source);
  const std::string& source() const { return source_; }
  const std::string& sha1() const { return sha1_; }

  // EVALSHA, falling back to SCRIPT LOAD + EVALSHA (one round trip) if the
  // server lost it (a restart, or a replica promoted in a cluster; a slot that
  // moves meanwhile gets the load again, twice at most). The Script and the Connection must outlive the call.
  boost::asio::awaitable<Result<Reply>> run(Connection& connection,
                                            std::span<const std::string_view> keys,
                                            std::span<const std::string_view> args) const;

 private:
  std::string source_;
  std::string sha1_;
};

}  // namespace conveyor::redis
