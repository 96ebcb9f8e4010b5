#include "support/worker_split.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "support/conveyor_harness.h"
#include "support/temp_path.h"

namespace conveyor::testing {

std::uint64_t WorkerSplit::total() const {
  std::uint64_t sum = 0;
  for (const auto n : delivered) sum += n;
  return sum;
}

std::string WorkerSplit::describe() const {
  std::string out;
  const double all = static_cast<double>(std::max<std::uint64_t>(1, total()));
  for (const auto n : delivered) {
    out += fmt::format("{}{} ({:.1f} %)", out.empty() ? "" : ", ", n, 100.0 * static_cast<double>(n) / all);
  }
  return out;
}

WorkerSplit run_workers_side_by_side(std::size_t processes, const std::vector<std::string>& queue_args,
                                     const std::vector<std::string>& env, const std::string& target_url,
                                     const std::vector<std::string>& extra, std::chrono::seconds timeout) {
  std::vector<std::string> reports;
  std::vector<ChildProcess> workers;
  for (std::size_t i = 0; i < processes; ++i) {
    reports.push_back(temp_path(fmt::format("worker-{}-report.json", i)));
    std::remove(reports.back().c_str());
    std::vector<std::string> args = {"work", "--until-empty", "--target-url", target_url};
    args.insert(args.end(), queue_args.begin(), queue_args.end());
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"--report", reports.back()});
    workers.push_back(start_conveyor(args, env));
  }
  WorkerSplit split;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (std::size_t i = 0; i < processes; ++i) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    const std::string output = workers[i].read_all(std::max(left, std::chrono::milliseconds(100)));
    const auto code = workers[i].wait(std::chrono::milliseconds(1000));
    split.exit_codes.push_back(code ? *code : -1);
    split.output += fmt::format("--- worker {} ---\n{}\n", i, output);
    std::ifstream in(reports[i]);
    std::stringstream text;
    text << in.rdbuf();
    std::uint64_t delivered = 0;
    if (!text.str().empty()) {
      delivered = boost::json::parse(text.str()).as_object().at("delivered").to_number<std::uint64_t>();
    }
    split.delivered.push_back(delivered);
    std::remove(reports[i].c_str());
  }
  return split;
}

}  // namespace conveyor::testing
