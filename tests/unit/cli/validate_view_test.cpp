#include <catch2/catch.hpp>

#include "cli/validate_view.hpp"
#include "unit/policy/estate.hpp"

using namespace dnsctl;
using namespace dnsctl::test;

namespace {

ValidationResult passing() {
    ValidationResult result;
    result.inventory = "inventory/inventory.yaml";
    result.policy = check_policy(reference_estate());
    return result;
}

std::string last_line(const std::string& text) {
    auto end = text.find_last_not_of('\n');
    auto start = text.rfind('\n', end);
    return text.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
}

}  // namespace

TEST_CASE("validate view: a valid estate prints the table, the findings and a one-line summary") {
    auto result = passing();
    CHECK(result.valid());
    auto text = render_validation_text(result);
    CHECK(text.rfind("Diversity policy: 4 public nameservers", 0) == 0);  // no diagnostics before it
    CHECK(text.find("Policy findings:\ninventory.yaml:50:5: warning: the hidden primary") != std::string::npos);
    CHECK(last_line(text) == "inventory/inventory.yaml: valid: policy holds (8/8 dimensions pass), 1 warning");
}

TEST_CASE("validate view: diagnostics come first, sorted, and any error makes the inventory invalid") {
    auto result = passing();
    result.diagnostics.error({"inventory.yaml", 30, 7}, "unknown key 'asm' (did you mean 'asn'?)");
    result.diagnostics.error({"inventory.yaml", 12, 3}, "vmid 101 is used twice on cluster th2");
    result.diagnostics.sort();
    CHECK_FALSE(result.valid());
    auto text = render_validation_text(result);
    CHECK(text.rfind("inventory.yaml:12:3: error: vmid 101 is used twice on cluster th2\n"
                     "inventory.yaml:30:7: error: unknown key 'asm' (did you mean 'asn'?)\n\n"
                     "Diversity policy:",
                     0) == 0);
    CHECK(last_line(text) ==
          "inventory/inventory.yaml: INVALID: 2 errors in the inventory, policy holds (8/8 dimensions pass), "
          "1 warning");
}

TEST_CASE("validate view: a policy violation alone makes the inventory invalid") {
    auto inv = reference_estate();
    find_ns(inv, "ns-rds.rdem-systems.com")->fqdn = name("ns-rds.rdem-dns.eu");
    ValidationResult result;
    result.inventory = "inv.yaml";
    result.policy = check_policy(inv);
    CHECK_FALSE(result.valid());
    auto text = render_validation_text(result);
    CHECK(text.find("inventory.yaml:80:5: error: ns-rds.rdem-dns.eu shares TLD eu with ns-ipset.rdem-systems.eu") !=
          std::string::npos);
    CHECK(last_line(text) == "inv.yaml: INVALID: 1 policy violation (7/8 dimensions pass), 1 warning");
}

TEST_CASE("validate view: an unreadable inventory is invalid and its policy unchecked") {
    ValidationResult result;
    result.inventory = "missing.yaml";
    result.diagnostics.error({"missing.yaml"}, "the inventory file does not exist");
    result.policy_skipped = "the inventory could not be read";
    CHECK_FALSE(result.valid());
    CHECK(render_validation_text(result) ==
          "missing.yaml: error: the inventory file does not exist\n\n"
          "missing.yaml: INVALID: 1 error in the inventory, policy not checked (the inventory could not be read)\n");

    auto json = validation_to_json(result);
    CHECK(json["valid"] == false);
    CHECK(json["policy"]["checked"] == false);
    CHECK(json["policy"]["skipped_reason"] == "the inventory could not be read");
    CHECK(json["policy"]["rows"].empty());
    CHECK(json["diagnostics"][0]["location"] ==
          nlohmann::ordered_json({{"file", "missing.yaml"}, {"line", nullptr}, {"column", nullptr}}));
}

TEST_CASE("validate view: the JSON document") {
    auto result = passing();
    result.diagnostics.warning({"inventory.yaml", 3, 1}, "key 'ssh.port' is 22 by default");
    auto json = validation_to_json(result);
    CHECK(json["format_version"] == "1.0");
    CHECK(json["inventory"] == "inventory/inventory.yaml");
    CHECK(json["valid"] == true);
    REQUIRE(json["diagnostics"].size() == 1);
    CHECK(json["diagnostics"][0]["severity"] == "warning");
    CHECK(json["diagnostics"][0]["location"]["line"] == 3);
    CHECK(json["diagnostics"][0]["message"] == "key 'ssh.port' is 22 by default");
    CHECK(json["policy"]["checked"] == true);
    CHECK(json["policy"]["passed"] == true);
    CHECK(json["policy"]["rows"].size() == 8);
    CHECK(json["policy"]["findings"].size() == 1);
    CHECK(json["summary"]["errors"] == 0);
    CHECK(json["summary"]["warnings"] == 2);
    CHECK(json["summary"]["text"] ==
          "inventory/inventory.yaml: valid: policy holds (8/8 dimensions pass), 2 warnings");
}
