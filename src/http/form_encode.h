// application/x-www-form-urlencoded encoding (RFC 6749 Appendix B, the WHATWG
// form rules): what OAuth2 token requests and AWS Query API calls send, and the
// client options of such a form POST. Pure, callable from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "http/client.h"

namespace conveyor::http {

// Unreserved bytes (ALPHA, DIGIT, '-', '.', '_', '~') kept, space as '+', every other byte %XX.
std::string form_encode(std::string_view text);

// Options of a small client that POSTs forms to `url` and reads an answer of at most
// `max_answer` bytes, kept whole: a token endpoint, AWS STS.
PartnerClientOptions form_client_options(std::string url, std::chrono::milliseconds connect_timeout,
                                         std::chrono::milliseconds request_timeout, std::size_t max_connections,
                                         std::size_t max_answer, std::string tls_ca_file);

}  // namespace conveyor::http
