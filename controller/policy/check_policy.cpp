#include "policy/check_policy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <utility>

namespace dnsctl {

std::string_view to_string(PolicyRule rule) {
    switch (rule) {
    case PolicyRule::min_nameservers: return "min-nameservers";
    case PolicyRule::family_count: return "family-count";
    case PolicyRule::distinct: return "distinct";
    case PolicyRule::min_softwares: return "min-softwares";
    case PolicyRule::survive_loss: return "survive-loss";
    case PolicyRule::soa_expire: return "soa-expire";
    case PolicyRule::signature_validity: return "signature-validity";
    case PolicyRule::expire_outlives_signatures: return "expire-outlives-signatures";
    case PolicyRule::primary_colocated: return "primary-colocated";
    }
    return "?";
}

std::string_view to_string(Verdict verdict) { return verdict == Verdict::pass ? "pass" : "fail"; }

std::string PolicyFinding::id() const {
    std::string out(to_string(rule));
    if (dimension) {
        out += '.';
        out += to_string(*dimension);
    } else if (family) {
        out += family == AddressFamily::ipv4 ? ".ipv4" : ".ipv6";
    }
    return out;
}

std::size_t PolicyReport::error_count() const {
    return static_cast<std::size_t>(std::count_if(findings.begin(), findings.end(), [](const PolicyFinding& f) {
        return f.severity == Severity::error;
    }));
}

std::size_t PolicyReport::warning_count() const { return findings.size() - error_count(); }

const PolicyRow* PolicyReport::row(Dimension dimension) const {
    auto it = std::find_if(rows.begin(), rows.end(), [&](const PolicyRow& r) { return r.dimension == dimension; });
    return it == rows.end() ? nullptr : &*it;
}

std::string describe_dimension(Dimension dimension, const DiversityPolicy& policy) {
    switch (dimension) {
    case Dimension::asn: return "ASN";
    case Dimension::datacenter: return "datacenter";
    case Dimension::cluster: return "cluster";
    case Dimension::tld: return "TLD";
    case Dimension::registrable_domain: return "registrable domain";
    case Dimension::ipv4_prefix: return fmt::format("IPv4 /{}", policy.ipv4_prefix_length);
    case Dimension::ipv6_prefix: return fmt::format("IPv6 /{}", policy.ipv6_prefix_length);
    case Dimension::software: return "server software";
    }
    return "?";
}

namespace {

constexpr AddressFamily kFamilies[] = {AddressFamily::ipv4, AddressFamily::ipv6};

struct KeyedValue {
    std::string sort_key;
    std::string label;
};

std::string address_sort_key(const IpAddress& address, int length) {
    std::string key;
    for (auto byte : address.bytes()) key += fmt::format("{:02x}", byte);
    return fmt::format("{}/{:03}", key, length);
}

// The value a nameserver has in a dimension; nullopt when it has none (no
// address in that family) or the inventory does not say (a dangling cluster).
std::optional<KeyedValue> value_of(const Inventory& inventory, const Nameserver& ns, Dimension dimension) {
    const auto& policy = inventory.policy;
    switch (dimension) {
    case Dimension::asn:
        if (ns.asn.value == 0) return std::nullopt;
        return KeyedValue{fmt::format("{:010}", ns.asn.value), fmt::format("AS{}", ns.asn.value)};
    case Dimension::datacenter: {
        const Cluster* cluster = inventory.find_cluster(ns.cluster);
        if (cluster == nullptr || cluster->datacenter.empty()) return std::nullopt;
        return KeyedValue{cluster->datacenter, cluster->datacenter};
    }
    case Dimension::cluster:
        if (ns.cluster.empty()) return std::nullopt;
        return KeyedValue{ns.cluster, ns.cluster};
    case Dimension::tld:
        if (ns.fqdn.empty()) return std::nullopt;
        return KeyedValue{std::string(ns.fqdn.tld()), std::string(ns.fqdn.tld())};
    case Dimension::registrable_domain:
        if (ns.registrable_domain.empty()) return std::nullopt;
        return KeyedValue{ns.registrable_domain, ns.registrable_domain};
    case Dimension::ipv4_prefix: {
        if (!ns.ipv4) return std::nullopt;
        IpPrefix prefix{ns.ipv4->address.address.masked(policy.ipv4_prefix_length), policy.ipv4_prefix_length};
        return KeyedValue{address_sort_key(prefix.network, prefix.length), prefix.str()};
    }
    case Dimension::ipv6_prefix: {
        if (!ns.ipv6) return std::nullopt;
        IpPrefix prefix{ns.ipv6->address.address.masked(policy.ipv6_prefix_length), policy.ipv6_prefix_length};
        return KeyedValue{address_sort_key(prefix.network, prefix.length), prefix.str()};
    }
    case Dimension::software: {
        std::string name(to_string(ns.software));
        return KeyedValue{name, name};
    }
    }
    return std::nullopt;
}

bool has_family(const Nameserver& ns, AddressFamily family) {
    return family == AddressFamily::ipv4 ? ns.ipv4.has_value() : ns.ipv6.has_value();
}

// Losing an IPv4 prefix does not silence a nameserver's IPv6 address, and the
// other way round; every other dimension takes the whole nameserver down.
bool loss_affects(Dimension dimension, AddressFamily family) {
    if (dimension == Dimension::ipv4_prefix) return family == AddressFamily::ipv4;
    if (dimension == Dimension::ipv6_prefix) return family == AddressFamily::ipv6;
    return true;
}

int& count_for(Survivors& survivors, AddressFamily family) {
    return family == AddressFamily::ipv4 ? survivors.ipv4 : survivors.ipv6;
}

std::vector<std::string> basis_for(Dimension dimension) {
    switch (dimension) {
    case Dimension::asn: return {"RFC 2182 §3", "RFC 9199", "Zonemaster CONNECTIVITY03"};
    case Dimension::datacenter: return {"RFC 2182 §3", "operator practice"};
    case Dimension::cluster: return {"RFC 2182 §3", "operator practice"};
    case Dimension::tld: return {"RFC 2182 §3", "operator practice"};
    case Dimension::registrable_domain: return {"RFC 2182 §3", "operator practice"};
    case Dimension::ipv4_prefix: return {"RFC 2182 §3", "Zonemaster CONNECTIVITY04"};
    case Dimension::ipv6_prefix: return {"RFC 2182 §3", "Zonemaster CONNECTIVITY04"};
    case Dimension::software: return {"operator practice"};
    }
    return {};
}

std::string join_names(const std::vector<DnsName>& names) {
    std::string out;
    for (const auto& name : names) {
        if (!out.empty()) out += ", ";
        out += name.str();
    }
    return out;
}

std::string plural(int count, std::string_view singular, std::string_view plural_form) {
    return fmt::format("{} {}", count, count == 1 ? singular : plural_form);
}

SourceLocation policy_location(const Inventory& inventory) {
    if (!inventory.policy.where.file.empty()) return inventory.policy.where;
    return SourceLocation{inventory.path.string(), 0, 0};
}

std::vector<DnsName> all_nameservers(const Inventory& inventory) {
    std::vector<DnsName> out;
    for (const auto& ns : inventory.nameservers) out.push_back(ns.fqdn);
    return out;
}

struct Group {
    std::string label;
    std::vector<const Nameserver*> members;
};

class PolicyChecker {
public:
    explicit PolicyChecker(const Inventory& inventory) : inventory_(inventory), policy_(inventory.policy) {}

