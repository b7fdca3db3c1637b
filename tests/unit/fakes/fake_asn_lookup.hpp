// FakeAsnLookup: origins a test sets per address; an address without one is
// not_found, as an ASN source that knows nothing of it would answer.
// Per-method failure injection; thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "asn/asn_lookup.hpp"
#include "failure_injector.hpp"

namespace dnsctl {

enum class AsnLookupMethod { origins };

class FakeAsnLookup final : public AsnLookup {
public:
    explicit FakeAsnLookup(std::string description = "fake") : description_(std::move(description)) {}

    void set_origin(const IpAddress& address, std::vector<Asn> asns, std::optional<IpPrefix> prefix = std::nullopt) {
        std::lock_guard lock(mutex_);
        origins_[address] = AsnOrigin{address, std::move(asns), prefix};
    }
    FailureInjector<AsnLookupMethod>& failures() { return failures_; }

    [[nodiscard]] std::string describe() const override { return description_; }

    std::vector<Result<AsnOrigin>> origins(std::span<const IpAddress> addresses) override {
        std::vector<Result<AsnOrigin>> out;
        if (auto injected = failures_.enter(AsnLookupMethod::origins)) {
            for (std::size_t i = 0; i < addresses.size(); ++i) out.emplace_back(std::unexpected(*injected));
            return out;
        }
        std::lock_guard lock(mutex_);
        for (const auto& address : addresses) {
            if (auto it = origins_.find(address); it != origins_.end()) {
                out.emplace_back(it->second);
            } else {
                out.emplace_back(std::unexpected(
                    Error{ErrorKind::not_found, description_ + ": no origin for " + address.str(), false}));
            }
        }
        return out;
    }

private:
    std::string description_;
    std::mutex mutex_;
    std::map<IpAddress, AsnOrigin> origins_;
    FailureInjector<AsnLookupMethod> failures_;
};

}  // namespace dnsctl
