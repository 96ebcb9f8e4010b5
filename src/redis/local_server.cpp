#include "redis/local_server.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdlib.h>

#include <memory>
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

}  // namespace

LocalServer::LocalServer(std::vector<std::string> extra_args, std::string program)
    : extra_args_(std::move(extra_args)), program_(std::move(program)) {
  char tmpl[] = "/tmp/conveyor-redis-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("cannot make a directory for redis-server");
  dir_ = tmpl;
  // The port can be taken between free_port() and bind: try a few.
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = free_port();
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
