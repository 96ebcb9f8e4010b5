#include "http/client_error.h"

#include <string>

namespace conveyor::http {
namespace {

class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "conveyor.http"; }
  std::string message(int ev) const override {
    switch (static_cast<ClientError>(ev)) {
      case ClientError::connect_timeout: return "connect timed out";
      case ClientError::request_timeout: return "no answer within the request timeout";
      case ClientError::response_too_large: return "response too large";
    }
    return "unknown HTTP client error";
  }
  boost::system::error_condition default_error_condition(int ev) const noexcept override {
    switch (static_cast<ClientError>(ev)) {
      case ClientError::connect_timeout:
      case ClientError::request_timeout:
        return boost::system::errc::make_error_condition(boost::system::errc::timed_out);
      default:
        return {ev, *this};
    }
  }
};

}  // namespace

const boost::system::error_category& client_error_category() noexcept {
  static const Category category;
  return category;
}

}  // namespace conveyor::http
