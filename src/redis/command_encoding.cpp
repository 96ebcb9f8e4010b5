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

}  // namespace conveyor::redis
