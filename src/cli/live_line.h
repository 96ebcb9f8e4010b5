// The text of the one-line live status Conveyor draws on a terminal: `conveyor work`'s line
// (delivered, rate, in flight, backlog, retrying, dead, ETA) and `conveyor publish`'s progress
// bar. Pure functions of the figures, so any thread may call them; drawing is StatusLine's job.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "admin/status.h"

namespace conveyor::cli {

// What `conveyor work` shows, summed over its lanes.
struct LiveFigures {
  std::uint64_t delivered = 0;
  double rate = 0;                      // delivered per second, recently
  std::uint64_t in_flight = 0;
  std::optional<std::uint64_t> backlog{};  // messages waiting in the queue; unknown until sampled
  std::uint64_t retrying = 0;           // attempts scheduled again so far
  std::uint64_t dead = 0;               // dead-lettered so far
  std::optional<std::chrono::seconds> eta{};  // to an empty queue (--until-empty with a known backlog)
};

// "delivered 12,345  1,234/s  in flight 800  backlog 98,765  retrying 12  dead 3  ETA 1m20s" (ASCII
// only, two spaces apart); an unknown backlog or ETA is left out.
std::string format_live_line(const LiveFigures& figures);

// What `conveyor publish` shows. The fraction done comes from `total` (--count) or, for a
// regular --input file, from the bytes read of its size; with neither, only count and rate.
struct PublishProgress {
  std::uint64_t published = 0;
  std::optional<std::uint64_t> total{};  // messages to publish, when known
  std::uint64_t bytes_read = 0;        // of the input file
  std::optional<std::uint64_t> bytes_total{};  // the input file's size, when a regular file
  double seconds = 0;                  // since publishing started
};

// "[#######.............]  35%  350,000/1,000,000  52,300/s  ETA 12s", or without a known
// size "350,000 published  52,300/s". The bar is `bar_width` characters between brackets.
std::string format_progress_bar(const PublishProgress& progress, std::size_t bar_width = 30);

// "0s", "42s", "3m05s", "1h02m", "2d03h": two units at most, rounded down.
std::string format_eta(std::chrono::seconds eta);

// 1234567 -> "1,234,567".
std::string format_count(std::uint64_t n);

// The time left to reach 1 from `done_fraction` at the pace of the `seconds` so far; nullopt
// before any progress; 0s once done.
std::optional<std::chrono::seconds> eta_from_fraction(double done_fraction, double seconds);

// The line's figures from a worker's status snapshot (the one the admin API serves): backlog is
// the shards' waiting messages once the queue sampler has read them; with `until_empty`, the ETA
// is what is left in the queue (waiting, delayed and leased) at the recent rate.
LiveFigures live_figures(const admin::Status& status, bool until_empty);

}  // namespace conveyor::cli
