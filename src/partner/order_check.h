// The partner simulator's ordering check (`--order-field F --seq-field N`): for each value of the
// body's top-level field F, the numbers in field N of the calls answered 200 must arrive strictly
// increasing, and no two calls for one value of F may ever be in progress at once. It counts the
// calls that break either rule. Thread-safe: the keys are sharded 64 ways, each under its own mutex.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace conveyor::partner {

class OrderCheck {
 public:
  // `key_field` empty: the check is off and costs nothing.
  OrderCheck(std::string key_field, std::string seq_field);
  OrderCheck(const OrderCheck&) = delete;
  OrderCheck& operator=(const OrderCheck&) = delete;

  // One call in progress, from receipt until destroyed (the answer is written after). A body that
  // is not a JSON object, or has no key field, is not tracked.
  class Call {
   public:
    Call(Call&& other) noexcept;
    Call& operator=(Call&&) = delete;
    ~Call();
    // The call is answered 200: its number must exceed every earlier 200 of its key.
    void answered_ok();

   private:
    friend class OrderCheck;
    Call(OrderCheck* check, std::string key, std::optional<std::int64_t> seq)
        : check_(check), key_(std::move(key)), seq_(seq) {}
    OrderCheck* check_;  // null: not tracked
    std::string key_;
    std::optional<std::int64_t> seq_;
  };

  // A call with `body` begins; counts an overlap if another call for its key is in progress.
  Call begin(std::string_view body);

  bool enabled() const { return !key_field_.empty(); }
  std::uint64_t order_violations() const { return violations_.load(); }
  std::uint64_t overlaps() const { return overlaps_.load(); }

 private:
  struct PerKey {
    unsigned in_progress = 0;
    std::optional<std::int64_t> last_ok;
  };
  struct alignas(64) Shard {
    std::mutex mutex;
    std::unordered_map<std::string, PerKey> keys;
  };
  Shard& shard_of(const std::string& key);
  void ended(const std::string& key);
  void ok(const std::string& key, std::optional<std::int64_t> seq);

  const std::string key_field_;
  const std::string seq_field_;
  std::array<Shard, 64> shards_;
  std::atomic<std::uint64_t> violations_{0};
  std::atomic<std::uint64_t> overlaps_{0};
};

}  // namespace conveyor::partner
