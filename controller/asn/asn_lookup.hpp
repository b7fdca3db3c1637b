// AsnLookup: the narrow port that maps addresses to the autonomous systems
// announcing them, so that the diversity the inventory declares can be checked
// against the routing world (DESIGN §7). Implementations are plugins
// (plugins/asn/{static,file,dns}); tests use FakeAsnLookup.
//
// Error kinds (per address):
//   not_found    the source knows no origin for the address
//   unavailable  the source could not be asked (DNS timeout, unreadable file)
//   invalid      the source answered something that is not an origin record
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/types.hpp"

namespace dnsctl {

struct AsnOrigin {
    IpAddress address;
    std::vector<Asn> asns;          // sorted; several when a prefix is announced by more than one AS (MOAS)
    std::optional<IpPrefix> prefix; // the most specific announced prefix holding the address, when known
};

class AsnLookup {
public:
    virtual ~AsnLookup() = default;

    // What the reports call this source: "static", "file:/etc/dnsctl/ip2asn.tsv", "dns:origin.asn.cymru.com".
    [[nodiscard]] virtual std::string describe() const = 0;

    // The origin of each address, in the same order.
    virtual std::vector<Result<AsnOrigin>> origins(std::span<const IpAddress> addresses) = 0;
};

}  // namespace dnsctl
