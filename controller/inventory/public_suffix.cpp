#include "inventory/public_suffix.hpp"

#include <libpsl.h>

namespace dnsctl {

std::optional<std::string> registrable_domain(const DnsName& name) {
    const psl_ctx_t* context = psl_builtin();
    if (context == nullptr) {
        // libpsl built without a list: fall back to the `*` rule (last label is the suffix).
        auto labels = name.labels();
        if (labels.size() < 2) return std::nullopt;
        return std::string(labels[labels.size() - 2]) + "." + std::string(labels.back());
    }
    const char* domain = psl_registrable_domain(context, name.str().c_str());
    if (domain == nullptr) return std::nullopt;
    return std::string(domain);
}

}  // namespace dnsctl
