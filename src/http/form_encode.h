// application/x-www-form-urlencoded encoding (RFC 6749 Appendix B, the WHATWG
// form rules): what OAuth2 token requests and AWS Query API calls send. Pure,
// callable from any thread.
#pragma once

#include <string>
#include <string_view>

namespace conveyor::http {

// Unreserved bytes (ALPHA, DIGIT, '-', '.', '_', '~') kept, space as '+', every other byte %XX.
std::string form_encode(std::string_view text);

}  // namespace conveyor::http
