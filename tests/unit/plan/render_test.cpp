#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "plan/render.hpp"
#include "plan/saved_plan.hpp"
#include "unit/plan/estate_fixture.hpp"

using namespace dnsctl;
using namespace dnsctl::test;

namespace {

// Compares with tests/data/golden/<file>; DNSCTL_UPDATE_GOLDEN=1 rewrites the
// file instead (review the diff before committing it).
void check_golden(const std::string& file, const std::string& actual) {
    auto path = std::filesystem::path(DNSCTL_TEST_DATA) / "golden" / file;
    if (const char* update = std::getenv("DNSCTL_UPDATE_GOLDEN"); update != nullptr && std::string(update) == "1") {
        std::ofstream out(path, std::ios::binary);
        out << actual;
        REQUIRE(out.good());
        WARN("rewrote " << path.string());
        return;
    }
    std::ifstream in(path, std::ios::binary);
    INFO("golden file " << path.string() << " (DNSCTL_UPDATE_GOLDEN=1 regenerates it)");
    REQUIRE(in.good());
    std::stringstream expected;
    expected << in.rdbuf();
    CHECK(actual == expected.str());
}

void check_both(const std::string& name, const Plan& plan) {
    check_golden(name + ".txt", render_text(plan));
    check_golden(name + ".json", render_json(plan));
}

FakeVm foreign_vm() {
    FakeVm vm;
    vm.node = "pve-th2";
    vm.status = "running";
    vm.config = {{"name", "customer-web"}, {"cores", "2"}, {"memory", "2048"}};
    return vm;
}

}  // namespace

TEST_CASE("golden: empty clusters plan five creates", "[plan][render][golden]") {
    Estate estate;
    check_both("plan_empty_clusters", estate.plan());
}

TEST_CASE("golden: a converged estate plans no changes", "[plan][render][golden]") {
    Estate estate;
    converge(estate);
    check_both("plan_no_changes", estate.plan());
}

TEST_CASE("golden: raising cores is one in-place update", "[plan][render][golden]") {
    Estate estate;
    converge(estate);
    estate.inventory.nameservers[1].resources.cores = 4;
    check_both("plan_update_cores", estate.plan());
}

TEST_CASE("golden: an edit behind dnsctl's back is drift", "[plan][render][golden]") {
    Estate estate;
    converge(estate);
    estate.cluster("pa4").edit_config(Vmid{102}, "cores", "1");
    estate.cluster("pa4").edit_config(Vmid{102}, "tags", "dnsctl");
    check_both("plan_drift", estate.plan());
}

TEST_CASE("golden: an unreachable node leaves its cluster incomplete", "[plan][render][golden]") {
    Estate estate;
    converge(estate);
    estate.cluster("pa4").set_node_reachable("pve-pa4", false);
    check_both("plan_incomplete_cluster", estate.plan());
}

TEST_CASE("golden: a foreign VM at an inventory VMID is a conflict", "[plan][render][golden]") {
    Estate estate;
    estate.cluster("th2").put_vm(Vmid{101}, foreign_vm());
    check_both("plan_conflict", estate.plan());
}

TEST_CASE("render_text: Terraform's symbols, a why line per change, the summary line", "[plan][render]") {
    Estate estate;
    converge(estate);
    estate.inventory.nameservers[1].resources.cores = 4;
    auto text = render_text(estate.plan());
    CHECK_THAT(text, Catch::Contains("  ~ update in-place\n"));
    CHECK_THAT(text, Catch::Contains("  # vm[pa4/102] will be updated in-place\n"));
    CHECK_THAT(text, Catch::Contains("  # why: inventory: cores 2 -> 4\n"));
    CHECK_THAT(text, Catch::Contains("      ~ cores = 2 -> 4\n"));
    CHECK_THAT(text, Catch::Contains("unchanged attributes hidden"));
    CHECK_THAT(text, Catch::EndsWith("Plan: 0 to add, 1 to change, 0 to destroy.\n"));
    CHECK_THAT(text, !Catch::Contains("+ create"));
}

TEST_CASE("render_text: replace and destroy use -/+ and -", "[plan][render]") {
    Estate estate;
    converge(estate);
    estate.inventory.nameservers.pop_back();
    estate.inventory.zones[0].facts->apex_ns.pop_back();  // ns-rds… sorts last; pa3's VM is ns-ielo
    auto options = estate.options();
    options.nameserver_zones.clear();
    options.allow_destroy = true;
    options.replace.insert("vm[th2/101]");
    auto text = render_text(estate.plan(options));
    CHECK_THAT(text, Catch::Contains("-/+ destroy and then create replacement\n"));
    CHECK_THAT(text, Catch::Contains("  - destroy\n"));
    CHECK_THAT(text, Catch::Contains("  # vm[th2/101] must be replaced\n"));
    CHECK_THAT(text, Catch::Contains("-/+ vm \"vm[th2/101]\" {\n"));
    CHECK_THAT(text, Catch::Contains("  # vm[pa3/104] will be destroyed\n"));
    CHECK_THAT(text, Catch::Contains("      - name         = \"ns-ielo.rdem-systems.net\" -> null\n"));
    CHECK_THAT(text, Catch::Contains("Plan: 1 to add, 0 to change, 2 to destroy.\n"));
}

