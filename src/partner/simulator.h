// The partner simulator (`conveyor partner`): an HTTP server that stands in
// for the partner API. Every POST is answered after `delay`, 503 with
// probability `fail_rate` and 200 otherwise, and counted exactly (see
// partner/stats.h) so tests can prove nothing was lost or doubled.
//
//   POST <any path>  -> 200 {"ok":true} | 503 {"ok":false,...}
//   GET  /stats      -> {"requests":…,"ok":…,"failed":…,"unique_keys":…,"duplicates":…,"in_flight":…}
//   GET  /bodies     -> JSON array of the distinct bodies answered 200 (record_bodies only, else 404)
//   GET  /healthz    -> 200
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "core/error.h"
#include "http/server.h"
#include "partner/stats.h"

namespace conveyor::partner {

struct SimulatorOptions {
  std::string listen = "127.0.0.1:0";  // host:port; port 0 picks a free one
  std::chrono::milliseconds delay{0};  // each POST is answered no sooner than this
  double fail_rate = 0.0;              // 0.0–1.0: fraction of POSTs answered 503
  unsigned threads = 1;                // 0 means one per hardware thread
  bool record_bodies = false;          // keep distinct OK bodies for GET /bodies
  std::optional<std::chrono::seconds> retry_after;  // sent with every 503 when set
};

class Simulator final : private http::ServerHandler {
 public:
  explicit Simulator(SimulatorOptions options);
  ~Simulator();  // stops and joins the threads
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Validates the options, binds and starts serving on background threads.
  // invalid_argument for bad options (listen, fail_rate, delay), else the
  // socket error.
  error_code start();
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  // Blocks until stop() has ended every connection.
  void run();
  // Thread-safe, returns at once; requests waiting out their delay are dropped
  // unanswered (counted out of in_flight, neither ok nor failed).
  void stop();

  StatsSnapshot stats() const { return stats_.snapshot(); }
  std::vector<std::string> bodies() const { return stats_.bodies(); }

 private:
  boost::asio::awaitable<http::ServerResponse> handle(const http::ServerRequest& request) override;
  http::ServerResponse handle_get(const http::ServerRequest& request) const;
  bool should_fail() const;

  const SimulatorOptions options_;
  Stats stats_;
  http::Server server_;  // last: stopped and joined before what its handler uses
};

// "127.0.0.1:8080", or "[::1]:8080".
std::string format_endpoint(const boost::asio::ip::tcp::endpoint& endpoint);

// The `conveyor partner` command: raises the open-files limit, starts the
// simulator, prints exactly one line "listening on HOST:PORT" to stdout
// (flushed; harnesses read it to learn the port), and serves until SIGINT or
// SIGTERM. Returns 0 after a clean stop, 2 for invalid options, 1 if it
// cannot listen; errors go to stderr.
int run_partner(const SimulatorOptions& options);

}  // namespace conveyor::partner
