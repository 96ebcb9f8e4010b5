// A one-off blocking HTTP GET for operator tooling and tests (the demo reads
// the partner simulator's /stats with it). Not for hot paths: it makes its own
// io_context and connection per call. Plain http:// only.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/error.h"

namespace conveyor::http {

struct FetchedPage {
  unsigned status = 0;
  std::string body;
};

// GET `url` (a body of up to 1 GiB); fails with an error_code on a bad URL, connect failure or the
// deadline passing.
Result<FetchedPage> fetch(std::string_view url, std::chrono::milliseconds timeout);

}  // namespace conveyor::http
