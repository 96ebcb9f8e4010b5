#include "queue/message_problem.h"

#include <boost/json/basic_parser_impl.hpp>
#include <fmt/format.h>

namespace conveyor::queue {
namespace {

namespace json = boost::json;

// Validates without building anything: SAX events with no allocation per message, because
// every message a worker delivers passes here first. Remembers only whether the document's
// top-level value is an object.
struct Validator {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  bool seen_value = false;  // the first value has begun
  bool object = false;      // and it was an object

  void value(bool is_object) {
    if (!seen_value) object = is_object;
    seen_value = true;
  }
  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) { return value(false), true; }
  bool on_array_end(std::size_t, json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return value(true), true; }
  bool on_object_end(std::size_t, json::error_code&) { return true; }
  bool on_string_part(json::string_view, std::size_t, json::error_code&) { return value(false), true; }
  bool on_string(json::string_view, std::size_t, json::error_code&) { return value(false), true; }
  bool on_key_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_key(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_number_part(json::string_view, json::error_code&) { return value(false), true; }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) { return value(false), true; }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) { return value(false), true; }
  bool on_double(double, json::string_view, json::error_code&) { return value(false), true; }
  bool on_bool(bool, json::error_code&) { return value(false), true; }
  bool on_null(json::error_code&) { return value(false), true; }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

}  // namespace

std::optional<std::string> message_problem(std::string_view text, std::size_t max_bytes) {
  // Checked first: a 10 MiB blob is refused without being parsed.
  if (text.size() > max_bytes) {
    return fmt::format("message of {} bytes is larger than the queue accepts ({} bytes)", text.size(), max_bytes);
  }
  if (text.empty()) return std::string("empty message");
  // Default options, as boost::json::parse: strict JSON, UTF-8 validated, nesting at most 32 deep.
  json::basic_parser<Validator> parser(json::parse_options{});
  json::error_code ec;
  const std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && used < text.size()) ec = json::error::extra_data;
  if (ec) return fmt::format("invalid JSON: {}", ec.message());
  if (!parser.handler().object) return std::string("not a JSON object");
  return std::nullopt;
}

}  // namespace conveyor::queue
