// The one exception of the configuration layer: thrown at start-up only, it
// names the offending key (or file and line) and the bad value, and the CLI
// turns it into a single line on stderr and exit code 2.
#pragma once

#include <stdexcept>
#include <string>

namespace conveyor::config {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace conveyor::config
