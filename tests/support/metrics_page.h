// A Prometheus text page as the reference parser (python3-prometheus-client, through
// tests/integration/parse_metrics.py) reads it: its samples, with their labels, for tests to
// look up. Plain functions; each parse runs the parser as a child process.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace conveyor::testing {

struct MetricSample {
  std::string name;  // as the parser names samples: counters keep _total, histograms _bucket, _sum, _count
  std::map<std::string, std::string> labels;
  double value = 0;
};

// The page's samples; fails the calling test if the page does not parse.
std::vector<MetricSample> parse_metrics(const std::string& text);

// Every sample named `name` whose labels include `labels`.
std::vector<const MetricSample*> samples_of(const std::vector<MetricSample>& samples, const std::string& name,
                                            const std::map<std::string, std::string>& labels = {});
// The first such sample's value.
std::optional<double> find(const std::vector<MetricSample>& samples, const std::string& name,
                           const std::map<std::string, std::string>& labels = {});

}  // namespace conveyor::testing
