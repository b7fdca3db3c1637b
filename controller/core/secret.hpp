// Secrets are values that must never reach a log, a plan or an error message.
// A Secret formats as "***"; only reveal() gives the value, and only adapters
// that hand it to a library (HTTP header, TSIG config) call it.
#pragma once

#include <fmt/format.h>

#include <string>
#include <utility>

#include "core/error.hpp"

namespace dnsctl {

class Secret {
public:
    Secret() = default;
    explicit Secret(std::string value) : value_(std::move(value)) {}

    [[nodiscard]] const std::string& reveal() const { return value_; }
    [[nodiscard]] bool empty() const { return value_.empty(); }

    friend bool operator==(const Secret&, const Secret&) = default;

private:
    std::string value_;
};

// Where a secret lives: `env:NAME` or `file:PATH`. Inventories hold only these.
struct SecretRef {
    enum class Kind { env, file };
    Kind kind = Kind::env;
    std::string target;  // variable name, or absolute path after loading

    [[nodiscard]] std::string describe() const;  // "env:NAME" / "file:PATH"
    friend bool operator==(const SecretRef&, const SecretRef&) = default;
};

// Parses "env:NAME" or "file:PATH"; anything else is invalid (an inline secret).
Result<SecretRef> parse_secret_ref(const std::string& text);

// Reads the secret now (environment or file, trailing newline stripped).
Result<Secret> resolve_secret(const SecretRef& ref);

}  // namespace dnsctl

template <>
struct fmt::formatter<dnsctl::Secret> : fmt::formatter<std::string_view> {
    template <class FormatContext>
    auto format(const dnsctl::Secret&, FormatContext& ctx) const {
        return fmt::formatter<std::string_view>::format("***", ctx);
    }
};
