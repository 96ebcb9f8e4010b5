#include "cli/app.h"

namespace conveyor::cli {

int run(int, char**) { return 0; }

}  // namespace conveyor::cli
