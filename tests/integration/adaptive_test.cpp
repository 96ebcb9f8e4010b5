// Adaptive concurrency end to end, with real processes on loopback: redis-server, the partner
// simulator in capacity mode (a congested server: past its capacity latency grows with the square
// of the load, past twice it 503) and `conveyor work` with one route `adaptive = true`, its partner's
// calls in flight sampled from outside every 250 ms; then the same partner under a fixed limit.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "support/conveyor_harness.h"
#include "support/queue_under_test.h"
#include "support/temp_path.h"

namespace conveyor::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kChannel = "shipments";
constexpr std::size_t kCapacity = 200;
constexpr double kDelayMs = 200;

struct Sample {
  double at_s = 0;  // since the worker started
  std::uint64_t in_flight = 0;
};

struct Worked {
  std::vector<Sample> samples;
  std::uint64_t delivered = 0;  // the partner's 200s
  double seconds = 0;           // from the worker's start to the count
  double per_second() const { return static_cast<double>(delivered) / seconds; }
};

class AdaptiveEndToEnd : public ::testing::Test {
 protected:
  AdaptiveEndToEnd() : queue(Backend::redis) {}

  // Works the queue for `duration` against `partner` with one route of `concurrency = 2000`,
  // adaptive or not, sampling the partner's in_flight every 250 ms; then stops the worker.
  Worked work(const PartnerSimulator& partner, bool adaptive, std::chrono::seconds duration) {
    const std::string routes = temp_path("adaptive.toml");
    std::ofstream(routes) << "[[route]]\nname = \"partner\"\nurl = \"" << partner.url() << "\"\nconcurrency = 2000\n"
                          << (adaptive ? "adaptive = true\n" : "");
    auto worker = start_conveyor(queue.command({"work"}, kChannel, {"--routes", routes, "--threads", "2", "--admin-listen", "off"}),
                                 queue.env());
    Worked run;
    const auto start = Clock::now();
    for (auto next = start; next < start + duration; next += 250ms) {
      std::this_thread::sleep_until(next);
      run.samples.push_back({std::chrono::duration<double>(Clock::now() - start).count(), partner.stat("in_flight")});
    }
    run.delivered = partner.stat("ok");
    run.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    worker.signal(SIGTERM);
    const std::string output = worker.read_all(30s);
    EXPECT_EQ(worker.wait(10s), 0) << output;
    return run;
  }

  QueueUnderTest queue;
};

bool within(const Sample& s) { return s.in_flight >= 0.8 * kCapacity && s.in_flight <= 1.2 * kCapacity; }

// Settled at t: every sample in [t, t + 5 s] is within 20 % of the partner's capacity (the issue's
// "settles within 20 % of the knee"). Returns t, or a negative number if the run never settled.
double settled_at(const std::vector<Sample>& samples) {
  for (auto from = samples.begin(); from != samples.end(); ++from) {
    if (samples.back().at_s - from->at_s < 5) break;
    const auto to = std::find_if(from, samples.end(), [&](const Sample& s) { return s.at_s > from->at_s + 5; });
    if (std::all_of(from, to, within)) return from->at_s;
  }
  return -1;
}

// The share of the samples from t to the end that are within 20 % of the capacity: once settled,
// the limit keeps tracking the knee (a sample may catch a lane between leases, or the saw-tooth's top).
double share_within(const std::vector<Sample>& samples, double t) {
  const auto from = std::find_if(samples.begin(), samples.end(), [&](const Sample& s) { return s.at_s >= t; });
  return static_cast<double>(std::count_if(from, samples.end(), within)) / static_cast<double>(samples.end() - from);
}

std::string trace(const std::vector<Sample>& samples) {
  std::string out;
  for (const auto& s : samples) out += fmt::format("{:.2f}s:{} ", s.at_s, s.in_flight);
  return out;
}

TEST_F(AdaptiveEndToEnd, SettlesNearTheKneeKeepsLatencyLowAndDeliversMoreThanAFixedLimit) {
  std::vector<std::string> lines;
  for (int i = 0; i < 34'000; ++i) lines.push_back(fmt::format(R"({{"i":{}}})", i));
  queue.publish(kChannel, lines);  // more than both runs can deliver: the partner's best is 1,000/s
  const std::vector<std::string> partner_args = {"--capacity", std::to_string(kCapacity), "--delay", "200ms",
                                                 "--threads", "2", "--record-arrivals"};
  PartnerSimulator partner(partner_args);
#if defined(__SANITIZE_ADDRESS__)
  // Under AddressSanitizer the partner and the worker run several times slower on the same two
  // cores: where the limit settles and how closely it tracks the knee then measure the sanitizer
  // and the machine's load (CI's sanitizer stage saw 79 % within the band one time, no 5 s within
  // it another). There the adaptive path runs for its memory and UB checks, and must deliver; the
  // optimised run asserts the figures, and bench/adaptive.sh reports them.
  const Worked checked = work(partner, true, 10s);
  EXPECT_GT(checked.delivered, 0u) << trace(checked.samples);
  GTEST_SKIP() << "the control loop's timing is not measured in a sanitizer build";
#endif
  const Worked adaptive = work(partner, true, 20s);
  const double settled = settled_at(adaptive.samples);
  ASSERT_GE(settled, 0) << "never stayed within [160, 240] for 5 s: " << trace(adaptive.samples);
  EXPECT_LT(settled, 15.0) << trace(adaptive.samples);  // the issue asks for under 30 s; the run is 20 s
  const double share = share_within(adaptive.samples, settled);
  EXPECT_GE(share, 0.9) << "once settled, it strayed: " << trace(adaptive.samples);

  // Partner-side latency (the delay the partner gave each call) of the calls that arrived once settled.
  const auto served = partner.delays();
  ASSERT_FALSE(served.empty());
  std::vector<double> after_ms;
  for (const auto& s : served) {
    if (static_cast<double>(s.arrived_us - served.front().arrived_us) / 1e6 >= settled) {
      after_ms.push_back(static_cast<double>(s.delay_us) / 1000);
    }
  }
  ASSERT_GE(after_ms.size(), 1000u);
  std::sort(after_ms.begin(), after_ms.end());
  const double p50 = after_ms[after_ms.size() / 2], p99 = after_ms[after_ms.size() * 99 / 100];
  EXPECT_LT(p99, 2 * kDelayMs) << "p50 " << p50 << " ms";

  PartnerSimulator fixed_partner(partner_args);
  const Worked fixed = work(fixed_partner, false, 10s);
  std::printf("adaptive: settled at %.2f s (%.0f%% of later samples within 20%%), partner-side p50 %.0f ms p99 %.0f ms, %.0f/s; fixed 2000: %.0f/s\n", settled,
              100 * share, p50, p99, adaptive.per_second(), fixed.per_second());
  RecordProperty("settled_s", std::to_string(settled));
  RecordProperty("adaptive_per_second", std::to_string(adaptive.per_second()));
  RecordProperty("fixed_per_second", std::to_string(fixed.per_second()));
  EXPECT_GT(adaptive.per_second(), fixed.per_second()) << "fixed: " << trace(fixed.samples);
}

}  // namespace
}  // namespace conveyor::testing
