#include "queue/message_problem.h"

#include <boost/json/parse.hpp>
#include <fmt/format.h>

namespace conveyor::queue {

std::optional<std::string> message_problem(std::string_view text, std::size_t max_bytes) {
  // Checked first: a 10 MiB blob is refused without being parsed.
  if (text.size() > max_bytes) {
    return fmt::format("message of {} bytes is larger than the queue accepts ({} bytes)", text.size(), max_bytes);
  }
  if (text.empty()) return std::string("empty message");
  boost::system::error_code ec;
  const auto value = boost::json::parse(text, ec);  // validates UTF-8; bounded nesting depth
  if (ec) return fmt::format("invalid JSON: {}", ec.message());
  if (!value.is_object()) return std::string("not a JSON object");
  return std::nullopt;
}

}  // namespace conveyor::queue
