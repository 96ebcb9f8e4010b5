// conveyor: one binary, subcommands wired in cli/.
#include "cli/app.h"

int main(int argc, char** argv) { return conveyor::cli::run(argc, argv); }
