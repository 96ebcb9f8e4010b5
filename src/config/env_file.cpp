#include "config/env_file.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "config/config_error.h"

namespace conveyor::config {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\f' || c == '\v'; }  // not a line end
bool is_space(char c) { return is_blank(c) || c == '\r' || c == '\n'; }

// A cursor over the whole text (quoted values may span lines) that counts lines as it goes.
class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  bool done() const { return pos_ >= text_.size(); }
  char peek(std::size_t ahead = 0) const { return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0'; }
  std::size_t line() const { return line_; }
  std::size_t pos() const { return pos_; }

  void advance(std::size_t n = 1) {
    for (; n > 0 && !done(); --n, ++pos_) {
      // \r\n, \n and \r each end one line.
      if (text_[pos_] == '\n' || (text_[pos_] == '\r' && peek(1) != '\n')) ++line_;
    }
  }
  // Skips blanks (multiline: line ends too); returns how many.
  std::size_t skip_blanks(bool multiline = false) {
    const std::size_t start = pos_;
    while (!done() && (multiline ? is_space(peek()) : is_blank(peek()))) advance();
    return pos_ - start;
  }
  bool at_line_end() const { return done() || peek() == '\n' || peek() == '\r'; }
  // The rest of the current line, not consumed.
  std::string_view rest_of_line() const {
    const auto end = text_.find_first_of("\r\n", pos_);
    return text_.substr(pos_, end == std::string_view::npos ? std::string_view::npos : end - pos_);
  }
  std::string_view slice(std::size_t from, std::size_t to) const { return text_.substr(from, to - from); }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// python-dotenv's decoding: in double quotes the escapes \\ \' \" \a \b \f \n \r \t \v, in
// single quotes \\ and \' only; any other backslash stays as written.
std::string decode_escapes(std::string_view raw, char quote) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char next = i + 1 < raw.size() ? raw[i + 1] : '\0';
    if (raw[i] != '\\' || next == '\0') {
      out += raw[i];
      continue;
    }
    char decoded = 0;
    if (next == '\\' || next == '\'') decoded = next;
    else if (quote == '"') {
      switch (next) {
        case '"': decoded = '"'; break;
        case 'a': decoded = '\a'; break;
        case 'b': decoded = '\b'; break;
        case 'f': decoded = '\f'; break;
        case 'n': decoded = '\n'; break;
        case 'r': decoded = '\r'; break;
        case 't': decoded = '\t'; break;
        case 'v': decoded = '\v'; break;
        default: break;
      }
    }
    if (decoded == 0) {
      out += raw[i];
      continue;
    }
    out += decoded;
    ++i;
  }
  return out;
}

class Parser {
 public:
  Parser(std::string_view text, const std::string& origin) : in_(text), origin_(origin) {}

  std::vector<EnvBinding> run() {
    std::vector<EnvBinding> out;
    for (;;) {
      in_.skip_blanks(/*multiline=*/true);
      if (in_.done()) return out;
      if (auto binding = statement()) out.push_back(std::move(*binding));
    }
  }

 private:
  [[noreturn]] void fail(std::string_view what) const {
    throw ConfigError(fmt::format("{}:{}: {}", origin_, line_, what));
  }
  [[noreturn]] void malformed() const { fail(fmt::format("expected KEY=VALUE, got '{}'", trim(first_line_))); }

  // One binding or comment line, from its first non-blank character to its line end.
  std::optional<EnvBinding> statement() {
    line_ = in_.line();
    first_line_ = in_.rest_of_line();
    if (in_.rest_of_line().starts_with("export") && is_blank(in_.peek(6))) {
      in_.advance(6);
      in_.skip_blanks();
    }
    if (in_.peek() == '#') {
      end_of_line();
      return std::nullopt;
    }
    EnvBinding binding{key(), std::nullopt, line_};
    in_.skip_blanks();
    if (in_.peek() == '=') {
      in_.advance();
      const bool blank_before = in_.skip_blanks() > 0;
      binding.value = value(binding.key, blank_before);
    }
    end_of_line();
    return binding;
  }

  std::string key() {
    const std::size_t start = in_.pos();
    if (in_.peek() == '\'') {  // 'KEY'
      in_.advance();
      while (!in_.at_line_end() && in_.peek() != '\'') in_.advance();
      if (in_.peek() != '\'' || in_.pos() == start + 1) malformed();
      in_.advance();
      return std::string(in_.slice(start + 1, in_.pos() - 1));
    }
    while (!in_.done() && !is_space(in_.peek()) && in_.peek() != '=' && in_.peek() != '#') in_.advance();
    if (in_.pos() == start) malformed();
    return std::string(in_.slice(start, in_.pos()));
  }

  std::string value(const std::string& key, bool blank_before) {
    const char first = in_.peek();
    if (first == '\'' || first == '"') return quoted(key, first);
    if (in_.at_line_end()) return {};
    // Unquoted: the rest of the line; a `#` after whitespace starts a comment.
    const std::string_view raw = in_.rest_of_line();
    in_.advance(raw.size());
    if (blank_before && raw.front() == '#') return {};
    std::size_t end = raw.size();
    for (std::size_t i = 1; i < raw.size(); ++i) {
      if (raw[i] == '#' && is_blank(raw[i - 1])) {
        end = i;
        break;
      }
    }
    return std::string(trim(raw.substr(0, end)));
  }

  // As python-dotenv's regex Q((?:\\Q|[^Q])*)Q matches: \Q does not close the value, except
  // that when no plain Q follows, the last \Q does (its backslash then being part of the value).
  std::string quoted(const std::string& key, char quote) {
    in_.advance();
    const std::size_t start = in_.pos();
    std::optional<std::size_t> last_escaped;
    for (;;) {
      if (in_.done()) {
        if (!last_escaped) fail(fmt::format("unterminated quote in the value of {}", key));
        in_ = rewind_to(*last_escaped);
        break;
      }
      if (in_.peek() == '\\' && in_.peek(1) == quote) {
        last_escaped = in_.pos() + 1;
        in_.advance(2);
        continue;
      }
      if (in_.peek() == quote) break;
      in_.advance();
    }
    const std::string_view raw = in_.slice(start, in_.pos());
    in_.advance();  // the closing quote
    in_.skip_blanks();
    if (!in_.at_line_end() && in_.peek() != '#') {
      fail(fmt::format("unexpected text after the closing quote of {}'s value", key));
    }
    return decode_escapes(raw, quote);
  }

  Reader rewind_to(std::size_t pos) const {
    Reader r = start_;
    r.advance(pos);
    return r;
  }

  // An optional comment, then the line end.
  void end_of_line() {
    in_.skip_blanks();
    if (in_.peek() == '#') in_.advance(in_.rest_of_line().size());
    if (!in_.at_line_end()) malformed();
  }

  Reader in_;
  const Reader start_ = in_;
  const std::string& origin_;
  std::size_t line_ = 0;
  std::string_view first_line_;
};

}  // namespace

KeyValues EnvFile::values() const {
  KeyValues out;
  for (const EnvBinding& b : bindings) {
    if (b.value) out.insert_or_assign(b.key, *b.value);
  }
  return out;
}

EnvFile parse_env_file(std::string_view text, std::string origin) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // a UTF-8 byte order mark
  EnvFile file{std::move(origin), {}};
  file.bindings = Parser(text, file.origin).run();
  return file;
}

EnvFile read_env_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("cannot read env file {}", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_env_file(text.str(), path.string());
}

KeyValues parse_env_text(std::string_view text, std::string_view origin) {
  return parse_env_file(text, std::string(origin)).values();
}

}  // namespace conveyor::config
