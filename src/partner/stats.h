// What the partner simulator has received and answered, exact across threads,
// so tests and benchmarks can prove that nothing was lost or delivered twice.
// Counters are atomics; distinct Idempotency-Keys (and, when asked, bodies) are
// kept in a set sharded 64 ways, each shard under its own mutex.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/unordered/unordered_flat_set.hpp>

namespace conveyor::partner {

// A set of strings for many threads. Each shard copies its strings into large
// chunks and indexes them in an open-addressing set of string_views, so a
// million 36-byte keys cost about 55 MB rather than the ~120 MB of an
// unordered_set<std::string>.
class ShardedStringSet {
 public:
  static constexpr std::size_t kShards = 64;

  // True if `value` was not in the set before.
  bool insert(std::string_view value);
  std::size_t size() const;
  std::vector<std::string> values() const;

 private:
  struct alignas(64) Shard {
    std::string_view store(std::string_view value);  // copy owned by the shard

    mutable std::mutex mutex;
    boost::unordered_flat_set<std::string_view, std::hash<std::string_view>> set;
    std::vector<std::unique_ptr<char[]>> chunks;
    char* next = nullptr;
    std::size_t left = 0;
  };
  std::array<Shard, kShards> shards_;
};

struct StatsSnapshot {
  std::uint64_t requests = 0;     // POSTs received
  std::uint64_t ok = 0;           // answered 200
  std::uint64_t failed = 0;       // answered 503
  std::uint64_t unique_keys = 0;  // distinct Idempotency-Keys among the OK answers
  std::uint64_t duplicates = 0;   // OK answers whose key had already been answered OK
  std::uint64_t in_flight = 0;    // received and not answered yet

  friend bool operator==(const StatsSnapshot&, const StatsSnapshot&) = default;
};

// {"requests":…,"ok":…,"failed":…,"unique_keys":…,"duplicates":…,"in_flight":…}
std::string to_json(const StatsSnapshot& stats);

class Stats {
 public:
  explicit Stats(bool record_bodies) : record_bodies_(record_bodies) {}

  void received();
  // An empty key means the request had none: counted OK, neither unique nor duplicate.
  void answered_ok(std::string_view key, std::string_view body);
  void answered_failed();
  void abandoned();  // left unanswered: the server stopped first, or the connection was dropped

  StatsSnapshot snapshot() const;
  bool records_bodies() const { return record_bodies_; }
  // Distinct bodies of the OK answers, in no particular order; empty unless
  // constructed with record_bodies.
  std::vector<std::string> bodies() const;

 private:
  // Each counter on its own cache line: threads bump different ones at once.
  struct alignas(64) Counter {
    std::atomic<std::uint64_t> value{0};
  };
  Counter requests_, ok_, failed_, unique_keys_, duplicates_, in_flight_;
  ShardedStringSet keys_;
  ShardedStringSet bodies_;
  const bool record_bodies_;
};

}  // namespace conveyor::partner