    PolicyReport run() {
        report_.nameserver_count = inventory_.nameservers.size();
        report_.min_surviving = policy_.min_surviving;
        for (const auto& ns : inventory_.nameservers) {
            for (auto family : kFamilies) {
                if (has_family(ns, family)) ++count_for(report_.reachable, family);
            }
        }
        for (auto dimension : kAllDimensions) groups_.emplace_back(dimension, group_by(dimension));

        check_min_nameservers();
        check_family_counts();
        for (const auto& [dimension, groups] : groups_) check_distinct(dimension, groups);
        check_min_softwares();
        for (const auto& [dimension, groups] : groups_) check_survive_loss(dimension, groups);
        check_zones();
        check_signature_policies();
        check_primary_placement();
        for (const auto& [dimension, groups] : groups_) report_.rows.push_back(make_row(dimension, groups));
        return std::move(report_);
    }

private:
    using Groups = std::map<std::string, Group>;  // by sort key

    Groups group_by(Dimension dimension) const {
        Groups groups;
        for (const auto& ns : inventory_.nameservers) {
            auto value = value_of(inventory_, ns, dimension);
            if (!value) continue;
            auto& group = groups[value->sort_key];
            group.label = value->label;
            group.members.push_back(&ns);
        }
        return groups;
    }

