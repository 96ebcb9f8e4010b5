// Redis Cluster's hash slots: which of the 16384 slots a key belongs to (CRC16-XMODEM of the key,
// or of its {hash tag}, mod 16384), and which key a command is routed by. Pure functions, any
// thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace conveyor::redis {

inline constexpr std::uint16_t kSlotCount = 16384;

// CRC16 with polynomial 0x1021, initial value 0, no reflection (XMODEM), as the
// cluster specification defines it.
std::uint16_t crc16(std::string_view bytes);

// The part of a key that is hashed: between the first '{' and the next '}' when that is not empty,
// else the whole key ("{user1000}.following" hashes "user1000"; "foo{}{bar}" the whole key).
std::string_view hash_tag(std::string_view key);

std::uint16_t key_slot(std::string_view key);

// The key a command (args[0] is its name) is routed by: the first key of EVAL/EVALSHA/FCALL (none
// when numkeys is 0), nothing for commands without keys (PING, SCRIPT, INFO, TIME, CLUSTER,
// ASKING, AUTH, SELECT), else args[1]. Commands with several keys need them in one slot anyway.
std::optional<std::string_view> routing_key(std::span<const std::string_view> args);

}  // namespace conveyor::redis
