#include "queue/shards.h"

namespace conveyor::queue {

std::vector<std::string> shard_names(const std::string& channel, std::size_t shards, char separator) {
  if (shards <= 1) return {channel};
  std::vector<std::string> names;
  names.reserve(shards);
  for (std::size_t i = 0; i < shards; ++i) names.push_back(channel + separator + std::to_string(i));
  return names;
}

}  // namespace conveyor::queue