    Survivors survivors_after_losing(Dimension dimension, const Group& lost) const {
        Survivors out;
        for (const auto& ns : inventory_.nameservers) {
            bool in_lost = std::find(lost.members.begin(), lost.members.end(), &ns) != lost.members.end();
            for (auto family : kFamilies) {
                if (!has_family(ns, family)) continue;
                if (in_lost && loss_affects(dimension, family)) continue;
                ++count_for(out, family);
            }
        }
        return out;
    }

    bool distinct_required(Dimension dimension) const { return policy_.distinct.contains(dimension); }

    void add(PolicyFinding finding) { report_.findings.push_back(std::move(finding)); }

    void check_min_nameservers() {
        auto count = static_cast<int>(inventory_.nameservers.size());
        if (count >= policy_.min_nameservers) return;
        add({.rule = PolicyRule::min_nameservers,
             .severity = Severity::error,
             .nameservers = all_nameservers(inventory_),
             .basis = {"RFC 2182 §5", "Zonemaster DELEGATION01"},
             .message = fmt::format("the inventory has {}; the policy requires at least {} (min_nameservers)",
                                    plural(count, "public nameserver", "public nameservers"),
                                    policy_.min_nameservers),
             .where = policy_location(inventory_)});
    }

    void check_family_counts() {
        for (auto family : kFamilies) {
            int count = count_for(report_.reachable, family);
            if (count >= policy_.min_surviving) continue;
            std::vector<DnsName> with;
            for (const auto& ns : inventory_.nameservers) {
                if (has_family(ns, family)) with.push_back(ns.fqdn);
            }
            std::string who = with.empty() ? "" : fmt::format(" ({})", join_names(with));
            add({.rule = PolicyRule::family_count,
                 .severity = Severity::error,
                 .family = family,
                 .nameservers = with,
                 .basis = {"RFC 2182 §3", "Zonemaster DELEGATION01"},
                 .message = fmt::format("{} an {} address{}; at least {} per address family are required even "
                                        "before any loss (min_surviving)",
                                        count == 1 ? "only 1 nameserver has" : fmt::format("{} nameservers have", count),
                                        to_string(family), who, policy_.min_surviving),
                 .where = policy_location(inventory_)});
        }
    }

    void check_distinct(Dimension dimension, const Groups& groups) {
        if (!distinct_required(dimension)) return;
        for (const auto& [key, group] : groups) {
            if (group.members.size() < 2) continue;
            std::vector<DnsName> names;
            for (const auto* ns : group.members) names.push_back(ns->fqdn);
            std::vector<DnsName> others(names.begin() + 1, names.end());
            add({.rule = PolicyRule::distinct,
                 .severity = Severity::error,
                 .dimension = dimension,
                 .nameservers = names,
                 .basis = basis_for(dimension),
                 .message = fmt::format("{} {} {} {} with {}; the policy requires a distinct {} per nameserver",
                                        join_names(others), others.size() == 1 ? "shares" : "share",
                                        describe_dimension(dimension, policy_), group.label, names.front().str(),
                                        describe_dimension(dimension, policy_)),
                 .where = group.members[1]->where});
        }
    }

    void check_min_softwares() {
        if (inventory_.nameservers.empty()) return;
        const Groups& groups = groups_of(Dimension::software);
        auto count = static_cast<int>(groups.size());
        if (count >= policy_.min_softwares) return;
        std::string used;
        for (const auto& [key, group] : groups) used += (used.empty() ? "" : ", ") + group.label;
        add({.rule = PolicyRule::min_softwares,
             .severity = Severity::error,
             .nameservers = all_nameservers(inventory_),
             .basis = {"operator practice"},
             .message = fmt::format("the nameservers run {} ({}); the policy requires at least {} so that one "
                                    "software bug cannot take every nameserver down (min_softwares)",
                                    plural(count, "server software", "server softwares"), used,
                                    policy_.min_softwares),
             .where = policy_location(inventory_)});
    }

