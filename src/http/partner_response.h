// A partner's answer to one POST, as plain data: the HTTP client fills it and
// the dispatcher classifies it, without either knowing the other. Any status
// is an answer; transport failures are errors instead.
#pragma once

#include <cstddef>
#include <string>

namespace conveyor::http {

struct PartnerResponse {
  static constexpr std::size_t body_prefix_limit = 512;

  unsigned status = 0;      // any status, 2xx or not
  std::string body_prefix;  // the body's first bytes: body_prefix_limit unless the client keeps more
  std::string retry_after;  // the raw Retry-After value; empty when absent

  bool delivered() const { return status >= 200 && status < 300; }
};

}  // namespace conveyor::http
