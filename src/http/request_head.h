// The head of a partner POST: the request line and the header lines, written
// by hand into a reused buffer (Beast's fields container would allocate a node
// per header per request, and only the target, the key and the length change).
// Immutable once built; format() may be called from any thread.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "http/header_field.h"

namespace conveyor::http {

// Header names the client writes itself: extra headers may not set them.
bool reserved_field(std::string_view name);
// A token (RFC 9110 §5.6.2), not empty.
bool valid_field_name(std::string_view name);
// No control characters: a CR or LF would let a value inject header lines.
bool valid_field_value(std::string_view value);
// A header a request or the configuration may add: valid and not reserved.
bool valid_extra_header(const HeaderField& header);

class RequestHead {
 public:
  // The default request line (POST `request_target`) and the lines sent on every request:
  // Host, Content-Type, Connection: keep-alive, then `fixed` in order.
  // Throws std::invalid_argument naming a bad header (never echoing its value: it may be a secret).
  RequestHead(std::string_view request_target, std::string_view host_header, std::string_view content_type,
              std::span<const HeaderField> fixed);

  // Writes the head into `out` (its capacity is kept: no allocation once warm): the request
  // line for `target` (the default one if empty), the fixed lines, Idempotency-Key if `key` is
  // not empty, the per-request `headers`, then Content-Length and the blank line. The caller
  // has checked `target`, `key` and `headers`.
  void format(std::string& out, std::string_view target, std::size_t body_size, std::string_view key,
              std::span<const HeaderField> headers) const;

 private:
  std::string prefix_;              // the default request line, then every line that never changes
  std::size_t request_line_size_;  // of prefix_'s request line, its CRLF included
};

}  // namespace conveyor::http
