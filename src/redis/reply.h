// One Redis reply as an owning C++ value, converted from hiredis' redisReply
// so that no hiredis type leaves the redis/ folder.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace conveyor::redis {

struct Reply {
  enum class Type { nil, integer, string, status, error, array };
  Type type = Type::nil;
  std::int64_t integer = 0;
  std::string string;          // string, status and error replies
  std::vector<Reply> elements; // array replies

  bool is_error() const { return type == Type::error; }
  bool is_nil() const { return type == Type::nil; }
};

}  // namespace conveyor::redis
