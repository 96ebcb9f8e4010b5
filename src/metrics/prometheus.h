// A writer of Prometheus' text exposition format 0.0.4: families with their HELP and TYPE lines,
// then samples with escaped label values. Written by hand: no C++ client is packaged in Debian 12,
// and the format is a few rules (tests check the output with a real parser). Not thread-safe: one
// writer builds one page.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace conveyor::metrics {

class Exposition {
 public:
  using Label = std::pair<std::string_view, std::string_view>;

  // Starts a family: "# HELP name help" and "# TYPE name type" (counter, gauge, histogram).
  void family(std::string_view name, std::string_view type, std::string_view help);
  // One sample line: name{labels} value. Integers print exactly; other values with full precision.
  void sample(std::string_view name, std::initializer_list<Label> labels, double value);
  void sample(std::string_view name, double value) { sample(name, {}, value); }

  const std::string& text() const { return text_; }
  std::string take() { return std::move(text_); }

  static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

 private:
  std::string text_;
};

}  // namespace conveyor::metrics
