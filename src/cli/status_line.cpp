#include "cli/status_line.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace conveyor::cli {
namespace {

constexpr std::size_t kDefaultColumns = 80;
constexpr const char* kEraseLine = "\r\x1b[K";

bool is_terminal(int fd) {
  if (!::isatty(fd)) return false;
  const char* term = std::getenv("TERM");
  return !(term && std::strcmp(term, "dumb") == 0);
}

std::size_t terminal_columns(std::FILE* out) {
  winsize size{};
  if (::ioctl(::fileno(out), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return kDefaultColumns;
}

}  // namespace

bool stderr_is_terminal() { return is_terminal(STDERR_FILENO); }
bool stdout_is_terminal() { return is_terminal(STDOUT_FILENO); }

StatusLine::StatusLine(std::FILE* out, bool enabled, std::size_t columns)
    : out_(out), enabled_(enabled), columns_(columns) {}

StatusLine& StatusLine::on_stderr() {
  static StatusLine line(stderr, false);
  return line;
}

bool StatusLine::enabled() const {
  std::lock_guard lock(mutex_);
  return enabled_;
}

void StatusLine::set_enabled(bool enabled) {
  std::lock_guard lock(mutex_);
  enabled_ = enabled;
}

void StatusLine::show(const std::string& text) {
  std::lock_guard lock(mutex_);
  if (!enabled_) return;
  text_ = text;
  draw_locked();
  std::fflush(out_);
}

void StatusLine::finish() {
  std::lock_guard lock(mutex_);
  if (!enabled_ || !drawn_) return;
  std::fputc('\n', out_);
  std::fflush(out_);
  drawn_ = false;
  text_.clear();
}

void StatusLine::around(const std::function<void()>& write) {
  std::lock_guard lock(mutex_);
  if (!enabled_ || !drawn_) {
    write();
    return;
  }
  erase_locked();
  write();
  draw_locked();
  std::fflush(out_);
}

void StatusLine::draw_locked() {
  // One column short of the width: writing the last column makes some terminals wrap.
  const std::size_t columns = columns_ ? columns_ : terminal_columns(out_);
  const std::size_t room = columns > 1 ? columns - 1 : 1;
  std::fputs("\r", out_);
  std::fwrite(text_.data(), 1, std::min(text_.size(), room), out_);
  std::fputs("\x1b[K", out_);
  drawn_ = true;
}

void StatusLine::erase_locked() {
  std::fputs(kEraseLine, out_);
  std::fflush(out_);
  drawn_ = false;
}

}  // namespace conveyor::cli