    void check_survive_loss(Dimension dimension, const Groups& groups) {
        for (const auto& [key, group] : groups) {
            Survivors left = survivors_after_losing(dimension, group);
            std::vector<std::string> short_families;
            for (auto family : kFamilies) {
                // A family already short before any loss is reported once by family_count.
                if (count_for(report_.reachable, family) < policy_.min_surviving) continue;
                if (count_for(left, family) < policy_.min_surviving) {
                    short_families.push_back(fmt::format("{} answering over {}",
                                                         plural(count_for(left, family), "nameserver", "nameservers"),
                                                         to_string(family)));
                }
            }
            if (short_families.empty()) continue;
            std::vector<DnsName> names;
            for (const auto* ns : group.members) names.push_back(ns->fqdn);
            auto basis = basis_for(dimension);
            if (std::find(basis.begin(), basis.end(), "RFC 2182 §3") == basis.end()) {
                basis.insert(basis.begin(), "RFC 2182 §3");
            }
            add({.rule = PolicyRule::survive_loss,
                 .severity = Severity::error,
                 .dimension = dimension,
                 .nameservers = names,
                 .basis = std::move(basis),
                 .message = fmt::format("losing {} {} ({}) leaves {}; the policy requires at least {} per "
                                        "address family (min_surviving)",
                                        describe_dimension(dimension, policy_), group.label, join_names(names),
                                        fmt::join(short_families, " and "), policy_.min_surviving),
                 .where = group.members.front()->where});
        }
    }

    void check_zones() {
        auto horizon = policy_.primary_outage;
        for (const auto& zone : inventory_.zones) {
            if (!zone.facts) continue;
            Duration expire(zone.facts->soa_expire);
            if (expire <= horizon) {
                add({.rule = PolicyRule::soa_expire,
                     .severity = Severity::error,
                     .nameservers = all_nameservers(inventory_),
                     .zones = {zone.name},
                     .basis = {"RFC 1035 §3.3.13", "Zonemaster ZONE05", "operator practice"},
                     .message = fmt::format("zone {}: SOA expire {} does not outlast the primary outage horizon {}: "
                                            "the secondaries would stop answering for the zone while the hidden "
                                            "primary is down (raise expire above {})",
                                            zone.name.str(), format_duration(expire), format_duration(horizon),
                                            format_duration(horizon)),
                     .where = zone.where});
            }
            if (!zone.dnssec) continue;
            const DnssecPolicy* signing = inventory_.find_dnssec_policy(*zone.dnssec);
            if (signing == nullptr) continue;
            if (expire > signing->rrsig_refresh) {
                add({.rule = PolicyRule::expire_outlives_signatures,
                     .severity = Severity::warning,
                     .nameservers = all_nameservers(inventory_),
                     .zones = {zone.name},
                     .basis = {"operator practice"},
                     .message = fmt::format("zone {}: SOA expire {} exceeds the signature validity left at "
                                            "re-signing ({}, rrsig_refresh of DNSSEC policy '{}'): during a long "
                                            "primary outage the secondaries would serve expired signatures "
                                            "(bogus) before the zone expires",
                                            zone.name.str(), format_duration(expire),
                                            format_duration(signing->rrsig_refresh), signing->name),
                     .where = zone.where});
            }
        }
    }

    // One finding per DNSSEC policy in use: the fix is in the policy, not in each zone.
    // (rrsig_refresh shorter than rrsig_lifetime is a schema rule of the loader.)
    void check_signature_policies() {
        auto horizon = policy_.primary_outage;
        for (const auto& signing : inventory_.dnssec_policies) {
            std::vector<DnsName> zones;
            for (const auto& zone : inventory_.zones) {
                if (zone.dnssec && *zone.dnssec == signing.name) zones.push_back(zone.name);
            }
            if (zones.empty()) continue;
            if (signing.rrsig_refresh <= horizon) {
                add({.rule = PolicyRule::signature_validity,
                     .severity = Severity::error,
                     .nameservers = all_nameservers(inventory_),
                     .zones = zones,
                     .basis = {"RFC 4034 §3.1.5", "operator practice"},
                     .message = fmt::format("DNSSEC policy '{}' (zones {}): signatures are refreshed when {} of "
                                            "validity remain, which does not outlast the primary outage horizon {}: "
                                            "just before a re-signing, a primary outage would let the secondaries' "
                                            "signatures expire (set rrsig_refresh above {}, rrsig_lifetime above "
                                            "rrsig_refresh)",
                                            signing.name, join_names(zones), format_duration(signing.rrsig_refresh),
                                            format_duration(horizon), format_duration(horizon)),
                     .where = signing.where});
            }
        }
    }

