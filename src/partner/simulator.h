// The partner simulator (`conveyor partner`): an HTTP server that stands in
// for the partner API. Every POST is answered after `delay`: with the status
// its body names in `status_field` if any; else its connection is dropped
// unanswered with probability `drop_rate`, or it is answered 503 with
// probability `fail_rate` (a 429 or 503, marked or drawn, carries `retry_after` when set), or 200 (with a body of `response_bytes` when set,
// like a carrier answering with a base64 label). Everything is counted exactly (see
// partner/stats.h) so tests can prove nothing was lost or doubled. With a capacity, the delay
// grows with the load past it, like a congested server (SimulatorOptions::capacity).
//
//   POST <any path>  -> 200 {"ok":true} (or {"ok":true,"label":"AAA…"}) | 503 {"ok":false,...}
//   GET  /stats      -> {"requests":…,"ok":…,"failed":…,"unique_keys":…,"duplicates":…,"in_flight":…}
//                       (with order_field, also …,"order_violations":…,"overlaps":…: see order_check.h)
//   GET  /bodies     -> JSON array of the distinct bodies answered 200 (record_bodies only, else 404)
//   GET  /arrivals   -> JSON array: every POST's arrival, microseconds since start (record_arrivals only)
//   GET  /targets    -> JSON array: every POST's request target (path + query), in arrival order (idem)
//   GET  /delays     -> JSON array of [arrival, delay] in microseconds: the delay each POST was given,
//                       the partner-side latency (record_arrivals only; a POST refused at once: none)
//   GET  /healthz    -> 200
//   GET  /outage?ms=N -> for the next N ms every POST has its connection dropped unanswered, as
//                       if the partner were down; its records survive, for exact accounting
//
// With oauth_client (--oauth-client ID:SECRET, partner/token_issuer.h):
//   POST /oauth/token -> 200 {"access_token":…,"token_type":"Bearer","expires_in":TTL} for the
//                        client credentials grant with ID and SECRET (HTTP Basic or form
//                        fields), else 401 {"error":"invalid_client"}
//   POST <other path> -> 401 {"ok":false,"error":"invalid_token"} without "Authorization: Bearer
//                        <a live token>" (counted in neither requests nor ok nor failed)
//   GET  /stats gains "tokens_issued" and "unauthorized" (401s answered)
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "core/error.h"
#include "http/server.h"
#include "partner/order_check.h"
#include "partner/stats.h"
#include "partner/token_issuer.h"

namespace conveyor::partner {

struct SimulatorOptions {
  std::string listen = "127.0.0.1:0";  // host:port; port 0 picks a free one
  std::chrono::milliseconds delay{0};  // each POST is answered no sooner than this
  double fail_rate = 0.0;              // 0.0–1.0: fraction of POSTs answered 503
  unsigned threads = 1;                // 0 means one per hardware thread
  bool record_bodies = false;          // keep distinct OK bodies for GET /bodies
  std::optional<std::chrono::seconds> retry_after;  // sent with every 503 when set
  double drop_rate = 0.0;    // 0.0–1.0: fraction of POSTs whose connection is closed unanswered
  std::string status_field;  // a POST body whose top-level field of this name is a status
                             // (100–599) is answered with it: tests mark the messages to refuse
  std::size_t response_bytes = 0;  // 200 bodies are padded to this many bytes; 0: {"ok":true}
  bool record_arrivals = false;    // keep every POST's arrival time for GET /arrivals (rate tests)

  // Capacity mode (--capacity), a congested server: with n POSTs in progress when one arrives
  // (itself included), up to `capacity` each takes `delay`; beyond, delay × (n / capacity)², so
  // throughput falls as the overload grows; past 2 × capacity it is answered 503 at once.
  // 0: off.
  std::size_t capacity = 0;

  // Per-key ordering (partner/order_check.h) and latency spread.
  std::string order_field;  // a body's top-level field whose value is the ordering key; empty: no check
  std::string seq_field;    // its integer field that must increase per key among 200s
  std::chrono::milliseconds delay_jitter{0};  // each POST waits a uniform draw from [delay, delay + jitter]
  // OAuth2 token endpoint (--oauth-client, --token-ttl).
  std::string oauth_client;                 // "ID:SECRET"; empty: no token endpoint, no bearer check
  std::chrono::seconds token_ttl{3600};     // each token's expires_in
};

class Simulator final : private http::ServerHandler {
 public:
  explicit Simulator(SimulatorOptions options);
  ~Simulator();  // stops and joins the threads
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Validates the options, binds and starts serving on background threads.
  // invalid_argument for bad options (listen, fail_rate, delay, oauth_client,
  // token_ttl), else the socket error.
  error_code start();
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  // Blocks until stop() has ended every connection.
  void run();
  // Thread-safe, returns at once; requests waiting out their delay are dropped
  // unanswered (counted out of in_flight, neither ok nor failed).
  void stop();

  StatsSnapshot stats() const { return stats_.snapshot(); }
  std::vector<std::string> bodies() const { return stats_.bodies(); }
  const OrderCheck& order() const { return order_; }

 private:
  boost::asio::awaitable<http::ServerResponse> handle(const http::ServerRequest& request) override;
  http::ServerResponse handle_get(const http::ServerRequest& request) const;
  // Draws true with probability `rate`.
  static bool chance(double rate);
  // This POST's delay: `delay`, plus a uniform draw of up to `delay_jitter`.
  std::chrono::milliseconds draw_delay() const;
  // The status the body asks for through status_field, or 0.
  unsigned marked_status(std::string_view body) const;

  const SimulatorOptions options_;
  const std::string ok_body_;  // every 200's body
  Stats stats_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  mutable std::mutex arrivals_mutex_;
  std::vector<std::int64_t> arrivals_;  // microseconds since started_, record_arrivals only
  std::vector<std::string> targets_;    // each POST's request target, in arrival order, record_arrivals only
  std::vector<std::pair<std::int64_t, std::int64_t>> delays_;  // [arrival, delay] µs, record_arrivals only
  OrderCheck order_;
  // Steady-clock nanoseconds until which the partner plays dead (GET /outage).
  mutable std::atomic<std::int64_t> down_until_{0};
  // POSTs in progress, for the capacity mode.
  std::atomic<std::size_t> in_progress_{0};
  std::unique_ptr<TokenIssuer> tokens_;  // with oauth_client; set by start(), before serving
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
