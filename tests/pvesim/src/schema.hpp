// The parameter table derived from the official PVE 8.4 schema
// (schema/pve-8.4-params.json, embedded at build time) and the validation PVE's
// JSONSchema.pm performs with it: types, formats, patterns, lengths, ranges,
// enums, required and unknown parameters, property strings. Error texts follow
// pve-common so clients see the same `errors` object.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace pvesim {

using Params = std::map<std::string, std::string>;
using ErrorMap = std::map<std::string, std::string>;
// A parsed property string ("virtio=BC:..,bridge=vmbr0" -> model, macaddr, bridge).
using PropertyMap = std::map<std::string, std::string>;

struct Endpoint {
    std::string method;
    std::string path;  // template, e.g. /nodes/{node}/qemu/{vmid}/config
    nlohmann::json spec;

    [[nodiscard]] std::string key() const { return method + " " + path; }
    [[nodiscard]] bool allow_token() const;
    [[nodiscard]] std::string proxy_to() const;  // "node" or ""
};

class Schema {
public:
    explicit Schema(nlohmann::json table);
    // The table compiled into pve-sim.
    static const Schema& builtin();

    [[nodiscard]] const Endpoint* find(std::string_view method, std::string_view path_template) const;
    [[nodiscard]] std::vector<std::string> endpoint_keys() const;

    // PVE's parameter verification; empty when valid.
    [[nodiscard]] ErrorMap validate(const Endpoint& endpoint, const Params& params) const;

    // The property schema of a parameter by concrete name ("net3" -> "net[n]").
    [[nodiscard]] const nlohmann::json* parameter(const Endpoint& endpoint, std::string_view name) const;
    // The same for VM configuration keys (PUT …/config).
    [[nodiscard]] const nlohmann::json* config_property(std::string_view key) const;
    // "integer", "number", "boolean" or "string": how GET …/config types a key.
    [[nodiscard]] std::string config_value_type(std::string_view key) const;

    // Parses a value of a property-string format ("net", "scsi", "memory", …).
    // On error returns nullopt and sets `error` to the PVE message.
    [[nodiscard]] std::optional<PropertyMap> parse_property_string(const nlohmann::json& format, std::string_view text,
                                                                   std::string_view path, std::string* error) const;
    // Canonical form: keyAlias pair or default key first, other keys sorted,
    // disk sizes through format_size.
    [[nodiscard]] std::string print_property_string(const nlohmann::json& format, const PropertyMap& values) const;
    // The format object of a parameter schema, resolving {"$ref": name} and the
    // property-string formats qemu-server registers by name (pve-qm-boot,
    // pve-vm-cpu-conf, …); null if none.
    [[nodiscard]] const nlohmann::json* property_format(const nlohmann::json& property) const;

    // Whether pve-sim checks the format of this parameter schema: no format, a
    // table format, a named property-string format or a named format with a
    // verifier ("-list"/"-opt" variants included). An unmodelled format would
    // be accepted unchecked; the unit tests require every served one modelled.
    [[nodiscard]] bool format_modelled(const nlohmann::json& property) const;
    // Whether a schema pattern compiled (a pattern std::regex cannot express
    // would go unchecked).
    [[nodiscard]] bool pattern_supported(const std::string& pattern) const;

private:
    // First error of one value against one property schema ("" if valid).
    std::string check_value(const nlohmann::json& property, const std::string& value, const std::string& path) const;
    std::string check_named_format(const std::string& format, const std::string& value, const std::string& path) const;
    // Checks a named format's verifier would make of a parsed property string
    // (pve-vm-cpu-conf); "" if valid or the format has none.
    std::string check_parsed(const std::string& format, const PropertyMap& values) const;
    const std::regex* regex_for(const std::string& pattern) const;

    nlohmann::json table_;
    std::map<std::string, Endpoint> endpoints_;
    std::map<std::string, std::unique_ptr<std::regex>> regexes_;
    const Endpoint* config_endpoint_ = nullptr;
    const Endpoint* config_get_endpoint_ = nullptr;
};

// The property-string format cloud-init ipconfigN values use (named format
// pve-qm-ipconfig in qemu-server, not part of the API schema dump).
const nlohmann::json& ipconfig_format();

// Property-string formats the API schema names without their keys
// (pve-qm-boot, pve-qm-cicustom, pve-qm-smbios1, pve-qm-watchdog, pve-qm-rng,
// pve-qm-hostpci, pve-vm-cpu-conf, pve-qemu-sev-fmt, pve-qm-ipconfig), with the
// keys, types, enums, patterns and defaults qemu-server documents; null if
// `name` is not one of them. pve-qm-ide is the table's "ide" format.
const nlohmann::json* named_property_format(std::string_view name);

}  // namespace pvesim
