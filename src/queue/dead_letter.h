// A DeadLetter says why a message left delivery for good: retrying could not help (the partner
// refused it as bad, or it is not a message at all) or every attempt was spent. The backend keeps
// it beside the message's untouched body, so an operator can judge the message and requeue it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace conveyor::queue {

struct DeadLetter {
  static constexpr std::size_t response_limit = 512;

  std::string reason;    // one line, e.g. "partner answered 400", "not valid JSON (...)"
  unsigned status = 0;   // the partner's last HTTP status; 0 if it never answered
  std::string response;  // the start of the partner's last answer (at most response_limit bytes)

  // {"reason","status","response","attempts","dead_at"} with `dead_at` in UTC (ISO 8601). The
  // response is made printable: bytes that are not printable ASCII are written as \xNN.
  std::string to_json(std::uint32_t attempts) const;
};

// `bytes` as printable ASCII: anything else becomes \xNN, so a partner's binary or broken
// answer can be shown and stored as text.
std::string printable(std::string_view bytes);

}  // namespace conveyor::queue
