// Names of a channel's shards. One shard is the channel itself, exactly as
// legacy producers know it; N > 1 shards are "<channel>:0" ... "<channel>:N-1"
// (with '-' instead of ':' on SQS, whose queue names allow no colon).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace conveyor::queue {

std::vector<std::string> shard_names(const std::string& channel, std::size_t shards, char separator = ':');

}  // namespace conveyor::queue
