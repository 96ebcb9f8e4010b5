// Deadlines for many connections with one timer. An armed entry has a time point; the timer is
// set for the earliest, and when it fires every entry whose time has passed is expired (its owner
// closes its socket, which fails the I/O in flight). Arming and disarming are list operations, so a
// request costs no timer operation of its own; the timer moves only when an earlier deadline comes
// in, or when the last entry leaves (it is cancelled, so an idle client holds no pending work).
//
// One DeadlineSweep per owner of connections (each PartnerClient has its own), used only from the
// owner's io_context thread. Entries unlink themselves from it in their destructor. REQUIRES: the
// sweep outlives its entries (the owner holds both).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

namespace conveyor::http {

class DeadlineSweep;

// What the sweep watches: derived by the owner of a socket.
class DeadlineEntry {
 public:
  using Clock = std::chrono::steady_clock;

  // The sweep reached this entry's deadline since it was last armed.
  bool expired() const { return expired_; }
  bool armed() const { return sweep_ != nullptr; }

 protected:
  DeadlineEntry() = default;
  ~DeadlineEntry();
  DeadlineEntry(const DeadlineEntry&) = delete;
  DeadlineEntry& operator=(const DeadlineEntry&) = delete;

 private:
  friend class DeadlineSweep;
  // Called once when the deadline passes, from the sweep's timer, after disarming: close the
  // socket. It must not destroy any entry.
  virtual void on_deadline() = 0;

  DeadlineSweep* sweep_ = nullptr;  // armed on it
  DeadlineEntry* prev_ = nullptr;
  DeadlineEntry* next_ = nullptr;
  Clock::time_point deadline_{};
  bool expired_ = false;
};

class DeadlineSweep : public std::enable_shared_from_this<DeadlineSweep> {
 public:
  using Clock = DeadlineEntry::Clock;

  explicit DeadlineSweep(boost::asio::any_io_executor executor) : timer_(std::move(executor)) {}

  // Arms (or re-arms) `entry` for `deadline` and clears its expired() mark.
  void arm(DeadlineEntry& entry, Clock::time_point deadline);
  // No deadline for `entry` any more; a no-op if it is not armed.
  void disarm(DeadlineEntry& entry);
  // Cancels the timer and disarms every entry (the client is shutting down).
  void stop();

  std::size_t armed() const { return armed_; }

 private:
  void unlink(DeadlineEntry& entry);
  void wait_until(Clock::time_point when);
  void on_timer(std::uint64_t generation);

  boost::asio::steady_timer timer_;
  DeadlineEntry* head_ = nullptr;
  DeadlineEntry* tail_ = nullptr;
  std::size_t armed_ = 0;
  Clock::time_point expiry_ = Clock::time_point::max();  // of the wait in progress; max: none
  std::uint64_t generation_ = 0;  // a wait replaced by a sooner one is ignored when it completes
};

}  // namespace conveyor::http
