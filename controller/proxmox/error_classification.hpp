// How a failed Proxmox call becomes an Error (pure functions).
//
// PVE answers 500 for almost everything a handler refuses (a missing VM, a
// lock timeout, a running VM, a bad value), so the kind is decided from the
// status *and* the message. Only what is known to pass is `unavailable`
// (retried); an unrecognised 500 on a mutating call is `internal` (terminal).
// A read can always be repeated, so an unrecognised 500 on a read is
// `unavailable`. Error::maybe_applied is set when a mutating call may have
// taken effect although no definite answer came back.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace dnsctl {

// What came back from a call that did not succeed (HTTP status outside 2xx).
struct FailedReply {
    int status = 0;
    std::string reason;                         // HTTP reason phrase: PVE puts its message's first line here
    std::string message;                        // body "message" (PVE >= 8.3), empty when absent
    std::map<std::string, std::string> errors;  // body "errors": parameter -> problem (400)
};

// Reads the body of a failed reply; an empty or non-JSON body is fine.
FailedReply parse_failed_reply(int status, std::string reason, std::string_view body);

// The kind and a message for humans (without the call's name: the adapter
// adds "<METHOD> <path>: " in front).
Error classify_failure(const FailedReply& reply, bool mutating);

// A task that stopped with an exitstatus other than OK / WARNINGS: n. A lock
// timeout inside the task is transient; the rest is classified by message
// like a 500 on a mutating call.
Error classify_task_failure(std::string_view exitstatus);

// A call that got no HTTP answer.
enum class TransportStage {
    before_send,  // resolving, connecting, TLS handshake: the server saw no request
    after_send,   // the connection failed while the answer was awaited or read
    timeout,      // no complete answer within the request timeout
};

Error classify_transport_failure(TransportStage stage, std::string_view detail, bool mutating);

}  // namespace dnsctl
