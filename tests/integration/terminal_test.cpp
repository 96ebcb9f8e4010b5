// What a person at a terminal and a log shipper see: publish's progress bar and work's live
// status line on a pseudo-terminal (util-linux `script` runs the binary on one), drawn in place
// with `\r` and ended with a newline, and absent off a terminal; `stats --watch` refreshing until
// SIGTERM; LOG_FORMAT=json writing nothing but JSON objects on stderr.
#include <gtest/gtest.h>

#include <signal.h>

#include <fstream>
#include <sstream>

#include <boost/json/parse.hpp>

#include "support/conveyor_harness.h"
#include "support/redis_server.h"
#include "support/temp_path.h"

namespace conveyor::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kChannel = "shipments";

std::string shell_quote(const std::string& word) {
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string command_line(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + shell_quote(w);
  return out;
}

Finished finish(ChildProcess child, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Finished result;
  result.output = child.read_all(timeout);
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  const auto code = child.wait(std::max(left, std::chrono::milliseconds(100)));
  result.exit_code = code ? *code : -1;
  return result;
}

// `conveyor <args>` on a pseudo-terminal: the output is what the terminal got (newlines as
// "\r\n"), the exit code the binary's. `prefix` runs before it, e.g. {"env", "LOG_FORMAT=json"}.
Finished run_on_terminal(const std::vector<std::string>& args, std::chrono::seconds timeout,
                         std::vector<std::string> prefix = {}) {
  std::vector<std::string> words = {"env", "TERM=xterm"};
  words.insert(words.end(), prefix.begin(), prefix.end());
  words.push_back(CONVEYOR_BINARY);
  words.insert(words.end(), args.begin(), args.end());
  // A wide terminal, so the status line is never cut (a pty made by `script` without one to copy is 0 wide).
  return finish(ChildProcess::spawn({"script", "-q", "-e", "-c", "stty cols 200 && exec " + command_line(words),
                                     "/dev/null"},
                                    {},
                                    ChildProcess::Stderr::into_stdout),
                timeout);
}

// `conveyor <args>` with its stderr alone on the pipe (stdout discarded).
Finished run_for_stderr(const std::vector<std::string>& args, std::chrono::seconds timeout,
                        const std::vector<std::string>& env) {
  std::vector<std::string> argv = {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1 >/dev/null", CONVEYOR_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return finish(ChildProcess::spawn(argv, env), timeout);
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

class Terminal : public ::testing::Test {
 protected:
  std::vector<std::string> queue_args() const { return {"--channel", kChannel, "--redis-url", redis.url()}; }
  std::vector<std::string> with_queue(std::vector<std::string> args) const {
    const auto q = queue_args();
    args.insert(args.begin() + 1, q.begin(), q.end());
    return args;
  }

  RedisServer redis;
};

TEST_F(Terminal, PublishDrawsAProgressBarInPlaceAndEndsItWithANewline) {
  const auto run = run_on_terminal(with_queue({"publish", "--count", "20000", "--batch", "100"}), 60s);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output.rfind("\r[", 0), 0u) << "drawn in place from the start: " << run.output;
  // The last drawing is the whole run, erased to the end of the line, then a newline before the summary.
  EXPECT_NE(run.output.find("] 100%  20,000/20,000  "), std::string::npos) << run.output;
  const auto last = run.output.rfind("\r[");
  const auto summary = run.output.find("published 20000 messages");
  ASSERT_NE(summary, std::string::npos) << run.output;
  EXPECT_LT(last, summary);
  EXPECT_EQ(run.output.substr(last, summary - last).find("\x1b[K\r\n"), summary - last - 5) << run.output;
  EXPECT_EQ(redis.integer({"LLEN", kChannel}), 20000);
}

TEST_F(Terminal, PublishFromAFileMeasuresItsBytes) {
  const std::string path = temp_path("terminal.jsonl");
  {
    std::ofstream out(path);
    for (int i = 0; i < 5000; ++i) out << "{\"i\":" << i << "}\n";
  }
  const auto run = run_on_terminal(with_queue({"publish", "--input", path}), 60s);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("] 100%  5,000 published  "), std::string::npos) << run.output;
}

TEST_F(Terminal, PublishOffATerminalDrawsNothing) {
  const auto run = run_conveyor(with_queue({"publish", "--count", "2000"}), 60s);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output.find('\r'), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find('%'), std::string::npos) << run.output;
  EXPECT_EQ(run.output.rfind("published 2000 messages to shipments", 0), 0u) << run.output;
}

