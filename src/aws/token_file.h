// Reading a token from a file that rotates (the web identity token Kubernetes
// projects, the EKS Pod Identity authorization token): read whole at each use,
// surrounding whitespace dropped. Blocking file I/O of a few bytes; any thread.
#pragma once

#include <string>
#include <string_view>

#include "core/error.h"

namespace conveyor::aws {

// The token, or an error: the file cannot be opened or read (its errno), or it is empty
// (errc::invalid_argument). Tokens over 64 KiB are refused (errc::file_too_large).
Result<std::string> read_token_file(const std::string& path);

}  // namespace conveyor::aws