TEST_CASE("render: sensitive attributes are redacted in text and JSON", "[plan][render]") {
    Plan plan;
    plan.estate = "prod";
    ResourceChange change;
    change.address = "vm[a/101]";
    change.cluster = "a";
    change.vmid = Vmid{101};
    change.actions = {Action::update};
    change.before = VmAttributes{{"cipassword", "old-secret"}, {"cores", "2"}};
    change.after = VmAttributes{{"cipassword", "new-secret"}, {"cores", "4"}};
    change.sensitive = {"cipassword"};
    change.reason = "inventory: cores 2 -> 4";
    change.steps.push_back(ConfigureStep{"n1", Vmid{101}, ConfigUpdate{{{"cipassword", "new-secret"}, {"cores", "4"}}, {}, {}}});
    plan.changes.push_back(change);

    auto text = render_text(plan);
    auto json = render_json(plan);
    CHECK_THAT(text, !Catch::Contains("secret"));
    CHECK_THAT(json, !Catch::Contains("secret"));
    CHECK_THAT(text, Catch::Contains("(sensitive value)"));
    auto document = nlohmann::json::parse(json);
    const auto& body = document["resource_changes"][0]["change"];
    CHECK(body["after"]["cipassword"].is_null());
    CHECK(body["after_sensitive"]["cipassword"] == true);
    CHECK(body["before_sensitive"]["cipassword"] == true);
    CHECK(body["after"]["cores"] == 4);
    CHECK(document["resource_changes"][0]["steps"][0]["set"]["cipassword"].is_null());
}

TEST_CASE("render_json: the documented shape", "[plan][render]") {
    Estate estate;
    auto document = nlohmann::json::parse(render_json(estate.plan()));
    CHECK(document["format_version"] == "1.0");
    CHECK(document["complete"] == true);
    CHECK(document["applyable"] == true);
    CHECK(document["errors"].is_array());
    CHECK(document["checks"] == nlohmann::json::array());
    CHECK(document["summary"]["add"] == 5);
    REQUIRE(document["resource_changes"].size() == 5);
    const auto& change = document["resource_changes"][1];
    CHECK(change["address"] == "vm[th2/101]");
    CHECK(change["type"] == "proxmox_vm");
    CHECK(change["cluster"] == "th2");
    CHECK(change["vmid"] == 101);
    CHECK(change["change"]["actions"] == nlohmann::json::array({"create"}));
    CHECK(change["change"]["before"].is_null());
    CHECK(change["change"]["after"]["cores"] == 2);
    CHECK(change["change"]["after"]["agent"] == true);
    CHECK(change["change"]["after"]["sshkeys"].size() == 2);
    CHECK(change["change"]["action_reason"] == "create_because_absent");
    CHECK(change["steps"][0]["kind"] == "clone");
    CHECK(change["steps"][1] == nlohmann::json({{"kind", "wait_task"}, {"step", 0}}));
    CHECK(document["observed_digests"].size() == 5);
    CHECK(document["plan_digest"].get<std::string>().starts_with("sha256:"));
}

TEST_CASE("saved plan: accepted while nothing changed, refused once anything did", "[plan][render]") {
    Estate estate;
    converge(estate);
    estate.inventory.nameservers[1].resources.cores = 4;
    auto observed = estate.observe();
    auto plan = make_plan(estate.desired(), observed, estate.options());
    auto saved = parse_saved_plan(render_json(plan));
    REQUIRE(saved);
    CHECK(saved->estate == "rdem-prod");
    CHECK(saved->observed_digests == plan.observed_digests);

    SECTION("same world, same inventory") {
        auto fresh_observed = estate.observe();
        auto fresh = make_plan(estate.desired(), fresh_observed, saved->options(nameserver_zones(estate.inventory)));
        auto check = check_saved_plan(*saved, fresh_observed, fresh);
        CHECK_FALSE(check.stale());
    }
    SECTION("the VM changed since") {
        estate.cluster("pa4").edit_config(Vmid{102}, "memory", "1024");
        auto fresh_observed = estate.observe();
        auto fresh = make_plan(estate.desired(), fresh_observed, estate.options());
        auto check = check_saved_plan(*saved, fresh_observed, fresh);
        CHECK(check.stale());
        CHECK(check.changed_addresses == std::vector<std::string>{"vm[pa4/102]"});
        CHECK_THAT(check.message(), Catch::Contains("vm[pa4/102] changed"));
    }
    SECTION("the inventory changed since") {
        estate.inventory.nameservers[1].resources.cores = 8;
        auto fresh_observed = estate.observe();
        auto fresh = make_plan(estate.desired(), fresh_observed, estate.options());
        auto check = check_saved_plan(*saved, fresh_observed, fresh);
        CHECK(check.changed_addresses.empty());
        CHECK(check.plan_differs);
        CHECK(check.stale());
    }
    SECTION("an unrelated VM changed: still the same plan") {
        estate.cluster("th2").edit_config(Vmid{9000}, "description", "golden image");
        auto fresh_observed = estate.observe();
        auto fresh = make_plan(estate.desired(), fresh_observed, estate.options());
        CHECK_FALSE(check_saved_plan(*saved, fresh_observed, fresh).stale());
    }
}

