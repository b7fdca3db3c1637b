// check_policy: the RFC 2182 diversity policy and the hidden-primary horizon,
// computed from the typed inventory alone (no I/O). The report is a plain value
// read by the text and JSON views; nothing here prints.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostics.hpp"
#include "core/types.hpp"
#include "inventory/model.hpp"

namespace dnsctl {

enum class PolicyRule {
    min_nameservers,             // at least policy.min_nameservers public nameservers
    family_count,                // at least min_surviving nameservers reachable over each address family
    distinct,                    // no two nameservers share a value of a dimension listed in policy.distinct
    min_softwares,               // at least policy.min_softwares server softwares
    survive_loss,                // N-1: losing any one value leaves min_surviving per address family
    soa_expire,                  // SOA expire outlasts the primary outage horizon
    signature_validity,          // validity left at re-signing outlasts the primary outage horizon
    expire_outlives_signatures,  // SOA expire beyond the validity left: secondaries would serve bogus data
    primary_colocated,           // the hidden primary shares a cluster or datacenter with a nameserver
};
std::string_view to_string(PolicyRule rule);  // "distinct", "survive-loss", …

struct PolicyFinding {
    PolicyRule rule = PolicyRule::distinct;
    Severity severity = Severity::error;
    std::optional<Dimension> dimension;    // distinct, survive_loss, primary_colocated
    std::optional<AddressFamily> family;   // family_count
    std::vector<DnsName> nameservers;      // involved, in inventory order
    std::vector<DnsName> zones;            // involved (zone rules), in inventory order
    std::vector<std::string> basis;        // "RFC 2182 §3", "Zonemaster CONNECTIVITY03", "operator practice"
    std::string message;
    SourceLocation where;                  // the nameserver, zone, DNSSEC policy or policy block to fix

    // Stable rule id: "min-nameservers", "distinct.asn", "survive-loss.software", "family-count.ipv6".
    [[nodiscard]] std::string id() const;
};

// Public nameservers still answering over each address family.
struct Survivors {
    int ipv4 = 0;
    int ipv6 = 0;
    friend bool operator==(const Survivors&, const Survivors&) = default;
};

// One value of a dimension ("AS1299", "198.51.100.0/24", "knot") and what its loss leaves.
struct DimensionValue {
    std::string value;
    std::vector<DnsName> nameservers;  // holding this value, in inventory order
    Survivors survivors;               // nameservers still answering when this value is lost
};

enum class Verdict { pass, fail };
std::string_view to_string(Verdict verdict);

struct PolicyRow {
    Dimension dimension = Dimension::asn;
    std::string title;                        // describe_dimension(): "ASN", "IPv4 /24"
    bool distinct_required = false;
    std::vector<DimensionValue> values;       // sorted by value (ASNs numerically, prefixes by address)
    std::vector<DnsName> unknown;             // nameservers without a value (no address in the family, …)
    std::optional<DimensionValue> worst_loss; // the value whose loss leaves the fewest survivors
    bool survives_loss = true;                // N-1 holds for this dimension in both families
    bool distinct_ok = true;                  // no value held by two nameservers (whether required or not)
    bool enough_values = true;                // software: at least min_softwares values
    Verdict verdict = Verdict::pass;          // fail: N-1, required distinctness or min_softwares broken
};

struct PolicyReport {
    std::size_t nameserver_count = 0;
    Survivors reachable;   // nameservers with an address in each family
    int min_surviving = 0;
    std::vector<PolicyRow> rows;          // one per Dimension, in enum order
    std::vector<PolicyFinding> findings;  // in rule order, then dimension, value, zone

    [[nodiscard]] bool passed() const { return error_count() == 0; }
    [[nodiscard]] std::size_t error_count() const;
    [[nodiscard]] std::size_t warning_count() const;
    [[nodiscard]] const PolicyRow* row(Dimension dimension) const;
};

// All dimensions in report order.
inline constexpr Dimension kAllDimensions[] = {
    Dimension::asn,         Dimension::datacenter,  Dimension::cluster,  Dimension::tld,
    Dimension::registrable_domain, Dimension::ipv4_prefix, Dimension::ipv6_prefix, Dimension::software,
};

// Human name of a dimension: "ASN", "TLD", "IPv4 /24" (prefix lengths from the policy).
std::string describe_dimension(Dimension dimension, const DiversityPolicy& policy);

PolicyReport check_policy(const Inventory& inventory);

}  // namespace dnsctl
