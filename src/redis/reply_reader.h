// The replies in the bytes a Redis server sends, parsed by hiredis' reader into owning Replies
// (reply.h), so no hiredis type leaves the redis/ folder. One per connection, owned by it and used
// from its thread only; bytes may arrive split anywhere, replies come out whole and in order.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "core/error.h"
#include "redis/reply.h"

struct redisReader;  // hiredis'

namespace conveyor::redis {

class ReplyReader {
 public:
  ReplyReader();  // throws std::bad_alloc if hiredis cannot make its reader
  ~ReplyReader();
  ReplyReader(const ReplyReader&) = delete;
  ReplyReader& operator=(const ReplyReader&) = delete;

  // Takes in the next bytes received. False if the reader already failed (or is out of memory):
  // the stream cannot be read any further.
  bool feed(std::string_view bytes);

  // The next whole reply, or nullopt until more bytes are fed. Error::redis_protocol for bytes
  // that are not RESP; the reader stays failed then.
  Result<std::optional<Reply>> next();

 private:
  struct Free {
    void operator()(redisReader* reader) const;
  };
  std::unique_ptr<redisReader, Free> reader_;
};

}  // namespace conveyor::redis
