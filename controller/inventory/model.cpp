#include "inventory/model.hpp"

#include <algorithm>

namespace dnsctl {

std::string_view to_string(Software software) {
    switch (software) {
    case Software::knot: return "knot";
    case Software::nsd: return "nsd";
    case Software::bind: return "bind";
    }
    return "knot";
}

namespace {
constexpr std::pair<Dimension, std::string_view> kDimensionNames[] = {
    {Dimension::asn, "asn"},
    {Dimension::datacenter, "datacenter"},
    {Dimension::cluster, "cluster"},
    {Dimension::tld, "tld"},
    {Dimension::registrable_domain, "registrable_domain"},
    {Dimension::ipv4_prefix, "ipv4_prefix"},
    {Dimension::ipv6_prefix, "ipv6_prefix"},
    {Dimension::software, "software"},
};
}  // namespace

std::string_view to_string(Dimension dimension) {
    for (auto [d, name] : kDimensionNames) {
        if (d == dimension) return name;
    }
    return "?";
}

std::optional<Dimension> parse_dimension(std::string_view text) {
    for (auto [d, name] : kDimensionNames) {
        if (name == text) return d;
    }
    return std::nullopt;
}

std::vector<IpAddress> Host::addresses() const {
    std::vector<IpAddress> out;
    if (ipv4) out.push_back(ipv4->address.address);
    if (ipv6) out.push_back(ipv6->address.address);
    return out;
}

const Cluster* Inventory::find_cluster(std::string_view name) const {
    auto it = std::find_if(clusters.begin(), clusters.end(), [&](const Cluster& c) { return c.name == name; });
    return it == clusters.end() ? nullptr : &*it;
}

const DnssecPolicy* Inventory::find_dnssec_policy(std::string_view name) const {
    auto it = std::find_if(dnssec_policies.begin(), dnssec_policies.end(),
                           [&](const DnssecPolicy& p) { return p.name == name; });
    return it == dnssec_policies.end() ? nullptr : &*it;
}

const Nameserver* Inventory::find_nameserver(const DnsName& fqdn) const {
    auto it = std::find_if(nameservers.begin(), nameservers.end(),
                           [&](const Nameserver& n) { return n.fqdn == fqdn; });
    return it == nameservers.end() ? nullptr : &*it;
}

std::filesystem::path Inventory::known_hosts_file() const {
    return ssh.known_hosts ? *ssh.known_hosts : state_dir / "known_hosts";
}

}  // namespace dnsctl
