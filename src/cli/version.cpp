#include "cli/version.h"

#include <fmt/format.h>

namespace conveyor::cli {

std::string version_text() { return fmt::format("conveyor {} (commit {})", build_version(), build_commit()); }

}  // namespace conveyor::cli
