#include "partner/order_check.h"

#include <functional>
#include <utility>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace conveyor::partner {

OrderCheck::OrderCheck(std::string key_field, std::string seq_field)
    : key_field_(std::move(key_field)), seq_field_(std::move(seq_field)) {}

OrderCheck::Call::Call(Call&& other) noexcept
    : check_(std::exchange(other.check_, nullptr)), key_(std::move(other.key_)), seq_(other.seq_) {}

OrderCheck::Call::~Call() {
  if (check_) check_->ended(key_);
}

void OrderCheck::Call::answered_ok() {
  if (check_) check_->ok(key_, seq_);
}

OrderCheck::Call OrderCheck::begin(std::string_view body) {
  if (!enabled()) return Call(nullptr, {}, {});
  boost::system::error_code ec;
  const auto value = boost::json::parse(body, ec);
  if (ec || !value.is_object()) return Call(nullptr, {}, {});
  const auto& object = value.get_object();
  const auto* key = object.if_contains(key_field_);
  if (!key) return Call(nullptr, {}, {});
  // A string's text, else the value's JSON form.
  std::string text = key->is_string() ? std::string(key->get_string()) : boost::json::serialize(*key);
  std::optional<std::int64_t> seq;
  if (const auto* n = seq_field_.empty() ? nullptr : object.if_contains(seq_field_); n && n->is_int64()) {
    seq = n->get_int64();
  }
  {
    Shard& shard = shard_of(text);
    std::lock_guard lock(shard.mutex);
    if (shard.keys[text].in_progress++ > 0) overlaps_.fetch_add(1);
  }
  return Call(this, std::move(text), seq);
}

OrderCheck::Shard& OrderCheck::shard_of(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % shards_.size()];
}

void OrderCheck::ended(const std::string& key) {
  Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mutex);
  --shard.keys[key].in_progress;
}

void OrderCheck::ok(const std::string& key, std::optional<std::int64_t> seq) {
  if (!seq) return;
  Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mutex);
  PerKey& per_key = shard.keys[key];
  if (per_key.last_ok && *seq <= *per_key.last_ok) violations_.fetch_add(1);
  if (!per_key.last_ok || *seq > *per_key.last_ok) per_key.last_ok = seq;
}

}  // namespace conveyor::partner
