#include "redis/command_encoding.h"

#include <hiredis/hiredis.h>

#include <climits>
#include <memory>

#include <boost/container/small_vector.hpp>

namespace conveyor::redis {
namespace {

struct CommandFree {
  void operator()(char* c) const { redisFreeCommand(c); }
};

}  // namespace

bool append_command(std::string& out, std::span<const std::string_view> args) {
  if (args.empty() || args.size() > static_cast<std::size_t>(INT_MAX)) return false;
  boost::container::small_vector<const char*, 16> argv;
  boost::container::small_vector<std::size_t, 16> lengths;
  for (const auto arg : args) {
    argv.push_back(arg.data() ? arg.data() : "");
    lengths.push_back(arg.size());
  }
  char* raw = nullptr;
  const int n = redisFormatCommandArgv(&raw, static_cast<int>(args.size()), argv.data(), lengths.data());
  std::unique_ptr<char, CommandFree> formatted(raw);
  if (n < 0 || !formatted) return false;
  out.append(formatted.get(), static_cast<std::size_t>(n));
  return true;
}

std::vector<std::string_view> evalsha_arguments(std::string_view sha1, std::string_view key_count,
                                                std::span<const std::string_view> keys,
                                                std::span<const std::string_view> args) {
  std::vector<std::string_view> out;
  out.reserve(3 + keys.size() + args.size());
  out.push_back("EVALSHA");
  out.push_back(sha1);
  out.push_back(key_count);
  out.insert(out.end(), keys.begin(), keys.end());
  out.insert(out.end(), args.begin(), args.end());
  return out;
}

}  // namespace conveyor::redis
