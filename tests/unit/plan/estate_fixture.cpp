#include "unit/plan/estate_fixture.hpp"

#include <spdlog/sinks/null_sink.h>

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <variant>

#include "plan/vm_attributes.hpp"

namespace dnsctl::test {

namespace {

DnsName name(const char* text) { return DnsName::parse(text).value(); }
InterfaceAddress iface(const char* address, const char* gateway) {
    return {IpInterface::parse(address).value(), IpAddress::parse(gateway).value()};
}

Cluster make_cluster(const char* cluster_name, const char* datacenter, const char* node, std::optional<int> vlan) {
    Cluster c;
    c.name = cluster_name;
    c.datacenter = datacenter;
    c.api_url = "https://127.0.0.1:8006";
    c.token.id = "dnsctl@pve!dnsctl";
    c.token.secret = SecretRef{SecretRef::Kind::env, fmt::format("PVE_TOKEN_{}", cluster_name)};
    c.node = node;
    c.template_vmid = Vmid{9000};
    c.storage = "local-lvm";
    c.bridge = "vmbr0";
    c.vlan = vlan;
    return c;
}

template <class H>
H make_host(const char* fqdn, const char* cluster, std::uint32_t vmid, const char* ip4, const char* gw4,
            const char* ip6, const char* gw6) {
    H host;
    host.fqdn = name(fqdn);
    host.cluster = cluster;
    host.vmid = Vmid{vmid};
    host.ipv4 = iface(ip4, gw4);
    host.ipv6 = iface(ip6, gw6);
    return host;
}

}  // namespace

Inventory reference_inventory() {
    Inventory inv;
    inv.estate = "rdem-prod";
    inv.path = "/srv/dnsctl/inventory.yaml";
    inv.state_dir = "/srv/dnsctl/.dnsctl";
    inv.clusters = {make_cluster("th2", "Telehouse 2", "pve-th2", 53), make_cluster("pa4", "Equinix PA4", "pve-pa4", {}),
                    make_cluster("pa5", "Equinix PA5", "pve-pa5", {}), make_cluster("pa3", "Equinix PA3", "pve-pa3", 153)};
    inv.primary = make_host<PrimaryServer>("signer.rdem-systems.eu", "pa5", 110, "198.18.53.10/24", "198.18.53.1",
                                           "2001:db8:3::10/64", "2001:db8:3::1");
    inv.primary.resources = Resources{2, 4096, 40};
    auto ns1 = make_host<Nameserver>("ns-ipset.rdem-systems.eu", "th2", 101, "198.51.100.53/24", "198.51.100.1",
                                     "2001:db8:1::53/64", "2001:db8:1::1");
    ns1.asn = Asn{199275};
    auto ns2 = make_host<Nameserver>("ns-arelion.rdem-systems.fr", "pa4", 102, "203.0.113.53/24", "203.0.113.1",
                                     "2001:db8:2::53/64", "2001:db8:2::1");
    ns2.asn = Asn{1299};
    ns2.software = Software::nsd;
    auto ns3 = make_host<Nameserver>("ns-rds.rdem-systems.com", "pa5", 103, "198.18.54.53/24", "198.18.54.1",
                                     "2001:db8:3:1::53/64", "2001:db8:3:1::1");
    ns3.asn = Asn{206014};
    ns3.software = Software::bind;
    auto ns4 = make_host<Nameserver>("ns-ielo.rdem-systems.net", "pa3", 104, "198.19.53.53/24", "198.19.53.1",
                                     "2001:db8:4::53/64", "2001:db8:4::1");
    ns4.asn = Asn{29075};
    inv.nameservers = {ns1, ns2, ns3, ns4};
    Zone zone;
    zone.name = name("rdem-systems.eu");
    zone.file = "/srv/dnsctl/zones/rdem-systems.eu.zone";
    ZoneFacts facts;
    for (const auto& ns : inv.nameservers) facts.apex_ns.push_back(ns.fqdn);
    std::sort(facts.apex_ns.begin(), facts.apex_ns.end());
    zone.facts = facts;
    inv.zones = {zone};
    inv.ssh.user = "dnsctl";
    inv.ssh.key_file = "/srv/dnsctl/.dnsctl/id_ed25519";
    inv.ssh.extra_authorized_keys = {kOperatorKey};
    return inv;
}

ResolverSettings reference_resolvers() {
    ResolverSettings r;
    r.nameservers = {IpAddress::parse("2001:db8:53::53").value(), IpAddress::parse("198.51.100.2").value()};
    return r;
}

FakeVm template_vm(const std::string& node) {
    FakeVm vm;
    vm.node = node;
    vm.is_template = true;
    vm.config = {{"name", "debian-12-cloud"},
                 {"template", "1"},
                 {"cores", "1"},
                 {"memory", "1024"},
                 {"scsi0", "local-lvm:base-9000-disk-0,size=4G"},
                 {"ide2", "local-lvm:vm-9000-cloudinit,media=cdrom"},
                 {"net0", "virtio=BC:24:11:AA:00:01,bridge=vmbr0,firewall=1"},
                 {"boot", "order=scsi0"},
                 {"serial0", "socket"}};
    return vm;
}

Estate::Estate() {
    logger = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
    for (const auto& cluster : inventory.clusters) {
        auto api = std::make_unique<FakeProxmoxApi>();
        api->add_node(cluster.node);
        api->put_vm(cluster.template_vmid, template_vm(cluster.node));
        clusters.emplace(cluster.name, std::move(api));
    }
}

ClusterApis Estate::apis() {
    ClusterApis out;
    for (auto& [name, api] : clusters) out[name] = api.get();
    return out;
}

std::vector<DesiredVm> Estate::desired() const {
    return derive_desired_vms(inventory, kDnsctlKey, reference_resolvers()).value();
}

ObservedState Estate::observe() { return dnsctl::observe(inventory, apis(), *logger); }

PlanOptions Estate::options() const {
    PlanOptions options;
    options.nameserver_zones = nameserver_zones(inventory);
    return options;
}

Plan Estate::plan() { return plan(options()); }

Plan Estate::plan(const PlanOptions& options) { return make_plan(desired(), observe(), options); }

Result<void> run_steps(const Plan& plan, Estate& estate) {
    for (const auto& change : plan.changes) {
        auto& api = estate.cluster(change.cluster);
        std::vector<std::string> upids(change.steps.size());
        for (std::size_t i = 0; i < change.steps.size(); ++i) {
            const auto& step = change.steps[i];
            auto context = fmt::format("{} step {} ({})", change.address, i, step_kind(step));
            auto task = [&](Result<std::string> upid) -> Result<void> {
                if (!upid) return std::unexpected(upid.error().within(context));
                upids[i] = *upid;
                return {};
            };
            Result<void> done;
            if (const auto* s = std::get_if<CloneStep>(&step)) {
                done = task(api.clone(s->node, s->source, s->request));
            } else if (const auto* s = std::get_if<WaitTaskStep>(&step)) {
                const auto& upid = upids.at(s->step);
                auto node = upid_node(upid);
                auto status = api.task_status(node.value(), upid);
                if (!status) return std::unexpected(status.error().within(context));
                if (!status->succeeded()) return fail(ErrorKind::internal, context + ": " + status->exitstatus);
            } else if (const auto* s = std::get_if<ConfirmUnlockedStep>(&step)) {
                auto config = api.get_config(s->node, s->vmid);
                if (!config) return std::unexpected(config.error().within(context));
                if (config->contains("lock")) return fail(ErrorKind::unavailable, context + ": still locked");
            } else if (const auto* s = std::get_if<ConfigureStep>(&step)) {
                auto result = api.update_config(s->node, s->vmid, s->update);
                if (!result) return std::unexpected(result.error().within(context));
            } else if (const auto* s = std::get_if<VerifyCloudinitStep>(&step)) {
                auto entries = api.get_cloudinit(s->node, s->vmid);
                if (!entries) return std::unexpected(entries.error().within(context));
                auto problems = check_cloudinit(s->expected, *entries);
                if (!problems.empty()) return fail(ErrorKind::conflict, context + ": " + problems.front());
            } else if (const auto* s = std::get_if<ResizeDiskStep>(&step)) {
                done = task(api.resize_disk(s->node, s->vmid, s->disk, s->size));
            } else if (const auto* s = std::get_if<StartStep>(&step)) {
                done = task(api.start(s->node, s->vmid));
            } else if (const auto* s = std::get_if<ShutdownStep>(&step)) {
                done = task(api.shutdown(s->node, s->vmid, s->force_stop));
            } else if (const auto* s = std::get_if<StopStep>(&step)) {
                done = task(api.stop(s->node, s->vmid));
            } else if (const auto* s = std::get_if<DestroyStep>(&step)) {
                done = task(api.destroy(s->node, s->vmid));
            } else if (const auto* s = std::get_if<ConfirmAbsentStep>(&step)) {
                auto vms = api.list_vms();
                if (!vms) return std::unexpected(vms.error().within(context));
                for (const auto& vm : *vms) {
                    if (vm.vmid == s->vmid) return fail(ErrorKind::conflict, context + ": still listed");
                }
            } else if (std::get_if<WaitIdleStep>(&step) != nullptr) {
                return fail(ErrorKind::unavailable, context + ": work in flight (the test runner does not wait)");
            }
            if (!done) return done;
        }
    }
    return {};
}

void converge(Estate& estate) {
    auto plan = estate.plan();
    auto result = run_steps(plan, estate);
    if (!result) throw std::runtime_error(result.error().message);
}

}  // namespace dnsctl::test
