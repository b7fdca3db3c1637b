#include "inventory/load_inventory.hpp"

#include <fmt/format.h>

#include <map>
#include <set>
#include <tuple>

#include "core/input_file.hpp"
#include "inventory/inventory_schema.hpp"
#include "inventory/limits.hpp"
#include "inventory/public_suffix.hpp"
#include "inventory/yaml_document.hpp"
#include "inventory/zone_file.hpp"

namespace dnsctl {

namespace {

std::string names_list(const std::vector<std::string_view>& names) {
    std::string out;
    for (auto name : names) out += (out.empty() ? "" : ", ") + std::string(name);
    return out.empty() ? "none" : out;
}

// The checks that relate sections to each other and to files on disk; they run
// after the walk and find locations through the walker's record.
class CrossChecks {
public:
    CrossChecks(Inventory& inventory, const KeyLocations& where, Diagnostics& diagnostics,
                std::filesystem::path shown_dir)
        : inventory_(inventory), where_(where), diagnostics_(diagnostics), shown_dir_(std::move(shown_dir)) {}

    void run() {
        check_references();
        check_vmids();
        check_names_and_addresses();
        check_registrable_domains();
        check_zones();
    }

private:
    void error(const std::string& path, std::string_view message) {
        diagnostics_.error(where_.at(path), fmt::format("{}: {}", path, message));
    }

    // A host with its key path, for messages.
    struct HostRef {
        const Host* host;
        std::string path;
    };

    std::vector<HostRef> hosts() const {
        std::vector<HostRef> out;
        out.push_back({&inventory_.primary, "primary"});
        for (const auto& ns : inventory_.nameservers) {
            out.push_back({&ns, fmt::format("nameservers[{}]", ns.fqdn.str())});
        }
        return out;
    }

    void check_references() {
        std::vector<std::string_view> clusters;
        for (const auto& c : inventory_.clusters) clusters.push_back(c.name);
        for (const auto& [host, path] : hosts()) {
            if (host->cluster.empty() || inventory_.find_cluster(host->cluster) != nullptr) continue;
            std::string message = fmt::format("no cluster named '{}'", host->cluster);
            if (auto near = schema::closest_match(host->cluster, clusters)) {
                message += fmt::format("; did you mean '{}'?", *near);
            } else {
                message += fmt::format(" (clusters: {})", names_list(clusters));
            }
            error(path + ".cluster", message);
        }

        std::vector<std::string_view> policies;
        for (const auto& p : inventory_.dnssec_policies) {
            policies.push_back(p.name);
            if (p.name == "off") {
                error(fmt::format("dnssec_policies[{}]", p.name),
                      "'off' cannot name a DNSSEC policy: zones write `dnssec: off` to mean unsigned");
            }
        }
        for (const auto& zone : inventory_.zones) {
            if (!zone.dnssec || inventory_.find_dnssec_policy(*zone.dnssec) != nullptr) continue;
            std::string message = fmt::format("no DNSSEC policy named '{}'", *zone.dnssec);
            if (auto near = schema::closest_match(*zone.dnssec, policies)) {
                message += fmt::format("; did you mean '{}'?", *near);
            } else {
                message += fmt::format(" (dnssec_policies: {}; or `off` for an unsigned zone)", names_list(policies));
            }
            error(fmt::format("zones[{}].dnssec", zone.name.str()), message);
        }
    }

    void check_vmids() {
        // (cluster, vmid) -> who holds it; the template counts, it is a VM too.
        std::map<std::pair<std::string, std::uint32_t>, std::string> taken;
        for (const auto& c : inventory_.clusters) {
            if (c.template_vmid.value != 0) {
                taken.emplace(std::pair{c.name, c.template_vmid.value}, fmt::format("the template of cluster {}", c.name));
            }
        }
        for (const auto& [host, path] : hosts()) {
            if (host->vmid.value == 0 || host->cluster.empty()) continue;
            auto [it, inserted] = taken.emplace(std::pair{host->cluster, host->vmid.value}, path);
            if (inserted) continue;
            error(path + ".vmid", fmt::format("VMID {} on cluster {} is already taken by {}; each VM needs its own",
                                              host->vmid.value, host->cluster, it->second));
        }
    }

    void check_names_and_addresses() {
        const auto& primary = inventory_.primary;
        if (!primary.fqdn.empty() && inventory_.find_nameserver(primary.fqdn) != nullptr) {
            error("primary.fqdn", fmt::format("{} is also a public nameserver; the hidden primary must be a host of "
                                              "its own",
                                              primary.fqdn.str()));
        }
        std::map<IpAddress, std::string> owners;
        for (const auto& [host, path] : hosts()) {
            for (const auto& [family, address] :
                 {std::pair{"ipv4", host->ipv4}, std::pair{"ipv6", host->ipv6}}) {
                if (!address) continue;
                const IpAddress& ip = address->address.address;
                auto [it, inserted] = owners.emplace(ip, path);
                if (!inserted) {
                    error(fmt::format("{}.{}.address", path, family),
                          fmt::format("{} is already the address of {}", ip.str(), it->second));
                }
            }
        }
    }

