// Tests reach the process helpers under conveyor::testing as well.
#pragma once

#include "core/child_process.h"

namespace conveyor::testing {
using conveyor::ChildProcess;
using conveyor::free_port;
using conveyor::wait_until;
}  // namespace conveyor::testing
