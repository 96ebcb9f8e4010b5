#include "admin/admin_server.h"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "admin/assets.h"
#include "http/basic_auth.h"
#include "metrics/prometheus.h"

namespace conveyor::admin {
namespace json = boost::json;

namespace {

// `content_type` must be static text (a literal).
http::ServerResponse response(unsigned status, std::string_view content_type, std::string body) {
  http::ServerResponse r;
  r.status = status;
  r.content_type = content_type;
  r.body = std::move(body);
  return r;
}

http::ServerResponse json_response(unsigned status, std::string body) {
  return response(status, "application/json", std::move(body));
}

http::ServerResponse error_response(unsigned status, std::string_view message) {
  return json_response(status, json::serialize(json::object{{"error", message}}));
}

http::ServerResponse text_response(unsigned status, std::string body) {
  return response(status, "text/plain; charset=utf-8", std::move(body));
}

// Compares in time independent of where the strings differ.
}  // namespace

bool is_loopback_listen(const std::string& listen) {
  std::string host = listen.substr(0, listen.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") return true;
  error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

AdminServer::AdminServer(AdminServerOptions options, Monitor& monitor, StaticInfo info, AdminConnector connect)
    : options_(std::move(options)), monitor_(monitor), info_(std::move(info)), connect_(std::move(connect)) {}

AdminServer::~AdminServer() { stop(); }

error_code AdminServer::listen() {
  server_ = std::make_unique<http::Server>(http::ServerOptions{.listen = options_.listen, .threads = 1, .backlog = 128,
                                                               .body_limit = 64 * 1024},
                                           *this);
  if (auto ec = server_->listen()) return ec;
  loopback_ = server_->local_endpoint().address().is_loopback();
  return {};
}

boost::asio::ip::tcp::endpoint AdminServer::local_endpoint() const { return server_->local_endpoint(); }

bool AdminServer::loopback() const { return loopback_; }

void AdminServer::start() { server_->start(); }

void AdminServer::stop() {
  if (server_) server_->stop();
}

std::optional<http::ServerResponse> AdminServer::refuse(const http::ServerRequest& request, Access access) const {
  if (access == Access::open || (access == Access::read && loopback_)) return std::nullopt;
  if (options_.token.empty()) {
    return error_response(403, "changes are disabled: start the worker with ADMIN_TOKEN set");
  }
  const std::string_view header = request.header("Authorization");
  constexpr std::string_view bearer = "Bearer ";
  if (header.starts_with(bearer) && http::same_secret(header.substr(bearer.size()), options_.token)) return std::nullopt;
  // A browser opening the dashboard cannot send a bearer token: reading also takes HTTP Basic
  // credentials whose password is the token (any user name), which the browser asks for itself.
  if (access == Access::read) {
    const auto basic = http::parse_basic_authorization(header);
    if (basic && http::same_secret(basic->password, options_.token)) return std::nullopt;
  }
  return error_response(401, "send Authorization: Bearer <ADMIN_TOKEN>");
}

boost::asio::awaitable<http::ServerResponse> AdminServer::handle(const http::ServerRequest& request) {
  const std::string_view path = request.path();
  const std::string_view method = request.method();
  if (method == "GET" || method == "HEAD") {
    if (path == "/metrics") {
      co_return response(200, metrics::Exposition::content_type, to_prometheus(monitor_.snapshot(), info_));
    }
    if (path == "/healthz") {
      const Status s = monitor_.snapshot();
      co_return s.healthy ? text_response(200, "ok\n") : text_response(503, s.health_reason + "\n");
    }
    if (path == "/readyz") {
      const Status s = monitor_.snapshot();
      co_return s.ready ? text_response(200, "ready\n") : text_response(503, s.ready_reason + "\n");
    }
    if (path == "/api/status") {
      if (auto refusal = refuse(request, Access::read)) co_return *refusal;
      co_return json_response(200, to_json(monitor_.snapshot(), info_));
    }
    if (const Asset* asset = find_asset(path)) {
      if (auto refusal = refuse(request, Access::read)) {
        // Off loopback, the browser asks for the token itself (user name: anything).
        refusal->extra_header_name = "WWW-Authenticate";
        refusal->extra_header_value = R"x(Basic realm="conveyor admin (password: ADMIN_TOKEN)", charset="UTF-8")x";
        co_return *refusal;
      }
      http::ServerResponse r;
      r.content_type = asset->content_type;
      r.body = std::string(asset->body);
      r.extra_header_name = "Cache-Control";  // revalidate: a new binary may serve a new page
      r.extra_header_value = "no-cache";
      co_return r;
    }
    co_return error_response(404, "not found");
  }
  if (method == "POST" && (path == "/api/dlq/requeue" || path == "/api/dlq/purge")) {
    if (auto refusal = refuse(request, Access::change)) co_return *refusal;
    co_return co_await change_dead_letters(request, path == "/api/dlq/purge");
  }
  co_return error_response(405, "method not allowed");
}

boost::asio::awaitable<http::ServerResponse> AdminServer::change_dead_letters(const http::ServerRequest& request,
                                                                             bool purge) {
  std::vector<std::string> ids;
  if (!purge) {
    error_code ec;
    const json::value body = json::parse(request.body(), ec);
    const json::object* o = ec ? nullptr : body.if_object();
    const bool all = o && o->if_contains("all") && o->at("all") == true;
    const json::array* list = o && o->if_contains("ids") ? o->at("ids").if_array() : nullptr;
    if (!all && (!list || list->empty())) co_return error_response(400, R"(send {"all":true} or {"ids":["…"]})");
    if (!all) {
      for (const auto& id : *list) {
        if (!id.is_string()) co_return error_response(400, "ids must be strings");
        ids.emplace_back(id.as_string());
      }
    }
  }
  auto admin = co_await connect_();
  if (!admin) co_return error_response(503, "the queue cannot be reached: " + admin.error().message());
  if (purge) {
    auto purged = co_await (*admin)->purge();
    if (!purged) co_return error_response(503, "purge failed: " + purged.error().message());
    spdlog::info("admin: purged {} dead letter(s)", *purged);
    co_return json_response(200, json::serialize(json::object{{"purged", *purged}}));
  }
  auto requeued = co_await (*admin)->requeue(ids);
  if (!requeued) co_return error_response(503, "requeue failed: " + requeued.error().message());
  spdlog::info("admin: requeued {} dead letter(s)", *requeued);
  co_return json_response(200, json::serialize(json::object{{"requeued", *requeued}}));
}

}  // namespace conveyor::admin
