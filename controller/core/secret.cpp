#include "core/secret.hpp"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace dnsctl {

std::string SecretRef::describe() const {
    return fmt::format("{}:{}", kind == Kind::env ? "env" : "file", target);
}

Result<SecretRef> parse_secret_ref(const std::string& text) {
    auto starts = [&](std::string_view p) { return text.rfind(p, 0) == 0; };
    if (starts("env:") && text.size() > 4) {
        auto name = text.substr(4);
        for (char c : name) {
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) {
                return fail(ErrorKind::invalid,
                            fmt::format("environment variable name '{}' may hold only letters, digits and '_'", name));
            }
        }
        return SecretRef{SecretRef::Kind::env, name};
    }
    if (starts("file:") && text.size() > 5) return SecretRef{SecretRef::Kind::file, text.substr(5)};
    return fail(ErrorKind::invalid,
                "secrets are given by reference only: write `env:VARIABLE` or `file:PATH` "
                "and put the value there, never in the inventory");
}

Result<Secret> resolve_secret(const SecretRef& ref) {
    if (ref.kind == SecretRef::Kind::env) {
        const char* value = std::getenv(ref.target.c_str());
        if (value == nullptr || *value == '\0') {
            return fail(ErrorKind::not_found, fmt::format("environment variable {} is not set", ref.target));
        }
        return Secret(value);
    }
    std::ifstream in(ref.target);
    if (!in) return fail(ErrorKind::not_found, fmt::format("cannot read secret file {}", ref.target));
    std::ostringstream buf;
    buf << in.rdbuf();
    std::string value = buf.str();
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
    if (value.empty()) return fail(ErrorKind::invalid, fmt::format("secret file {} is empty", ref.target));
    return Secret(std::move(value));
}

}  // namespace dnsctl
