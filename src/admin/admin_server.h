// The admin listener of `conveyor work`: GET /metrics (Prometheus), /healthz, /readyz,
// /api/status (JSON) and the dashboard at /, and POST /api/dlq/requeue and /api/dlq/purge.
// Reads everything from the Monitor; a mutation opens its own short-lived QueueAdmin connection.
// Access: a change always needs "Authorization: Bearer <ADMIN_TOKEN>" (refused with 403 when no
// token is configured); on a non-loopback address the dashboard and /api/status need the token
// too, as a bearer token or as the password of HTTP Basic credentials (what a browser can send),
// while /metrics and the probes stay open. Runs one thread of its own (http::Server).
// REQUIRES: the Monitor outlives the server.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "admin/monitor.h"
#include "admin/status.h"
#include "core/error.h"
#include "http/server.h"

namespace conveyor::admin {

struct AdminServerOptions {
  std::string listen = "127.0.0.1:9464";  // host:port; port 0 picks a free one
  std::string token;                      // ADMIN_TOKEN; empty: no changes allowed (secret: never logged)
};

class AdminServer final : public http::ServerHandler {
 public:
  AdminServer(AdminServerOptions options, Monitor& monitor, StaticInfo info, AdminConnector connect);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds: invalid_argument for a malformed address, address_in_use when taken.
  error_code listen();
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  bool loopback() const;  // the bound address is a loopback one
  void start();
  void stop();

  boost::asio::awaitable<http::ServerResponse> handle(const http::ServerRequest& request) override;

 private:
  enum class Access { open, read, change };
  // nullopt: allowed; else the refusal to send.
  std::optional<http::ServerResponse> refuse(const http::ServerRequest& request, Access access) const;
  boost::asio::awaitable<http::ServerResponse> change_dead_letters(const http::ServerRequest& request, bool purge);

  AdminServerOptions options_;
  Monitor& monitor_;
  StaticInfo info_;
  AdminConnector connect_;
  std::unique_ptr<http::Server> server_;
  bool loopback_ = true;
};

// True for an address only this host can reach: 127.0.0.0/8, ::1, "localhost".
bool is_loopback_listen(const std::string& listen);

}  // namespace conveyor::admin
