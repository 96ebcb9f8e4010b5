// A status line redrawn in place at the bottom of a terminal (`\r`, then the text, then erase to
// the end of the line), and kept out of the way of log lines: the log sink calls around(), which
// erases the line, lets the log line be written, and draws the line again below it. Off a
// terminal (or with LOG_FORMAT=json) it is disabled and every call is a no-op. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>

namespace conveyor::cli {

class StatusLine {
 public:
  // Writes to `out` when `enabled`; `columns` is the width text is cut to (0: ask the terminal).
  StatusLine(std::FILE* out, bool enabled, std::size_t columns = 0);
  StatusLine(const StatusLine&) = delete;
  StatusLine& operator=(const StatusLine&) = delete;

  // The process's line on stderr, where logs go; disabled until logging is set up and finds
  // stderr is a terminal (there is one stderr per process, hence one line).
  static StatusLine& on_stderr();

  bool enabled() const;
  void set_enabled(bool enabled);

  // Draws `text` in place of the current line (cut to the terminal's width, so it never wraps).
  void show(const std::string& text);
  // Ends the line with a newline, leaving the last text on screen; the next show() starts afresh.
  void finish();
  // Runs `write` (which writes a whole line to the same terminal) with the status line erased,
  // then draws it again.
  void around(const std::function<void()>& write);

 private:
  void draw_locked();
  void erase_locked();

  mutable std::mutex mutex_;
  std::FILE* out_;
  bool enabled_;
  std::size_t columns_;
  std::string text_;
  bool drawn_ = false;
};

// Whether stderr is a terminal that can redraw a line: a TTY whose TERM is not "dumb".
bool stderr_is_terminal();
// The same for stdout (where `conveyor stats --watch` draws its table).
bool stdout_is_terminal();

}  // namespace conveyor::cli
