// LOG_FORMAT=json: an spdlog formatter writing each log record as one JSON object on one line,
// {"time":"2026-11-30T02:00:00.123Z","level":"info","message":"...","logger":"conveyor","thread":123},
// for log shippers. The message is escaped by Boost.JSON and its invalid UTF-8 replaced by U+FFFD,
// so every line parses whatever the message holds. Stateless: any thread may call it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/formatter.h>

namespace conveyor {

class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

// `bytes` with every invalid UTF-8 sequence replaced by U+FFFD (valid text comes back unchanged).
std::string valid_utf8(std::string_view bytes);

}  // namespace conveyor
