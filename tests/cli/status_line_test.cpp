// The status line's bytes on a terminal: drawn in place, cut to the width, erased around log
// lines and redrawn, ended with a newline; nothing at all when disabled.
#include "cli/status_line.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>

namespace conveyor::cli {
namespace {

class StatusLineTest : public ::testing::Test {
 protected:
  std::string written() {
    std::fflush(file.get());
    std::rewind(file.get());
    std::string out;
    for (int c; (c = std::fgetc(file.get())) != EOF;) out.push_back(static_cast<char>(c));
    return out;
  }

  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file{std::tmpfile(), &std::fclose};
};

TEST_F(StatusLineTest, RedrawsInPlaceAndEndsWithANewline) {
  StatusLine line(file.get(), true, 80);
  line.show("one");
  line.show("two");
  line.finish();
  line.finish();  // nothing drawn since: no second newline
  EXPECT_EQ(written(), "\rone\x1b[K\rtwo\x1b[K\n");
}

TEST_F(StatusLineTest, IsCutShortOfTheTerminalWidth) {
  StatusLine line(file.get(), true, 6);
  line.show("0123456789");
  EXPECT_EQ(written(), "\r01234\x1b[K");
}

TEST_F(StatusLineTest, ALogLineIsWrittenOnAnErasedLineAndTheStatusRedrawnBelow) {
  StatusLine line(file.get(), true, 80);
  line.around([&] { std::fputs("before\n", file.get()); });  // nothing drawn yet: written as is
  line.show("status");
  line.around([&] { std::fputs("log\n", file.get()); });
  EXPECT_EQ(written(), "before\n\rstatus\x1b[K\r\x1b[Klog\n\rstatus\x1b[K");
}

TEST_F(StatusLineTest, DisabledWritesNothingOfItsOwn) {
  StatusLine line(file.get(), false, 80);
  line.show("status");
  line.around([&] { std::fputs("log\n", file.get()); });
  line.finish();
  EXPECT_EQ(written(), "log\n");
}

}  // namespace
}  // namespace conveyor::cli
