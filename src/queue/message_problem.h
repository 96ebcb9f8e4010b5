// What makes a message poison: bytes no partner should be sent. A message must be one JSON
// object (valid UTF-8, nested at most 32 deep) of at most the allowed size. The publisher refuses
// such input by line; the worker dead-letters it with this reason. Never throws, whatever the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace conveyor::queue {

// Why `text` is not an acceptable message, or nullopt if it is.
std::optional<std::string> message_problem(std::string_view text, std::size_t max_bytes = SIZE_MAX);

}  // namespace conveyor::queue
