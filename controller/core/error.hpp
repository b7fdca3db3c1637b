// Errors that cross module boundaries: a kind that decides retry vs terminal,
// plus a message for humans. Library exceptions are turned into Error in the
// adapter that called the library.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace dnsctl {

enum class ErrorKind {
    invalid,      // bad input; retrying cannot help
    not_found,    // the thing asked for does not exist
    unavailable,  // transient: network, timeout, lock contention, 5xx known to pass
    denied,       // authentication or authorisation refused
    conflict,     // the world is not in the state the request assumed
    internal,     // a failure we cannot classify; terminal
};

std::string_view to_string(ErrorKind kind);

struct Error {
    ErrorKind kind = ErrorKind::internal;
    std::string message;
    // A mutating request may have taken effect although no answer came back
    // (connection reset after sending, timeout): re-observe before retrying.
    bool maybe_applied = false;

    [[nodiscard]] bool transient() const { return kind == ErrorKind::unavailable; }

    // A copy whose message is "<context>: <message>".
    [[nodiscard]] Error within(std::string_view context) const;
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(ErrorKind kind, std::string message) {
    return std::unexpected(Error{kind, std::move(message), false});
}

}  // namespace dnsctl
