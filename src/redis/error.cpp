#include "redis/error.h"

#include <string>

namespace conveyor::redis {
namespace {

class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "redis-connect"; }
  std::string message(int ev) const override {
    switch (static_cast<ConnectError>(ev)) {
      case ConnectError::auth_failed: return "Redis refused the login (AUTH)";
      case ConnectError::select_failed: return "Redis refused the database number (SELECT)";
      case ConnectError::no_master: return "no Redis Sentinel named the master";
      case ConnectError::not_master: return "the server the sentinels named is not a master";
    }
    return "unknown Redis connect error";
  }
};

}  // namespace

const boost::system::error_category& connect_category() noexcept {
  static const Category category;
  return category;
}

}  // namespace conveyor::redis