    void check_primary_placement() {
        const auto& primary = inventory_.primary;
        if (primary.cluster.empty()) return;
        const Cluster* primary_cluster = inventory_.find_cluster(primary.cluster);
        for (const auto& ns : inventory_.nameservers) {
            std::optional<Dimension> shared;
            std::string value;
            if (ns.cluster == primary.cluster) {
                shared = Dimension::cluster;
                value = ns.cluster;
            } else if (const Cluster* ns_cluster = inventory_.find_cluster(ns.cluster);
                       primary_cluster != nullptr && ns_cluster != nullptr && !primary_cluster->datacenter.empty() &&
                       ns_cluster->datacenter == primary_cluster->datacenter) {
                shared = Dimension::datacenter;
                value = ns_cluster->datacenter;
            }
            if (!shared) continue;
            add({.rule = PolicyRule::primary_colocated,
                 .severity = Severity::warning,
                 .dimension = shared,
                 .nameservers = {ns.fqdn},
                 .basis = {"operator practice"},
                 .message = fmt::format("the hidden primary {} shares {} {} with {}: one failure there takes down "
                                        "the signer and a public nameserver at once",
                                        primary.fqdn.str(), describe_dimension(*shared, policy_), value,
                                        ns.fqdn.str()),
                 .where = primary.where});
        }
    }

    PolicyRow make_row(Dimension dimension, const Groups& groups) const {
        PolicyRow row;
        row.dimension = dimension;
        row.title = describe_dimension(dimension, policy_);
        row.distinct_required = distinct_required(dimension);
        for (const auto& [key, group] : groups) {
            DimensionValue value{group.label, {}, survivors_after_losing(dimension, group)};
            for (const auto* ns : group.members) value.nameservers.push_back(ns->fqdn);
            if (value.nameservers.size() > 1) row.distinct_ok = false;
            row.values.push_back(std::move(value));
        }
        for (const auto& ns : inventory_.nameservers) {
            if (!value_of(inventory_, ns, dimension)) row.unknown.push_back(ns.fqdn);
        }
        auto badness = [](const Survivors& s) { return std::pair(std::min(s.ipv4, s.ipv6), s.ipv4 + s.ipv6); };
        for (const auto& value : row.values) {
            if (!row.worst_loss || badness(value.survivors) < badness(row.worst_loss->survivors)) {
                row.worst_loss = value;
            }
        }
        row.survives_loss = report_.reachable.ipv4 >= policy_.min_surviving &&
                            report_.reachable.ipv6 >= policy_.min_surviving;
        for (const auto& value : row.values) {
            if (value.survivors.ipv4 < policy_.min_surviving || value.survivors.ipv6 < policy_.min_surviving) {
                row.survives_loss = false;
            }
        }
        if (dimension == Dimension::software) {
            row.enough_values = static_cast<int>(row.values.size()) >= policy_.min_softwares;
        }
        bool ok = row.survives_loss && row.enough_values && (!row.distinct_required || row.distinct_ok);
        row.verdict = ok ? Verdict::pass : Verdict::fail;
        return row;
    }

    const Groups& groups_of(Dimension dimension) const {
        for (const auto& [d, groups] : groups_) {
            if (d == dimension) return groups;
        }
        static const Groups kEmpty;
        return kEmpty;
    }

    const Inventory& inventory_;
    const DiversityPolicy& policy_;
    std::vector<std::pair<Dimension, Groups>> groups_;
    PolicyReport report_;
};

}  // namespace

PolicyReport check_policy(const Inventory& inventory) { return PolicyChecker(inventory).run(); }

}  // namespace dnsctl
