#include "http/request_head.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>

#include <fmt/format.h>

namespace conveyor::http {
namespace {

bool is_tchar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

constexpr std::array<std::string_view, 6> reserved_fields = {
    "Host", "Content-Type", "Content-Length", "Transfer-Encoding", "Connection", "Idempotency-Key"};

void append_line(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

}  // namespace

bool valid_field_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return is_tchar(static_cast<unsigned char>(c));
  });
}

bool valid_field_value(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return (c >= 0x20 && c != 0x7f) || c == '\t';
  });
}

bool reserved_field(std::string_view name) {
  return std::any_of(reserved_fields.begin(), reserved_fields.end(),
                     [name](std::string_view reserved) { return iequals(name, reserved); });
}

bool valid_extra_header(const HeaderField& header) {
  return valid_field_name(header.name) && valid_field_value(header.value) && !reserved_field(header.name);
}

RequestHead::RequestHead(std::string_view request_target, std::string_view host_header,
                         std::string_view content_type, std::span<const HeaderField> fixed)
    : prefix_(fmt::format("POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: {}\r\nConnection: keep-alive\r\n",
                          request_target, host_header, content_type)),
      request_line_size_(prefix_.find("\r\n") + 2) {
  for (const HeaderField& header : fixed) {
    // Name the header but never echo its value: it may be a secret.
    if (!valid_field_name(header.name)) {
      throw std::invalid_argument(fmt::format("partner header name \"{}\" is not a valid token", header.name));
    }
    if (!valid_field_value(header.value)) {
      throw std::invalid_argument(
          fmt::format("partner header {} has a control character in its value", header.name));
    }
    if (reserved_field(header.name)) {
      throw std::invalid_argument(
          fmt::format("partner header {} is set by the client and cannot be overridden", header.name));
    }
    append_line(prefix_, header.name, header.value);
  }
}

void RequestHead::format(std::string& out, std::string_view target, std::size_t body_size, std::string_view key,
                         std::span<const HeaderField> headers) const {
  std::array<char, 24> digits{};
  const auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), body_size);
  (void)ec;  // 24 digits always fit a size_t
  if (target.empty()) {
    out.assign(prefix_);
  } else {
    out.assign("POST ");
    out.append(target);
    out.append(" HTTP/1.1\r\n");
    out.append(std::string_view(prefix_).substr(request_line_size_));
  }
  if (!key.empty()) append_line(out, "Idempotency-Key", key);
  for (const HeaderField& header : headers) append_line(out, header.name, header.value);
  out.append("Content-Length: ");
  out.append(digits.data(), end);
  out.append("\r\n\r\n");
}

}  // namespace conveyor::http
