#include "support/metrics_page.h"

#include <fstream>
#include <sstream>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "core/child_process.h"
#include "support/temp_path.h"

namespace conveyor::testing {

using namespace std::chrono_literals;
namespace json = boost::json;

std::vector<MetricSample> parse_metrics(const std::string& text) {
  const std::string path = temp_path("metrics.txt");
  std::ofstream(path) << text;
  auto parser = ChildProcess::spawn({"/bin/sh", "-c", std::string(SYSTEM_PYTHON3) + " " + CONVEYOR_SOURCE_DIR +
                                                          "/tests/integration/parse_metrics.py < " + path},
                                    {}, ChildProcess::Stderr::into_stdout);
  const std::string out = parser.read_all(30s);
  EXPECT_EQ(parser.wait(5s), 0) << out;
  std::vector<MetricSample> samples;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    const auto row = json::parse(line).as_object();
    MetricSample s{std::string(row.at("name").as_string()), {}, row.at("value").to_number<double>()};
    for (const auto& [k, v] : row.at("labels").as_object()) s.labels[std::string(k)] = std::string(v.as_string());
    samples.push_back(std::move(s));
  }
  return samples;
}

std::vector<const MetricSample*> samples_of(const std::vector<MetricSample>& samples, const std::string& name,
                                            const std::map<std::string, std::string>& labels) {
  std::vector<const MetricSample*> out;
  for (const auto& s : samples) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels) match = match && s.labels.count(k) && s.labels.at(k) == v;
    if (match) out.push_back(&s);
  }
  return out;
}

std::optional<double> find(const std::vector<MetricSample>& samples, const std::string& name,
                           const std::map<std::string, std::string>& labels) {
  const auto found = samples_of(samples, name, labels);
  if (found.empty()) return std::nullopt;
  return found.front()->value;
}

}  // namespace conveyor::testing
