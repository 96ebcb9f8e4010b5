// OutageLog: decides which log lines an outage of a dependency (Redis) deserves, so that a
// reconnect loop neither floods the log nor goes quiet. Fed with each failed and each successful
// attempt and the time it happened (the caller's clock: tests pass exact times), it answers with
// the line to print, or nothing:
//   - during the first minute of an outage, one line per failed attempt, with its reason;
//   - after that, one summary line per minute: "redis unreachable for 3m: Connection refused";
//   - one line when an attempt succeeds again: "redis reachable again after 3m12s".
// A plain value owned by the one loop that makes the attempts (one per Redis connection, i.e.
// per lane and shard), used from that loop's thread only: no locks.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace conveyor {

class OutageLog {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  struct Options {
    std::chrono::milliseconds verbose_for{60'000};    // a line per attempt this long into an outage
    std::chrono::milliseconds summary_every{60'000};  // then one line this often
  };

  // `subject` opens every line, e.g. "redis (queue orders)".
  explicit OutageLog(std::string subject);
  OutageLog(std::string subject, Options options);

  // An attempt failed at `now` because of `reason` (what the server or the socket said). Returns
  // the line to log at warning level, or nothing while a summary is not due. `retry_in`, when
  // known, is appended to per-attempt lines ("; next attempt in 200ms").
  std::optional<std::string> failed(TimePoint now, std::string_view reason,
                                    std::optional<std::chrono::milliseconds> retry_in = std::nullopt);

  // An attempt succeeded at `now`. Returns the recovery line (info level) if an outage was in
  // progress, else nothing.
  std::optional<std::string> succeeded(TimePoint now);

  bool in_outage() const { return in_outage_; }

 private:
  std::string subject_;
  Options options_;
  bool in_outage_ = false;
  TimePoint since_{};         // the first failure of the outage
  TimePoint next_summary_{};  // when the next summary line is due
};

// "850ms", "12.3s", "3m12s", "2h5m": an elapsed time for people, rounded to what matters.
std::string format_elapsed(std::chrono::milliseconds elapsed);

}  // namespace conveyor