TEST_F(Terminal, WorkDrawsALiveStatusLineAndEndsItWithTheFinalFigures) {
  ASSERT_EQ(run_conveyor(with_queue({"publish", "--count", "600"}), 60s).exit_code, 0);
  PartnerSimulator partner({"--delay", "100ms"});  // 600 at 20 in flight: 3 s, past the queue's first sample
  const auto run = run_on_terminal(with_queue({"work", "--target-url", partner.url(), "--until-empty",
                                               "--concurrency", "20", "--threads", "1", "--admin-listen", "127.0.0.1:0"}),
                                   60s);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_GE(occurrences(run.output, "\rdelivered "), 2u) << "redrawn in place: " << run.output;
  EXPECT_NE(run.output.find("  backlog "), std::string::npos) << "the sampled queue: " << run.output;
  EXPECT_NE(run.output.find("  ETA "), std::string::npos) << "--until-empty: " << run.output;
  EXPECT_NE(run.output.find("\rdelivered 600  "), std::string::npos) << run.output;
  const auto last = run.output.rfind("\rdelivered ");
  const std::string tail = run.output.substr(last);
  EXPECT_NE(tail.find("  in flight 0  retrying 0  dead 0\x1b[K"), std::string::npos) << "no stale backlog: " << tail;
  EXPECT_EQ(tail.find("\x1b[K\r\n"), tail.find("\r\n") - 3) << "ended with a newline: " << tail;
  EXPECT_NE(tail.find("\r\ndelivered 600  failed 0"), std::string::npos) << "the report below it: " << tail;
}

TEST_F(Terminal, JsonLogsTurnTheLiveLineOff) {
  ASSERT_EQ(run_conveyor(with_queue({"publish", "--count", "100"}), 60s).exit_code, 0);
  PartnerSimulator partner;
  const auto run = run_on_terminal(with_queue({"work", "--target-url", partner.url(), "--until-empty",
                                               "--admin-listen", "127.0.0.1:0"}),
                                   60s, {"LOG_FORMAT=json"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output.find("\rdelivered"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("\x1b["), std::string::npos) << run.output;
}

TEST_F(Terminal, JsonLogFormatWritesOnlyJsonObjectsOnStderr) {
  // Half the messages are refused with a 400 and dead-lettered: their warnings quote the partner.
  const std::string path = temp_path("json-logs.jsonl");
  {
    std::ofstream out(path);
    for (int i = 0; i < 40; ++i) out << "{\"i\":" << i << ",\"s\":" << (i % 2 ? 400 : 200) << ",\"m\":\"a \\\"quote\\\"\\t\"}\n";
  }
  ASSERT_EQ(run_conveyor(with_queue({"publish", "--input", path}), 60s).exit_code, 0);
  PartnerSimulator partner({"--status-field", "s"});
  const auto run = run_for_stderr(
      with_queue({"work", "--target-url", partner.url(), "--until-empty", "--admin-listen", "127.0.0.1:0"}), 60s,
      {"LOG_FORMAT=json"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  std::istringstream lines(run.output);
  std::size_t count = 0, dead_lettered = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    boost::system::error_code ec;
    const auto value = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << "not JSON: " << line;
    ASSERT_TRUE(value.is_object()) << line;
    const auto& object = value.as_object();
    for (const char* key : {"time", "level", "message"}) {
      ASSERT_TRUE(object.contains(key) && object.at(key).is_string()) << key << " missing: " << line;
    }
    if (object.at("message").as_string().find("dead-lettered") != boost::json::string::npos) ++dead_lettered;
  }
  EXPECT_GE(count, 2u) << run.output;  // the start-up line and the dead letters at least
  EXPECT_EQ(dead_lettered, 20u) << run.output;
}

TEST_F(Terminal, ABadLogFormatExitsTwoNamingTheKey) {
  auto run = run_conveyor(with_queue({"stats"}), 20s, {"LOG_FORMAT=xml"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output, "conveyor: LOG_FORMAT: expected text or json, got 'xml'\n");
  run = run_conveyor(with_queue({"stats", "--log-format", "JSON"}), 20s);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output, "conveyor: LOG_FORMAT: expected text or json, got 'JSON'\n");
}

TEST_F(Terminal, StatsWatchPrintsTheTableEachIntervalUntilSigterm) {
  auto watch = start_conveyor(with_queue({"stats", "--watch", "--interval", "200ms"}));
  std::size_t tables = 0;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  std::string seen;
  while (tables < 2 && std::chrono::steady_clock::now() < deadline) {
    // The second table follows the first within the interval plus a generous margin.
    const auto line = watch.read_line(tables == 0 ? 10s : 5s);
    if (!line) break;
    seen += *line + "\n";
    if (line->starts_with("shard ")) ++tables;
  }
  ASSERT_EQ(tables, 2u) << seen;
  EXPECT_EQ(seen.find('\x1b'), std::string::npos) << "off a terminal, tables follow one another: " << seen;
  watch.signal(SIGTERM);
  EXPECT_EQ(watch.wait(10s), 0);
}

TEST_F(Terminal, StatsWatchOnATerminalRedrawsInPlace) {
  // `timeout` sends the SIGTERM and, with --preserve-status, passes on the exit code.
  const auto run = run_on_terminal(with_queue({"stats", "--watch", "--interval", "200ms"}), 30s,
                                   {"timeout", "--preserve-status", "-s", "TERM", "2"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_GE(occurrences(run.output, "\x1b[H\x1b[2J"), 2u) << run.output;
}

}  // namespace
}  // namespace conveyor::testing
