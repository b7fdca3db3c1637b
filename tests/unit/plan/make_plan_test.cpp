#include <catch2/catch.hpp>

#include <algorithm>

#include "plan/address.hpp"
#include "plan/render.hpp"
#include "unit/plan/estate_fixture.hpp"

using namespace dnsctl;
using namespace dnsctl::test;

namespace {

std::vector<std::string> kinds(const ResourceChange& change) {
    std::vector<std::string> out;
    for (const auto& step : change.steps) out.emplace_back(step_kind(step));
    return out;
}

const ConfigureStep& configure_step(const ResourceChange& change) {
    for (const auto& step : change.steps) {
        if (const auto* s = std::get_if<ConfigureStep>(&step)) return *s;
    }
    FAIL("no configure step in " << change.address);
    throw std::logic_error("unreachable");
}

std::vector<std::string> actions(const ResourceChange& change) {
    std::vector<std::string> out;
    for (auto a : change.actions) out.emplace_back(to_string(a));
    return out;
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("make_plan: empty clusters plan five creates with the primary first", "[plan]") {
    Estate estate;
    auto plan = estate.plan();
    REQUIRE(plan.errors.empty());
    REQUIRE(plan.complete());
    REQUIRE(plan.changes.size() == 5);
    CHECK(plan.changes[0].address == "vm[pa5/110]");
    CHECK(plan.changes[0].role == VmRole::primary);
    CHECK(plan.changes[1].address == "vm[th2/101]");
    CHECK(plan.changes[4].address == "vm[pa3/104]");
    for (const auto& change : plan.changes) {
        CHECK(actions(change) == Strings{"create"});
        CHECK(change.action_reason == "create_because_absent");
        CHECK_FALSE(change.before);
        CHECK(kinds(change) == Strings{"clone", "wait_task", "confirm_unlocked", "configure", "verify_cloudinit",
                                       "resize_disk", "wait_task", "start", "wait_task"});
        CHECK_FALSE(change.touches_in_service_nameserver);
    }
    auto summary = plan.summary();
    CHECK(summary.add == 5);
    CHECK(summary.change == 0);
    CHECK(summary.destroy == 0);
    CHECK(plan.applyable());
}

TEST_CASE("make_plan: create clones the template fully with the marker and configures everything", "[plan]") {
    Estate estate;
    auto plan = estate.plan();
    const auto* change = plan.find("vm[th2/101]");
    REQUIRE(change);
    const auto& clone = std::get<CloneStep>(change->steps[0]);
    CHECK(clone.node == "pve-th2");
    CHECK(clone.source == Vmid{9000});
    CHECK(clone.request.newid == Vmid{101});
    CHECK(clone.request.full);
    CHECK(clone.request.storage == std::optional<std::string>("local-lvm"));
    CHECK(clone.request.name == "ns-ipset.rdem-systems.eu");
    CHECK(clone.request.description == "managed-by: dnsctl estate=rdem-prod");
    CHECK(std::get<WaitTaskStep>(change->steps[1]).step == 0);

    const auto& set = configure_step(*change).update.set;
    CHECK(set.at("cores") == "2");
    CHECK(set.at("memory") == "2048");
    CHECK(set.at("net0") == "virtio,bridge=vmbr0,tag=53,firewall=1");  // template options kept, its MAC not
    CHECK(set.at("ipconfig0") == "ip=198.51.100.53/24,gw=198.51.100.1,ip6=2001:db8:1::53/64,gw6=2001:db8:1::1");
    CHECK(set.at("nameserver") == "2001:db8:53::53 198.51.100.2");
    CHECK(set.at("searchdomain") == "rdem-systems.eu");
    CHECK(set.at("ciuser") == "dnsctl");
    CHECK(set.at("tags") == "dns-public;dnsctl");
    CHECK(set.at("agent") == "1");
    CHECK(set.at("onboot") == "1");
    CHECK(set.at("sshkeys") == percent_encode(std::string(kDnsctlKey) + "\n" + kOperatorKey));
    CHECK(set.at("sshkeys").find(' ') == std::string::npos);
    CHECK(set.at("description").starts_with("managed-by: dnsctl estate=rdem-prod\ndnsctl-config: sha256:"));
    CHECK_FALSE(configure_step(*change).update.digest);

    // Where the template's device already matches, the clone keeps its MAC.
    const auto* same_net = plan.find("vm[pa4/102]");
    CHECK_FALSE(configure_step(*same_net).update.set.contains("net0"));

    const auto& resize = std::get<ResizeDiskStep>(change->steps[5]);
    CHECK(resize.disk == "scsi0");
    CHECK(resize.size == "20G");
    CHECK(std::get<WaitTaskStep>(change->steps[6]).step == 5);
}

TEST_CASE("make_plan: apply, then plan again shows nothing", "[plan]") {
    Estate estate;
    auto first = estate.plan();
    REQUIRE(run_steps(first, estate));
    auto second = estate.plan();
    CHECK(second.errors.empty());
    CHECK(second.warnings.empty());
    CHECK_FALSE(second.has_changes());
    CHECK_FALSE(second.applyable());
    CHECK(second.changes.size() == 5);
    for (const auto& change : second.changes) CHECK(change.is_no_op());
    CHECK(render_text(second) == "No changes. Your estate matches the inventory.\n");
    // The VMs really hold what was asked for.
    auto vm = estate.cluster("th2").vm(Vmid{101});
    REQUIRE(vm);
    CHECK(vm->status == "running");
    CHECK(vm->config.at("tags") == "dns-public;dnsctl");
    CHECK(vm->config.at("scsi0") == "local-lvm:base-9000-disk-0,size=20G");
    CHECK(vm->config.at("net0").find("firewall=1") != std::string::npos);
}

TEST_CASE("make_plan: PVE's rewriting of values never reads as a change", "[plan]") {
    Estate estate;
    converge(estate);
    auto& th2 = estate.cluster("th2");
    auto vm = th2.vm(Vmid{101}).value();
    // What another PVE version or the GUI may store for the same settings.
    auto sshkeys = vm.config.at("sshkeys");
    std::string lower_hex;
    for (std::size_t i = 0; i < sshkeys.size(); ++i) {
        lower_hex.push_back(i > 0 && (sshkeys[i - 1] == '%' || (i > 1 && sshkeys[i - 2] == '%'))
                                ? static_cast<char>(std::tolower(static_cast<unsigned char>(sshkeys[i])))
                                : sshkeys[i]);
    }
    REQUIRE(lower_hex != sshkeys);
    th2.edit_config(Vmid{101}, "sshkeys", lower_hex + "%0A");
    th2.edit_config(Vmid{101}, "memory", "current=2048");
    th2.edit_config(Vmid{101}, "net0", "virtio=02:00:00:00:00:99,bridge=vmbr0,tag=53,firewall=1");
    th2.edit_config(Vmid{101}, "tags", "DNSCTL,dns-public");
    th2.edit_config(Vmid{101}, "agent", "enabled=1,fstrim_cloned_disks=1");
    th2.edit_config(Vmid{101}, "ipconfig0",
                    "gw6=2001:0db8:1:0::1,ip6=2001:db8:1:0:0:0:0:53/64,gw=198.51.100.1,ip=198.51.100.53/24");
    th2.edit_config(Vmid{101}, "searchdomain", "rdem-systems.eu.");
    th2.edit_config(Vmid{101}, "scsi0", "local-lvm:base-9000-disk-0,size=20480M");
    auto plan = estate.plan();
    const auto* change = plan.find("vm[th2/101]");
    REQUIRE(change);
    CHECK(change->is_no_op());
    CHECK(change->changed_attributes().empty());
}

TEST_CASE("make_plan: an inventory change updates in place and says what changed", "[plan]") {
    Estate estate;
    converge(estate);
    estate.inventory.nameservers[1].resources.cores = 4;
    auto plan = estate.plan();
    REQUIRE(plan.errors.empty());
    auto summary = plan.summary();
    CHECK(summary.change == 1);
    CHECK(summary.add == 0);
    const auto* change = plan.find("vm[pa4/102]");
    REQUIRE(change);
    CHECK(actions(*change) == Strings{"update"});
    CHECK(change->action_reason == "update_because_inventory_changed");
    CHECK(change->reason == "inventory: cores 2 -> 4");
    CHECK(change->changed_attributes() == Strings{"cores"});
    CHECK(change->restart_needed);
    CHECK(change->touches_in_service_nameserver);
    CHECK(kinds(*change) ==
          Strings{"shutdown", "wait_task", "configure", "verify_cloudinit", "start", "wait_task"});
    const auto& set = configure_step(*change).update.set;
    CHECK(set.size() == 2);
    CHECK(set.at("cores") == "4");
    CHECK(set.contains("description"));
    // Applying it converges.
    REQUIRE(run_steps(plan, estate));
    CHECK_FALSE(estate.plan().has_changes());
}

TEST_CASE("make_plan: a hot change on a running VM needs no restart", "[plan]") {
    Estate estate;
    converge(estate);
    estate.inventory.clusters[0].vlan = 54;  // th2: net0 tag, hot-pluggable
    auto plan = estate.plan();
    const auto* change = plan.find("vm[th2/101]");
    REQUIRE(change);
    CHECK(actions(*change) == Strings{"update"});
    CHECK_FALSE(change->restart_needed);
    CHECK_FALSE(change->touches_in_service_nameserver);
    CHECK(kinds(*change) == Strings{"configure"});
    const auto& update = configure_step(*change).update;
    // The MAC Proxmox assigned and the unmanaged option survive.
    auto mac = NetDevice::parse(estate.cluster("th2").vm(Vmid{101})->config.at("net0")).mac;
    REQUIRE(mac);
    CHECK(update.set.at("net0") == "virtio=" + *mac + ",bridge=vmbr0,tag=54,firewall=1");
    CHECK(update.digest == FakeProxmoxApi::config_digest(estate.cluster("th2").vm(Vmid{101})->config));
    REQUIRE(run_steps(plan, estate));
    CHECK_FALSE(estate.plan().has_changes());
    CHECK(NetDevice::parse(estate.cluster("th2").vm(Vmid{101})->config.at("net0")).mac == mac);
}

TEST_CASE("make_plan: a change made behind dnsctl's back is drift and is corrected", "[plan]") {
    Estate estate;
    converge(estate);
    estate.cluster("pa4").edit_config(Vmid{102}, "cores", "1");
    estate.cluster("pa4").edit_config(Vmid{102}, "onboot", "0");
    auto plan = estate.plan();
    const auto* change = plan.find("vm[pa4/102]");
    REQUIRE(change);
    CHECK(actions(*change) == Strings{"update"});
    CHECK(change->action_reason == "update_because_drift");
    CHECK(change->reason == "drift: changed outside dnsctl (cores, onboot)");
    CHECK(change->before->at("cores") == "1");
    CHECK(change->after->at("cores") == "2");
    REQUIRE(run_steps(plan, estate));
    CHECK_FALSE(estate.plan().has_changes());
}

TEST_CASE("make_plan: a MAC changed outside dnsctl is never a change", "[plan]") {
    Estate estate;
    converge(estate);
    estate.cluster("pa3").edit_config(Vmid{104}, "net0", "virtio=02:AB:CD:EF:00:01,bridge=vmbr0,tag=153,firewall=1");
    auto plan = estate.plan();
    CHECK(plan.find("vm[pa3/104]")->is_no_op());
}

TEST_CASE("make_plan: a create interrupted after the clone is finished, not recreated", "[plan]") {
    Estate estate;
    auto plan = estate.plan();
    // Only the clone of vm[pa3/104] happened.
    const auto* change = plan.find("vm[pa3/104]");
    const auto& clone = std::get<CloneStep>(change->steps[0]);
    REQUIRE(estate.cluster("pa3").clone(clone.node, clone.source, clone.request));
    auto replan = estate.plan();
    const auto* again = replan.find("vm[pa3/104]");
    REQUIRE(again);
    CHECK(actions(*again) == Strings{"update", "start"});
    CHECK(again->action_reason == "update_because_unfinished");
    CHECK(again->reason.starts_with("unfinished:"));
    CHECK(kinds(*again) ==
          Strings{"configure", "resize_disk", "wait_task", "verify_cloudinit", "start", "wait_task"});
}

TEST_CASE("make_plan: a stopped VM is started", "[plan]") {
    Estate estate;
    converge(estate);
    auto& pa3 = estate.cluster("pa3");
    REQUIRE(pa3.stop("pve-pa3", Vmid{104}));
    auto plan = estate.plan();
    const auto* change = plan.find("vm[pa3/104]");
    CHECK(actions(*change) == Strings{"start"});
    CHECK(change->action_reason == "start_because_stopped");
    CHECK(kinds(*change) == Strings{"start", "wait_task"});
    CHECK(change->changed_attributes() == Strings{"status"});
    CHECK(plan.summary().change == 1);
    REQUIRE(run_steps(plan, estate));
    CHECK_FALSE(estate.plan().has_changes());
}

TEST_CASE("make_plan: a VMID taken by a VM without the marker is a conflict, never adopted", "[plan]") {
    Estate estate;
    FakeVm foreign;
    foreign.node = "pve-th2";
    foreign.status = "running";
    foreign.config = {{"name", "customer-web"}, {"cores", "2"}, {"tags", "dnsctl"}};
    estate.cluster("th2").put_vm(Vmid{101}, foreign);
    auto plan = estate.plan();
    REQUIRE(plan.errors.size() == 1);
    CHECK(plan.errors[0].address == "vm[th2/101]");
    CHECK_THAT(plan.errors[0].message, Catch::Contains("conflict: VMID 101 on cluster th2 is taken by 'customer-web'") &&
                                           Catch::Contains("never adopts"));
    CHECK(plan.find("vm[th2/101]") == nullptr);
    CHECK_FALSE(plan.applyable());
    CHECK(plan.summary().add == 4);
}

TEST_CASE("make_plan: another estate's VM at an inventory VMID is a conflict", "[plan]") {
    Estate estate;
    FakeVm other;
    other.node = "pve-th2";
    other.config = {{"name", "ns1.other.example"}, {"tags", "dnsctl;dns-public"},
                    {"description", "managed-by: dnsctl estate=staging"}};
    estate.cluster("th2").put_vm(Vmid{101}, other);
    auto plan = estate.plan();
    REQUIRE(plan.errors.size() == 1);
    CHECK_THAT(plan.errors[0].message, Catch::Contains("belongs to dnsctl estate 'staging', not 'rdem-prod'"));
}

TEST_CASE("make_plan: a template at an inventory VMID is a conflict", "[plan]") {
    Estate estate;
    estate.cluster("th2").put_vm(Vmid{101}, template_vm("pve-th2"));
    auto plan = estate.plan();
    REQUIRE(plan.errors.size() == 1);
    CHECK_THAT(plan.errors[0].message, Catch::Contains("is a template"));
}

TEST_CASE("make_plan: a container at an inventory VMID is a conflict naming it, not an absent VM", "[plan]") {
    Estate estate;
    FakeVm container;
    container.type = "lxc";
    container.node = "pve-th2";
    container.status = "running";
    container.config = {{"name", "customer-ct"}};
    estate.cluster("th2").put_vm(Vmid{101}, container);
    auto plan = estate.plan();
    CHECK(plan.complete());
    REQUIRE(plan.errors.size() == 1);
    CHECK(plan.errors[0].address == "vm[th2/101]");
    CHECK_THAT(plan.errors[0].message,
               Catch::Contains("conflict: VMID 101 on cluster th2 is taken by the container (lxc) 'customer-ct' on "
                               "node pve-th2") &&
                   Catch::Contains("never adopts"));
    CHECK(plan.find("vm[th2/101]") == nullptr);
    CHECK_FALSE(plan.applyable());
    CHECK(plan.summary().add == 4);
}

TEST_CASE("make_plan: a container is never taken for an owned VM that left the inventory", "[plan]") {
    Estate estate;
    converge(estate);
    FakeVm container;
    container.type = "lxc";
    container.node = "pve-th2";
    container.status = "stopped";
    container.config = {{"name", "ct.rdem-systems.eu"}, {"tags", "dnsctl"},
                        {"description", "managed-by: dnsctl estate=rdem-prod"}};
    estate.cluster("th2").put_vm(Vmid{150}, container);
    auto options = estate.options();
    options.allow_destroy = true;
    auto plan = estate.plan(options);
    CHECK(plan.complete());
    CHECK_FALSE(plan.has_changes());
    CHECK(plan.errors.empty());
}

TEST_CASE("make_plan: a clone never configured is found and destroyed once its VMID left the inventory",
          "[plan]") {
    Estate estate;
    converge(estate);
    // An earlier run cloned VMID 150 for a nameserver, then was cut before
    // configuring it: the marker is there, the tag dnsctl is not. Since then
    // the nameserver left the inventory.
    auto& th2 = estate.cluster("th2");
    CloneRequest request;
    request.newid = Vmid{150};
    request.name = "ns-old.rdem-systems.eu";
    request.description = "managed-by: dnsctl estate=rdem-prod";
    request.full = true;
    REQUIRE(th2.clone("pve-th2", Vmid{9000}, request));
    REQUIRE(th2.vm(Vmid{150}));
    REQUIRE(th2.vm(Vmid{150})->config.count("tags") == 0);

    auto plan = estate.plan();
    CHECK_FALSE(plan.has_changes());
    REQUIRE(plan.warnings.size() == 1);
    CHECK(plan.warnings[0].address == "vm[th2/150]");
    CHECK_THAT(plan.warnings[0].message, Catch::Contains("'ns-old.rdem-systems.eu' is owned by this estate but no "
                                                         "longer in the inventory"));

    auto options = estate.options();
    options.allow_destroy = true;
    auto destroy = estate.plan(options);
    REQUIRE(destroy.errors.empty());
    const auto* change = destroy.find("vm[th2/150]");
    REQUIRE(change);
    CHECK(actions(*change) == Strings{"delete"});
    CHECK(change->action_reason == "delete_because_not_in_inventory");
    REQUIRE(run_steps(destroy, estate));
    CHECK_FALSE(th2.vm(Vmid{150}));
    CHECK_FALSE(estate.plan(options).has_changes());
}

TEST_CASE("make_plan: a clone still running is waited for, never cloned twice", "[plan]") {
    Estate estate;
    auto& pa4 = estate.cluster("pa4");
    pa4.set_clone_in_flight(true);
    auto first = estate.plan();
    const auto* create = first.find("vm[pa4/102]");
    const auto& clone = std::get<CloneStep>(create->steps[0]);
    REQUIRE(pa4.clone(clone.node, clone.source, clone.request));

    auto plan = estate.plan();
    const auto* change = plan.find("vm[pa4/102]");
    REQUIRE(change);
    CHECK(actions(*change) == Strings{"wait"});
    CHECK(change->action_reason == "wait_because_in_flight");
    CHECK_THAT(change->reason, Catch::Contains("lock: clone"));
    REQUIRE(change->steps.size() == 1);
    const auto& wait = std::get<WaitIdleStep>(change->steps[0]);
    CHECK(wait.lock == std::optional<std::string>("clone"));
    CHECK(wait.node == "pve-pa4");
    CHECK(plan.errors.empty());
    for (const auto& c : plan.changes) {
        for (const auto& step : c.steps) CHECK_FALSE((c.cluster == "pa4" && std::holds_alternative<CloneStep>(step)));
    }
    CHECK(plan.summary().wait == 1);
    CHECK(plan.applyable());

    pa4.finish_tasks();
    auto replan = estate.plan();
    const auto* after = replan.find("vm[pa4/102]");
    CHECK(actions(*after) == Strings{"update", "start"});
    CHECK(after->action_reason == "update_because_unfinished");
}

TEST_CASE("make_plan: an owned VM with a running task and pending changes is waited for", "[plan]") {
    Estate estate;
    converge(estate);
    auto& pa4 = estate.cluster("pa4");
    auto vm = pa4.vm(Vmid{102}).value();
    vm.config["lock"] = "backup";
    pa4.put_vm(Vmid{102}, vm);
    // Locked but nothing to change: nothing to do.
    auto quiet = estate.plan();
    CHECK(quiet.find("vm[pa4/102]")->is_no_op());
    estate.inventory.nameservers[1].resources.memory_mib = 4096;
    auto plan = estate.plan();
    const auto* change = plan.find("vm[pa4/102]");
    CHECK(actions(*change) == Strings{"wait"});
    CHECK_THAT(change->reason, Catch::Contains("locked (backup)"));
}

TEST_CASE("make_plan: shrinking a disk is an error, --allow-replace or --replace rebuilds", "[plan]") {
    Estate estate;
    converge(estate);
    estate.inventory.nameservers[2].resources.disk_gib = 10;  // pa5/103 has 20G
    auto plan = estate.plan();
    REQUIRE(plan.errors.size() == 1);
    CHECK(plan.errors[0].address == "vm[pa5/103]");
    CHECK_THAT(plan.errors[0].message, Catch::Contains("scsi0 is 20G but the inventory asks for 10G") &&
                                           Catch::Contains("--replace vm[pa5/103]"));
    CHECK(plan.find("vm[pa5/103]") == nullptr);
    CHECK_FALSE(plan.applyable());

    for (bool by_flag : {true, false}) {
        auto options = estate.options();
        if (by_flag) {
            options.allow_replace = true;
        } else {
            options.replace.insert("vm[pa5/103]");
        }
        auto replaced = estate.plan(options);
        REQUIRE(replaced.errors.empty());
        const auto* change = replaced.find("vm[pa5/103]");
        REQUIRE(change);
        CHECK(actions(*change) == Strings{"delete", "create"});
        CHECK(change->action_reason == (by_flag ? "replace_because_cannot_update" : "replace_by_request"));
        CHECK(change->touches_in_service_nameserver);
        CHECK(kinds(*change) == Strings{"stop", "wait_task", "destroy", "wait_task", "confirm_absent", "clone",
                                        "wait_task", "confirm_unlocked", "configure", "verify_cloudinit",
                                        "resize_disk", "wait_task", "start", "wait_task"});
        CHECK(std::get<WaitTaskStep>(change->steps[6]).step == 5);
        auto summary = replaced.summary();
        CHECK(summary.add == 1);
        CHECK(summary.destroy == 1);
        CHECK(summary.change == 0);
    }
}

TEST_CASE("make_plan: --replace rebuilds a converged VM and the estate converges again", "[plan]") {
    Estate estate;
    converge(estate);
    auto options = estate.options();
    options.replace.insert("vm[pa3/0104]");  // any spelling of the address
    auto plan = estate.plan(options);
    REQUIRE(plan.errors.empty());
    CHECK(actions(*plan.find("vm[pa3/104]")) == Strings{"delete", "create"});
    REQUIRE(run_steps(plan, estate));
    CHECK_FALSE(estate.plan().has_changes());
}

TEST_CASE("make_plan: replacing the hidden primary is refused", "[plan]") {
    Estate estate;
    converge(estate);
    auto options = estate.options();
    options.replace.insert("vm[pa5/110]");
    options.allow_replace = true;
    auto plan = estate.plan(options);
    REQUIRE(plan.errors.size() == 1);
    CHECK(plan.errors[0].address == "vm[pa5/110]");
    CHECK_THAT(plan.errors[0].message, Catch::Contains("refusing to replace the hidden primary"));
    CHECK(plan.find("vm[pa5/110]") == nullptr);
}

TEST_CASE("make_plan: --replace of an address outside the inventory is an error", "[plan]") {
    Estate estate;
    auto options = estate.options();
    options.replace = {"vm[th2/999]", "ns1"};
    auto plan = estate.plan(options);
    REQUIRE(plan.errors.size() == 2);
    CHECK(plan.errors[0].address == "ns1");
    CHECK_THAT(plan.errors[0].message, Catch::Contains("not a VM address"));
    CHECK_THAT(plan.errors[1].message, Catch::Contains("not in the inventory"));
}

TEST_CASE("make_plan: an owned VM that left the inventory is destroyed only with --allow-destroy", "[plan]") {
    Estate estate;
    converge(estate);
    // The NS on pa3 is retired: out of the inventory and out of every zone.
    estate.inventory.nameservers.pop_back();
    estate.inventory.zones[0].facts->apex_ns.erase(
        std::remove(estate.inventory.zones[0].facts->apex_ns.begin(), estate.inventory.zones[0].facts->apex_ns.end(),
                    DnsName::parse("ns-ielo.rdem-systems.net").value()),
        estate.inventory.zones[0].facts->apex_ns.end());

    auto plan = estate.plan();
    CHECK_FALSE(plan.has_changes());
    REQUIRE(plan.warnings.size() == 1);
    CHECK(plan.warnings[0].address == "vm[pa3/104]");
    CHECK_THAT(plan.warnings[0].message, Catch::Contains("--allow-destroy"));

    auto options = estate.options();
    options.allow_destroy = true;
    auto destroy = estate.plan(options);
    REQUIRE(destroy.errors.empty());
    const auto* change = destroy.find("vm[pa3/104]");
    REQUIRE(change);
    CHECK(actions(*change) == Strings{"delete"});
    CHECK(change->action_reason == "delete_because_not_in_inventory");
    CHECK(change->role == VmRole::public_nameserver);
    CHECK(change->name == "ns-ielo.rdem-systems.net");
    CHECK_FALSE(change->after);
    CHECK(kinds(*change) == Strings{"stop", "wait_task", "destroy", "wait_task", "confirm_absent"});
    CHECK(destroy.summary().destroy == 1);
    REQUIRE(run_steps(destroy, estate));
    CHECK_FALSE(estate.cluster("pa3").vm(Vmid{104}));
    auto after = estate.plan(options);
    CHECK_FALSE(after.has_changes());
    CHECK(after.warnings.empty());
}

TEST_CASE("make_plan: a VM still named in a zone's NS RRset is never destroyed", "[plan]") {
    Estate estate;
    converge(estate);
    estate.inventory.nameservers.pop_back();  // still in the zone's NS RRset
    auto options = estate.options();
    options.allow_destroy = true;
    auto plan = estate.plan(options);
    REQUIRE(plan.errors.size() == 1);
    CHECK(plan.errors[0].address == "vm[pa3/104]");
    CHECK_THAT(plan.errors[0].message, Catch::Contains("still in the NS RRset of rdem-systems.eu"));
    CHECK(plan.find("vm[pa3/104]") == nullptr);
}

TEST_CASE("make_plan: the hidden primary's old VM is never destroyed", "[plan]") {
    Estate estate;
    converge(estate);
    estate.inventory.primary.vmid = Vmid{111};  // moved: the old VM is no longer in the inventory
    auto options = estate.options();
    options.allow_destroy = true;
    auto plan = estate.plan(options);
    REQUIRE(plan.errors.size() == 1);
    CHECK(plan.errors[0].address == "vm[pa5/110]");
    CHECK_THAT(plan.errors[0].message, Catch::Contains("hidden primary"));
}

TEST_CASE("make_plan: VMs of other estates and untagged VMs are left alone", "[plan]") {
    Estate estate;
    converge(estate);
    FakeVm other;
    other.node = "pve-th2";
    other.status = "running";
    other.config = {{"name", "ns9.other.example"}, {"tags", "dnsctl"},
                    {"description", "managed-by: dnsctl estate=staging"}};
    estate.cluster("th2").put_vm(Vmid{201}, other);
    FakeVm plain;
    plain.node = "pve-th2";
    plain.config = {{"name", "web"}};
    estate.cluster("th2").put_vm(Vmid{202}, plain);
    auto options = estate.options();
    options.allow_destroy = true;
    auto plan = estate.plan(options);
    CHECK_FALSE(plan.has_changes());
    CHECK(plan.errors.empty());
    CHECK(plan.warnings.empty());
}

TEST_CASE("make_plan: an unreachable node makes its cluster incomplete, never absent", "[plan]") {
    Estate estate;
    converge(estate);
    estate.cluster("pa4").set_node_reachable("pve-pa4", false);
    auto plan = estate.plan();
    CHECK_FALSE(plan.complete());
    CHECK_FALSE(plan.applyable());
    REQUIRE(plan.incomplete.size() == 1);
    CHECK(plan.incomplete[0].cluster == "pa4");
    CHECK(plan.incomplete[0].unplanned == Strings{"vm[pa4/102]"});
    CHECK_FALSE(plan.incomplete[0].reasons.empty());
    CHECK(plan.find("vm[pa4/102]") == nullptr);
    CHECK_FALSE(plan.has_changes());
    CHECK(plan.summary().add == 0);
}

TEST_CASE("make_plan: an incomplete cluster gets no creates, even for missing VMs", "[plan]") {
    Estate estate;
    estate.cluster("pa4").fail_always(ProxmoxMethod::list_vms,
                                      Error{ErrorKind::unavailable, "503 Service Unavailable", false});
    auto plan = estate.plan();
    CHECK(plan.summary().add == 4);
    CHECK(plan.find("vm[pa4/102]") == nullptr);
    REQUIRE(plan.incomplete.size() == 1);
    CHECK(plan.incomplete[0].unplanned == Strings{"vm[pa4/102]"});
    CHECK_FALSE(plan.applyable());
}

TEST_CASE("make_plan: template problems stop the create with a clear error", "[plan]") {
    SECTION("missing") {
        Estate estate;
        estate.cluster("th2").remove_vm(Vmid{9000});
        auto plan = estate.plan();
        REQUIRE(plan.errors.size() == 1);
        CHECK_THAT(plan.errors[0].message, Catch::Contains("template VMID 9000 is not on cluster th2") &&
                                               Catch::Contains("VM.Audit"));
    }
    SECTION("not a template") {
        Estate estate;
        auto vm = template_vm("pve-th2");
        vm.is_template = false;
        estate.cluster("th2").put_vm(Vmid{9000}, vm);
        CHECK_THAT(estate.plan().errors.at(0).message, Catch::Contains("is not a template"));
    }
    SECTION("on another node") {
        Estate estate;
        estate.cluster("th2").add_node("pve-th2b");
        estate.cluster("th2").put_vm(Vmid{9000}, template_vm("pve-th2b"));
        CHECK_THAT(estate.plan().errors.at(0).message, Catch::Contains("template 9000 is on node pve-th2b"));
    }
    SECTION("without a cloud-init drive") {
        Estate estate;
        auto vm = template_vm("pve-th2");
        vm.config.erase("ide2");
        estate.cluster("th2").put_vm(Vmid{9000}, vm);
        CHECK_THAT(estate.plan().errors.at(0).message, Catch::Contains("no cloud-init drive"));
    }
    SECTION("with a disk larger than asked for") {
        Estate estate;
        auto vm = template_vm("pve-th2");
        vm.config["scsi0"] = "local-lvm:base-9000-disk-0,size=32G";
        estate.cluster("th2").put_vm(Vmid{9000}, vm);
        CHECK_THAT(estate.plan().errors.at(0).message, Catch::Contains("scsi0 is 32G, larger than the 20G"));
    }
    SECTION("the VMID of the template itself") {
        Estate estate;
        estate.inventory.nameservers[0].vmid = Vmid{9000};
        CHECK_THAT(estate.plan().errors.at(0).message, Catch::Contains("is the template of cluster th2"));
    }
}

TEST_CASE("make_plan: deterministic, and digests cover exactly the touched VMs", "[plan]") {
    Estate estate;
    converge(estate);
    estate.inventory.nameservers[1].resources.cores = 4;
    auto observed = estate.observe();
    auto a = make_plan(estate.desired(), observed, estate.options());
    auto b = make_plan(estate.desired(), observed, estate.options());
    CHECK(render_json(a) == render_json(b));
    CHECK(render_text(a) == render_text(b));
    REQUIRE(a.observed_digests.size() == 1);
    CHECK(a.observed_digests.contains("vm[pa4/102]"));
    CHECK(a.observed_digests.at("vm[pa4/102]").starts_with("sha256:"));
}

TEST_CASE("changed_digests: names the addresses whose observed state moved", "[plan]") {
    std::map<std::string, std::string> saved{{"vm[a/101]", "sha256:1"}, {"vm[a/102]", "sha256:2"},
                                             {"vm[b/103]", "sha256:3"}};
    std::map<std::string, std::string> fresh{{"vm[a/101]", "sha256:1"}, {"vm[a/102]", "sha256:9"}};
    CHECK(changed_digests(saved, fresh) == Strings{"vm[a/102]", "vm[b/103]"});
    CHECK(changed_digests(saved, saved).empty());
}
