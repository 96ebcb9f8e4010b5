#include "support/redis_server.h"

#include <hiredis/hiredis.h>

#include <memory>
#include <stdexcept>

namespace conveyor::testing {
namespace {

using ContextPtr = std::unique_ptr<redisContext, decltype(&redisFree)>;
using ReplyPtr = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;

ContextPtr connect_to(unsigned short port) {
  timeval tv{1, 0};
  return ContextPtr(redisConnectWithTimeout("127.0.0.1", port, tv), &redisFree);
}

ReplyPtr run(unsigned short port, const std::string& password, const std::vector<std::string>& args) {
  auto ctx = connect_to(port);
  if (!ctx || ctx->err) throw std::runtime_error("cannot connect to test redis-server");
  if (!password.empty()) {
    ReplyPtr auth(static_cast<redisReply*>(redisCommand(ctx.get(), "AUTH %s", password.c_str())), &freeReplyObject);
    if (!auth || auth->type == REDIS_REPLY_ERROR) throw std::runtime_error("test redis-server refused AUTH");
  }
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* raw = static_cast<redisReply*>(
      redisCommandArgv(ctx.get(), static_cast<int>(argv.size()), argv.data(), lens.data()));
  if (!raw) throw std::runtime_error("test redis-server connection failed");
  return ReplyPtr(raw, &freeReplyObject);
}

std::string text(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_INTEGER: return std::to_string(r->integer);
    case REDIS_REPLY_NIL: return "(nil)";
    case REDIS_REPLY_ARRAY: {
      std::string out;
      for (size_t i = 0; i < r->elements; ++i) {
        if (i) out += '\n';
        out += text(r->element[i]);
      }
      return out;
    }
    default: return std::string(r->str, r->len);
  }
}

}  // namespace

void RedisServer::require_password(const std::string& password) {
  query({"CONFIG", "SET", "requirepass", password});
  password_ = password;
}

std::string RedisServer::query(const std::vector<std::string>& args) const {
  return text(run(port(), password_, args).get());
}

std::string query_redis(unsigned short port, const std::vector<std::string>& args) {
  return text(run(port, "", args).get());
}

long long RedisServer::integer(const std::vector<std::string>& args) const {
  auto reply = run(port(), password_, args);
  if (reply->type != REDIS_REPLY_INTEGER) {
    throw std::runtime_error("expected an integer reply to " + args.at(0) + ", got " + text(reply.get()));
  }
  return reply->integer;
}

std::vector<std::string> RedisServer::list(const std::vector<std::string>& args) const {
  auto reply = run(port(), password_, args);
  std::vector<std::string> out;
  if (reply->type == REDIS_REPLY_ARRAY) {
    for (size_t i = 0; i < reply->elements; ++i) out.push_back(text(reply->element[i]));
  }
  return out;
}

}  // namespace conveyor::testing
