#include "core/error.h"

#include <string>

namespace conveyor {
namespace {

class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "conveyor"; }
  std::string message(int ev) const override {
    switch (static_cast<Error>(ev)) {
      case Error::ok: return "success";
      case Error::redis_protocol: return "Redis protocol error";
      case Error::redis_reply: return "Redis answered with an error";
      case Error::redis_unexpected: return "unexpected Redis reply type";
      case Error::connection_closed: return "connection closed";
      case Error::bad_url: return "unusable URL";
      case Error::http_protocol: return "malformed HTTP response";
      case Error::shutting_down: return "shutting down";
      case Error::backend_failed: return "the queue backend failed";
    }
    return "unknown conveyor error";
  }
};

}  // namespace

const boost::system::error_category& conveyor_category() noexcept {
  static const Category category;
  return category;
}

}  // namespace conveyor