    void check_registrable_domains() {
        for (auto& ns : inventory_.nameservers) {
            if (ns.fqdn.empty()) continue;
            if (ns.fqdn.labels().size() < 2) {
                ns.registrable_domain = ns.fqdn.str();
                error(fmt::format("nameservers[{}]", ns.fqdn.str()),
                      fmt::format("'{}' is a single label; a nameserver needs a fully qualified name such as "
                                  "ns1.example.net",
                                  ns.fqdn.str()));
            } else if (auto domain = registrable_domain(ns.fqdn)) {
                ns.registrable_domain = *domain;
            } else {
                ns.registrable_domain = ns.fqdn.str();
                error(fmt::format("nameservers[{}]", ns.fqdn.str()),
                      fmt::format("{} is itself a public suffix; a nameserver needs a name under a registrable "
                                  "domain",
                                  ns.fqdn.str()));
            }
        }
    }

    // The zone file as the operator would write it: relative to the current
    // directory when the inventory path was, absolute otherwise.
    std::string shown(const std::filesystem::path& file) const {
        auto base = inventory_.path.parent_path();
        auto relative = file.lexically_relative(base);
        if (relative.empty()) return file.string();
        return (shown_dir_ / relative).lexically_normal().string();
    }

    void check_zones() {
        std::set<DnsName> nameservers;
        for (const auto& ns : inventory_.nameservers) {
            if (!ns.fqdn.empty()) nameservers.insert(ns.fqdn);
        }
        for (auto& zone : inventory_.zones) {
            if (zone.file.empty() || zone.name.empty()) continue;
            std::string file = shown(zone.file);
            auto report = read_zone_file(zone.file, zone.name);
            if (report.unreadable) {
                std::string why = report.problems.empty() ? std::string() : report.problems.front().message;
                error(fmt::format("zones[{}].file", zone.name.str()), fmt::format("cannot read {}: {}", file, why));
                continue;
            }
            for (const auto& problem : report.problems) {
                diagnostics_.error({file, problem.line, problem.column},
                                   fmt::format("zone {}: {}", zone.name.str(), problem.message));
            }
            zone.facts = report.facts;
            if (!zone.facts) continue;
            compare_apex_ns(zone, file, nameservers);
        }
    }

    void compare_apex_ns(const Zone& zone, const std::string& file, const std::set<DnsName>& nameservers) {
        std::string path = fmt::format("zones[{}]", zone.name.str());
        const auto& apex = zone.facts->apex_ns;
        std::set<DnsName> listed(apex.begin(), apex.end());
        const DnsName& primary = inventory_.primary.fqdn;

        std::vector<std::string_view> missing;
        for (const auto& ns : nameservers) {
            if (!listed.contains(ns)) missing.push_back(ns.str());
        }
        std::vector<std::string_view> extra;
        for (const auto& name : listed) {
            if (!nameservers.contains(name) && name != primary) extra.push_back(name.str());
        }
        if (!missing.empty()) {
            error(path, fmt::format("the apex NS RRset of {} lacks {}: every nameserver of the inventory serves "
                                    "every zone",
                                    file, names_list(missing)));
        }
        if (!extra.empty()) {
            error(path, fmt::format("the apex NS RRset of {} lists {}, not a nameserver of the inventory", file,
                                    names_list(extra)));
        }
        if (!primary.empty() && listed.contains(primary)) {
            error(path, fmt::format("the apex NS RRset of {} lists the hidden primary {}; a hidden primary is in "
                                    "no NS RRset",
                                    file, primary.str()));
        }
    }

    Inventory& inventory_;
    const KeyLocations& where_;
    Diagnostics& diagnostics_;
    std::filesystem::path shown_dir_;
};

}  // namespace

LoadedInventory load_inventory(const std::filesystem::path& path) {
    LoadedInventory out;
    Inventory& inventory = out.inventory;
    Diagnostics& diagnostics = out.diagnostics;
    const std::string shown = path.string();

    std::error_code ec;
    auto absolute = std::filesystem::absolute(path, ec);
    inventory.path = (ec ? path : absolute).lexically_normal();

    auto text = read_input_file(path, limits::kInventoryBytes);
    if (!text) {
        // A file too large has a first line to point at; one that cannot be
        // opened (or is no file) has none.
        bool opened = text.error().message.find("more than the limit") != std::string::npos;
        diagnostics.error({shown, opened ? 1 : 0, opened ? 1 : 0},
                          fmt::format("cannot read the inventory: {}", text.error().message));
        return out;
    }

    auto document = parse_yaml_document(*text, shown, diagnostics);
    if (!document) return out;
    if (document->kind == DocNode::Kind::null) {
        diagnostics.error({shown, 1, 1}, "the inventory is empty; it starts with `version: 1`");
        return out;
    }

    schema::Walker walker(diagnostics, inventory.path.parent_path(), SourceLocation{shown, 1, 1});
    walker.walk(*document, inventory_schema(), inventory);
    CrossChecks(inventory, walker.locations(), diagnostics, path.parent_path()).run();
    out.locations = walker.locations();
    diagnostics.sort();
    return out;
}

}  // namespace dnsctl
