// libFuzzer target for the poison check every message passes before delivery: whatever the bytes,
// queue::message_problem must answer (a reason, or none for a JSON object) without crashing,
// hanging or reading out of bounds, and must accept exactly what parses as a JSON object.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/json/parse.hpp>
// Boost.JSON compiled into this target, so the fuzzer's coverage guidance sees inside the parser.
#include <boost/json/src.hpp>

#include "queue/message_problem.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto problem = conveyor::queue::message_problem(text, 4096);
  if (!problem) {
    // Accepted: it must be a JSON object within the limit.
    boost::system::error_code ec;
    const auto value = boost::json::parse(text, ec);
    if (ec || !value.is_object() || text.size() > 4096) __builtin_trap();
  } else if (problem->empty()) {
    __builtin_trap();  // a refusal always says why
  }
  return 0;
}
