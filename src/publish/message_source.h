// Where `conveyor publish` gets its messages: generated ones shaped like the
// old publisher.py's ({"p":phone,"m":text,"i":n}), or one JSON object per
// line of a file. A line that is not a JSON object is reported with its line
// number and skipped; it never stops the others.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <istream>
#include <optional>
#include <string>
#include <string_view>

namespace conveyor::publish {

class MessageSource {
 public:
  virtual ~MessageSource() = default;
  // The next message, or nullopt when there are no more.
  virtual std::optional<std::string> next() = 0;
};

// The i-th generated message (i from 0): deterministic, valid JSON.
std::string generated_message(std::size_t i);

class GeneratedMessages final : public MessageSource {
 public:
  explicit GeneratedMessages(std::size_t count) : count_(count) {}
  std::optional<std::string> next() override;

 private:
  std::size_t count_;
  std::size_t next_ = 0;
};

class JsonLines final : public MessageSource {
 public:
  // Called for each refused line with its 1-based number and the reason.
  using RejectFn = std::function<void(std::size_t line, const std::string& reason)>;
  // `in` must outlive this source. Blank lines are skipped silently.
  // Lines longer than `max_bytes` (the queue's message size limit) are refused too.
  JsonLines(std::istream& in, RejectFn on_reject, std::size_t max_bytes = SIZE_MAX)
      : in_(in), on_reject_(std::move(on_reject)), max_bytes_(max_bytes) {}
  std::optional<std::string> next() override;
  std::size_t rejected() const { return rejected_; }

 private:
  std::istream& in_;
  RejectFn on_reject_;
  std::size_t max_bytes_;
  std::size_t line_ = 0;
  std::size_t rejected_ = 0;
};

}  // namespace conveyor::publish
