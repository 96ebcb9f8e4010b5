#include "http/deadline_sweep.h"

#include <algorithm>

namespace conveyor::http {

DeadlineEntry::~DeadlineEntry() {
  if (sweep_) sweep_->disarm(*this);
}

void DeadlineSweep::arm(DeadlineEntry& entry, Clock::time_point deadline) {
  if (entry.sweep_) unlink(entry);
  entry.sweep_ = this;
  entry.deadline_ = deadline;
  entry.expired_ = false;
  entry.prev_ = tail_;
  entry.next_ = nullptr;
  (tail_ ? tail_->next_ : head_) = &entry;
  tail_ = &entry;
  ++armed_;
  // Every deadline of one client is now + the same timeout, so a new one is rarely the soonest:
  // the timer stays where it is.
  if (deadline < expiry_) wait_until(deadline);
}

void DeadlineSweep::disarm(DeadlineEntry& entry) {
  if (entry.sweep_ != this) return;
  unlink(entry);
  if (armed_ == 0 && expiry_ != Clock::time_point::max()) {
    expiry_ = Clock::time_point::max();
    ++generation_;
    timer_.cancel();
  }
}

void DeadlineSweep::stop() {
  while (head_) unlink(*head_);
  expiry_ = Clock::time_point::max();
  ++generation_;
  timer_.cancel();
}

void DeadlineSweep::unlink(DeadlineEntry& entry) {
  (entry.prev_ ? entry.prev_->next_ : head_) = entry.next_;
  (entry.next_ ? entry.next_->prev_ : tail_) = entry.prev_;
  entry.prev_ = entry.next_ = nullptr;
  entry.sweep_ = nullptr;
  --armed_;
}

void DeadlineSweep::wait_until(Clock::time_point when) {
  expiry_ = when;
  const std::uint64_t generation = ++generation_;
  timer_.expires_at(when);  // cancels the wait it replaces, which then sees an old generation
  timer_.async_wait([self = shared_from_this(), generation](boost::system::error_code) {
    self->on_timer(generation);
  });
}

void DeadlineSweep::on_timer(std::uint64_t generation) {
  if (generation != generation_) return;
  expiry_ = Clock::time_point::max();
  const auto now = Clock::now();
  auto next = Clock::time_point::max();
  for (DeadlineEntry* entry = head_; entry;) {
    DeadlineEntry* const following = entry->next_;
    if (entry->deadline_ <= now) {
      unlink(*entry);
      entry->expired_ = true;
      entry->on_deadline();
    } else {
      next = std::min(next, entry->deadline_);
    }
    entry = following;
  }
  if (head_) wait_until(next);
}

}  // namespace conveyor::http
