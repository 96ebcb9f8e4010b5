// What `conveyor --version` prints: the project version and the git commit the binary was built
// from. The commit comes from a source the build regenerates whenever HEAD moves
// (cmake/build_commit.cmake), so an incremental build after a commit reports the new one;
// outside a git checkout (a tarball, a container build without .git) it is "unknown".
#pragma once

#include <string>
#include <string_view>

namespace conveyor::cli {

std::string_view build_version();  // "0.1.0", from CMakeLists.txt's project()
std::string_view build_commit();   // the full commit hash, or "unknown"

// "conveyor 0.1.0 (commit 3dc3db7...)".
std::string version_text();

}  // namespace conveyor::cli
