// One HTTP header line a caller adds to a request: a plain value type.
#pragma once

#include <string>

namespace conveyor::http {

struct HeaderField {
  std::string name;
  std::string value;  // may be a secret (Authorization): never logged
};

}  // namespace conveyor::http
