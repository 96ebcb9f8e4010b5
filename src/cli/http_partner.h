// Adapts the HTTP partner client to the dispatcher's Partner seam, so the
// dispatcher never sees HTTP and the client never sees queues.
#pragma once

#include "dispatch/partner.h"
#include "http/client.h"

namespace conveyor::cli {

class HttpPartner final : public dispatch::Partner {
 public:
  explicit HttpPartner(http::PartnerClient& client) : client_(client) {}  // client must outlive this

  // Not a coroutine: hands back the client's own awaitable, one frame fewer
  // per message on the hot path.
  boost::asio::awaitable<Result<dispatch::PartnerAnswer>> deliver(std::string_view body,
                                                                  std::string_view idempotency_key) override {
    return client_.post(body, idempotency_key);
  }
  void cancel_all() override { client_.cancel_all(); }

 private:
  http::PartnerClient& client_;
};

}  // namespace conveyor::cli
