// libFuzzer target for the poison check every message passes before delivery: whatever the bytes,
// queue::message_problem must answer (a reason, or none for a JSON object) without crashing,
// hanging or reading out of bounds, and must accept exactly what Boost.JSON parses as an object.
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
  if (problem && problem->empty()) __builtin_trap();  // a refusal always says why
  // The allocation-free validator must agree exactly with Boost.JSON's own parser.
  boost::system::error_code ec;
  const auto value = boost::json::parse(text, ec);
  const bool acceptable = text.size() <= 4096 && !ec && value.is_object();
  if (acceptable == problem.has_value()) __builtin_trap();
  return 0;
}
