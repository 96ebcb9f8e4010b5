#include "queue/dead_letter.h"

#include <chrono>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

namespace conveyor::queue {

std::string printable(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (unsigned char c : bytes) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

std::string DeadLetter::to_json(std::uint32_t attempts) const {
  const auto now = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  boost::json::object object{
      {"reason", printable(reason)},
      {"status", status},
      {"response", printable(std::string_view(response).substr(0, response_limit))},
      {"attempts", attempts},
      {"dead_at", fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", now)},
  };
  return boost::json::serialize(object);
}

}  // namespace conveyor::queue
