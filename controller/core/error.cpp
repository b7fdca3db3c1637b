#include "core/error.hpp"

#include <fmt/format.h>

namespace dnsctl {

std::string_view to_string(ErrorKind kind) {
    switch (kind) {
    case ErrorKind::invalid: return "invalid";
    case ErrorKind::not_found: return "not_found";
    case ErrorKind::unavailable: return "unavailable";
    case ErrorKind::denied: return "denied";
    case ErrorKind::conflict: return "conflict";
    case ErrorKind::internal: return "internal";
    }
    return "internal";
}

Error Error::within(std::string_view context) const {
    return Error{kind, fmt::format("{}: {}", context, message), maybe_applied};
}

}  // namespace dnsctl
