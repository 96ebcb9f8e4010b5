// The `conveyor` command line: parses the subcommand and its flags, loads the
// settings (defaults < .env < environment < flags) and runs the command.
// Configuration errors print one line naming the key and exit with 2.
#pragma once

namespace conveyor::cli {

int run(int argc, char** argv);

}  // namespace conveyor::cli
