#include "redis/local_server.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <memory>
#include <random>
#include <stdexcept>

namespace conveyor::redis {
namespace {

bool answers_ping(unsigned short port) {
  timeval tv{0, 200'000};
  std::unique_ptr<redisContext, decltype(&redisFree)> ctx(redisConnectWithTimeout("127.0.0.1", port, tv), &redisFree);
  if (!ctx || ctx->err) return false;
  auto* reply = static_cast<redisReply*>(redisCommand(ctx.get(), "PING"));
  // Any answer means it is up; a server started with --requirepass answers
  // PING with a NOAUTH error.
  const bool ok = reply && (reply->type == REDIS_REPLY_STATUS || reply->type == REDIS_REPLY_ERROR);
  if (reply) freeReplyObject(reply);
  return ok;
}

// A cluster node also listens on its bus port, port + 10000, which must be free and at most 65535.
// The kernel hands out free ports from its ephemeral range (32768-60999 here), often one near the
// last, so a run of them can all sit above 55535: CI saw five in a row fail that way. A node's
// port is picked at random from 20000-22767 instead, with its bus port in 30000-32767: both
// below the ephemeral range, where no outgoing connection takes them.
unsigned short free_cluster_node_port() {
  static thread_local std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> pick(20000, 22767);
  for (int i = 0; i < 500; ++i) {
    const auto port = static_cast<unsigned short>(pick(random));
    if (port_is_free(port) && port_is_free(static_cast<unsigned short>(port + 10000))) return port;
  }
  throw std::runtime_error("no free port pair (P, P + 10000) for a cluster node in 20000-22767");
}

bool is_cluster_node(const std::vector<std::string>& args) {
  const auto flag = std::find(args.begin(), args.end(), "--cluster-enabled");
  return flag != args.end() && std::next(flag) != args.end() && *std::next(flag) == "yes";
}

}  // namespace

LocalServer::LocalServer(std::vector<std::string> extra_args, std::string program)
    : extra_args_(std::move(extra_args)), program_(std::move(program)) {
  char tmpl[] = "/tmp/conveyor-redis-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("cannot make a directory for redis-server");
  dir_ = tmpl;
  // The port can be taken between free_port() and bind: try a few.
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = is_cluster_node(extra_args_) ? free_cluster_node_port() : free_port();
    try {
      launch();
      return;
    } catch (const std::runtime_error&) {
      if (attempt == 4) throw;
    }
  }
}

LocalServer::~LocalServer() {
  process_.signal(SIGKILL);
  process_.wait(std::chrono::seconds(5));
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string LocalServer::url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

void LocalServer::launch() {
  std::vector<std::string> argv = {program_, "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                   "--save", "", "--appendonly", "no", "--dir", dir_.string(),
                                   "--logfile", (dir_ / "redis.log").string()};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  process_ = ChildProcess::spawn(argv);
  const bool up = wait_until([&] { return !process_.running() || process_.wait(std::chrono::milliseconds(0)) ||
                                          answers_ping(port_); },
                             std::chrono::seconds(10), std::chrono::milliseconds(10));
  if (!up || process_.wait(std::chrono::milliseconds(0))) {
    throw std::runtime_error("redis-server did not start on port " + std::to_string(port_) + "; see " +
                             (dir_ / "redis.log").string());
  }
}

void LocalServer::kill() {
  process_.signal(SIGKILL);
  process_.wait(std::chrono::seconds(5));
}

void LocalServer::restart() {
  kill();
  launch();
}

}  // namespace conveyor::redis
