#include "http/form_encode.h"

#include <fmt/format.h>

namespace conveyor::http {

std::string form_encode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out.push_back(ch);
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

PartnerClientOptions form_client_options(std::string url, std::chrono::milliseconds connect_timeout,
                                         std::chrono::milliseconds request_timeout, std::size_t max_connections,
                                         std::size_t max_answer, std::string tls_ca_file) {
  PartnerClientOptions options;
  options.url = std::move(url);
  options.connect_timeout = connect_timeout;
  options.request_timeout = request_timeout;
  options.max_connections = max_connections;
  options.max_response_body = max_answer;
  options.keep_body = max_answer;
  options.content_type = "application/x-www-form-urlencoded";
  options.tls_ca_file = std::move(tls_ca_file);
  return options;
}

}  // namespace conveyor::http
