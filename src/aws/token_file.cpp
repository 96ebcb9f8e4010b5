#include "aws/token_file.h"

#include <cerrno>
#include <fstream>
#include <iterator>

#include "core/text.h"

namespace conveyor::aws {

Result<std::string> read_token_file(const std::string& path) {
  constexpr std::size_t kLongest = 64 * 1024;
  std::ifstream in(path, std::ios::binary);
  if (!in) return error_code(errno ? errno : ENOENT, boost::system::generic_category());
  std::string text;
  char buffer[4096];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kLongest) return make_error_code(boost::system::errc::file_too_large);
  }
  if (in.bad()) return error_code(EIO, boost::system::generic_category());
  std::string_view token = text;
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ' || token.back() == '\t')) {
    token.remove_suffix(1);
  }
  token = trim_blanks(token);
  if (token.empty()) return make_error_code(boost::system::errc::invalid_argument);
  return std::string(token);
}

}  // namespace conveyor::aws
