// A file name under gtest's temporary directory that belongs to this test process alone. ctest runs
// tests two at a time, each in its own process, all sharing one TempDir(): a fixed name there is a
// race between two tests (one test's routes file pointing the other's workers at its partner).
#pragma once

#include <unistd.h>

#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace conveyor::testing {

// TempDir()/conveyor-<pid>-<name>.
inline std::string temp_path(std::string_view name) {
  return ::testing::TempDir() + "/conveyor-" + std::to_string(::getpid()) + "-" + std::string(name);
}

}  // namespace conveyor::testing
