#include "partner/stats.h"

#include <cstring>

#include <fmt/format.h>

namespace conveyor::partner {
namespace {

// Small strings share chunks of this size; larger ones get their own block so
// a chunk never wastes more than a quarter of itself.
constexpr std::size_t kChunkSize = 16 * 1024;

std::size_t shard_of(std::string_view value) {
  // The shard takes the top bits of a remixed hash; the shard's own table
  // remixes std::hash again, so the two choices stay independent.
  const std::uint64_t h = std::hash<std::string_view>{}(value) * 0x9E3779B97F4A7C15ull;
  return static_cast<std::size_t>(h >> 58) % ShardedStringSet::kShards;
}

}  // namespace

std::string_view ShardedStringSet::Shard::store(std::string_view value) {
  if (value.empty()) return {};
  if (value.size() > kChunkSize / 4) {
    chunks.push_back(std::make_unique_for_overwrite<char[]>(value.size()));
    std::memcpy(chunks.back().get(), value.data(), value.size());
    return {chunks.back().get(), value.size()};
  }
  if (value.size() > left) {
    chunks.push_back(std::make_unique_for_overwrite<char[]>(kChunkSize));
    next = chunks.back().get();
    left = kChunkSize;
  }
  std::memcpy(next, value.data(), value.size());
  const std::string_view stored(next, value.size());
  next += value.size();
  left -= value.size();
  return stored;
}

bool ShardedStringSet::insert(std::string_view value) {
  Shard& shard = shards_[shard_of(value)];
  std::lock_guard lock(shard.mutex);
  if (shard.set.contains(value)) return false;
  shard.set.insert(shard.store(value));
  return true;
}

std::size_t ShardedStringSet::size() const {
  std::size_t total = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    total += shard.set.size();
  }
  return total;
}

std::vector<std::string> ShardedStringSet::values() const {
  std::vector<std::string> out;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (const std::string_view value : shard.set) out.emplace_back(value);
  }
  return out;
}

std::string to_json(const StatsSnapshot& s) {
  return fmt::format(
      R"({{"requests":{},"ok":{},"failed":{},"unique_keys":{},"duplicates":{},"in_flight":{}}})",
      s.requests, s.ok, s.failed, s.unique_keys, s.duplicates, s.in_flight);
}

void Stats::received() {
  requests_.value.fetch_add(1);
  in_flight_.value.fetch_add(1);
}

void Stats::answered_ok(std::string_view key, std::string_view body) {
  // The sets are updated before the counters so that a reader who sees the
  // answer counted also sees its key.
  if (!key.empty()) {
    if (keys_.insert(key)) {
      unique_keys_.value.fetch_add(1);
    } else {
      duplicates_.value.fetch_add(1);
    }
  }
  if (record_bodies_) bodies_.insert(body);
  ok_.value.fetch_add(1);
  in_flight_.value.fetch_sub(1);
}

void Stats::answered_failed() {
  failed_.value.fetch_add(1);
  in_flight_.value.fetch_sub(1);
}

void Stats::abandoned() { in_flight_.value.fetch_sub(1); }

StatsSnapshot Stats::snapshot() const {
  StatsSnapshot s;
  s.requests = requests_.value.load();
  s.ok = ok_.value.load();
  s.failed = failed_.value.load();
  s.unique_keys = unique_keys_.value.load();
  s.duplicates = duplicates_.value.load();
  s.in_flight = in_flight_.value.load();
  return s;
}

std::vector<std::string> Stats::bodies() const {
  if (!record_bodies_) return {};
  return bodies_.values();
}

}  // namespace conveyor::partner
