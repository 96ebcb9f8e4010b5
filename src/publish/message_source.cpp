#include "publish/message_source.h"

#include "queue/message_problem.h"

#include <fmt/format.h>

namespace conveyor::publish {

std::string generated_message(std::size_t i) {
  // Brazilian mobile numbers, as the original load generator used.
  return fmt::format(R"({{"p":"+55119{:08d}","m":"Your shipment {} is on its way","i":{}}})", i % 100'000'000,
                     i, i);
}

std::optional<std::string> GeneratedMessages::next() {
  if (next_ >= count_) return std::nullopt;
  return generated_message(next_++);
}

std::optional<std::string> JsonLines::next() {
  std::string line;
  while (std::getline(in_, line)) {
    ++line_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    if (auto problem = queue::message_problem(line, max_bytes_)) {
      ++rejected_;
      if (on_reject_) on_reject_(line_, *problem);
      continue;
    }
    return line;
  }
  return std::nullopt;
}

}  // namespace conveyor::publish
