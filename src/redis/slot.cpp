#include "redis/slot.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace conveyor::redis {
namespace {

bool name_is(std::string_view word, std::string_view upper) {
  return std::ranges::equal(word, upper, [](char a, char b) { return std::toupper(static_cast<unsigned char>(a)) == b; });
}

}  // namespace

std::uint16_t crc16(std::string_view bytes) {
  std::uint16_t crc = 0;
  for (const char c : bytes) {
    crc ^= static_cast<std::uint16_t>(static_cast<unsigned char>(c) << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021) : static_cast<std::uint16_t>(crc << 1);
    }
  }
  return crc;
}

std::string_view hash_tag(std::string_view key) {
  const std::size_t open = key.find('{');
  if (open == std::string_view::npos) return key;
  const std::size_t close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

std::uint16_t key_slot(std::string_view key) { return crc16(hash_tag(key)) % kSlotCount; }

std::optional<std::string_view> routing_key(std::span<const std::string_view> args) {
  if (args.empty()) return std::nullopt;
  const std::string_view name = args[0];
  if (name_is(name, "EVAL") || name_is(name, "EVALSHA") || name_is(name, "EVAL_RO") || name_is(name, "EVALSHA_RO") ||
      name_is(name, "FCALL") || name_is(name, "FCALL_RO")) {
    if (args.size() < 4) return std::nullopt;
    unsigned keys = 0;
    const auto count = args[2];
    const auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), keys);
    if (ec != std::errc{} || keys == 0) return std::nullopt;
    return args[3];
  }
  static constexpr std::array<std::string_view, 9> keyless = {"PING",  "SCRIPT", "INFO", "TIME",  "CLUSTER",
                                                              "ASKING", "AUTH",  "SELECT", "HELLO"};
  for (const auto word : keyless) {
    if (name_is(name, word)) return std::nullopt;
  }
  if (args.size() < 2) return std::nullopt;
  return args[1];
}

}  // namespace conveyor::redis