TEST_CASE("parse_saved_plan: rejects what is not a dnsctl plan", "[plan][render]") {
    CHECK_FALSE(parse_saved_plan("not json"));
    CHECK_FALSE(parse_saved_plan("[]"));
    CHECK_FALSE(parse_saved_plan(R"({"format_version":"1.0"})"));
    auto future = parse_saved_plan(
        R"({"format_version":"2.0","estate":"x","options":{"allow_replace":false,"replace":[],"allow_destroy":false},)"
        R"("observed_digests":{},"plan_digest":"sha256:0"})");
    REQUIRE_FALSE(future);
    CHECK_THAT(future.error().message, Catch::Contains("format_version 2.0"));
}

TEST_CASE("render_text: work in flight is shown without an attribute block", "[plan][render]") {
    Estate estate;
    estate.cluster("pa4").set_clone_in_flight(true);
    REQUIRE(estate.cluster("pa4").clone("pve-pa4", Vmid{9000},
                                        CloneRequest{Vmid{102}, "ns-arelion.rdem-systems.fr", "", true, {}, {}}));
    auto text = render_text(estate.plan());
    CHECK_THAT(text, Catch::Contains("  # vm[pa4/102] has work in flight: apply waits for it, then plans again\n"));
    CHECK_THAT(text, !Catch::Contains("vm \"vm[pa4/102]\""));
    CHECK_THAT(text, Catch::Contains("Plan: 4 to add, 0 to change, 0 to destroy.\n1 VM with work in flight"));
}

namespace {

// No byte a terminal acts on: C0 controls other than newline, DEL, and
// nothing beyond ASCII in these plans (C1 controls as UTF-8, invalid bytes).
bool terminal_safe(const std::string& text) {
    return std::none_of(text.begin(), text.end(), [](char c) {
        auto byte = static_cast<unsigned char>(c);
        return (byte < 0x20 && byte != '\n') || byte >= 0x7F;
    });
}

}  // namespace

TEST_CASE("render: control characters and invalid UTF-8 in VM names are escaped", "[plan][render]") {
    Estate estate;
    converge(estate);
    // An owned VM that left the inventory, renamed behind dnsctl's back.
    estate.inventory.nameservers.pop_back();
    estate.inventory.zones[0].facts->apex_ns.erase(
        std::remove(estate.inventory.zones[0].facts->apex_ns.begin(), estate.inventory.zones[0].facts->apex_ns.end(),
                    DnsName::parse("ns-ielo.rdem-systems.net").value()),
        estate.inventory.zones[0].facts->apex_ns.end());
    estate.cluster("pa3").edit_config(Vmid{104}, "name", "ns\x1b]0;owned\x07-\xC2\x9B" "2j-\xFF.example");
    auto options = estate.options();
    options.allow_destroy = true;
    auto plan = estate.plan(options);
    REQUIRE(plan.find("vm[pa3/104]"));

    auto text = render_text(plan);
    CHECK(terminal_safe(text));
    CHECK_THAT(text, Catch::Contains("# name: ns\\x1b]0;owned\\x07-\\u009b2j-\\xff.example") &&
                         Catch::Contains("= \"ns\\x1b]0;owned\\x07-\\u009b2j-\\xff.example\" -> null"));

    std::string json;
    REQUIRE_NOTHROW(json = render_json(plan));
    CHECK(terminal_safe(json));
    auto document = nlohmann::json::parse(json);
    CHECK(document["resource_changes"].back()["name"] == "ns\x1b]0;owned\x07-\xC2\x9B" "2j-\xEF\xBF\xBD.example");
    REQUIRE_NOTHROW(plan_digest(plan));
}

TEST_CASE("render: control characters in node names and API messages are escaped", "[plan][render]") {
    Estate estate;
    // The template sits on a node whose name holds an escape sequence; the
    // API of another cluster answers with one in its message.
    auto& th2 = estate.cluster("th2");
    th2.remove_vm(Vmid{9000});
    th2.add_node("pve\x1b[31m-b");
    th2.put_vm(Vmid{9000}, template_vm("pve\x1b[31m-b"));
    estate.cluster("pa4").fail_always(ProxmoxMethod::list_nodes,
                                      Error{ErrorKind::unavailable, "503 \x1b[2J\x07 busy \xC2\x85 \xE2\x82", false});
    auto plan = estate.plan();

    auto text = render_text(plan);
    CHECK(terminal_safe(text));
    CHECK_THAT(text, Catch::Contains("template 9000 is on node pve\\x1b[31m-b") &&
                         Catch::Contains("503 \\x1b[2J\\x07 busy \\u0085 \\xe2\\x82"));

    std::string json;
    REQUIRE_NOTHROW(json = render_json(plan));
    CHECK(terminal_safe(json));
    CHECK_NOTHROW(nlohmann::json::parse(json));
}
