// The VM attributes dnsctl manages, in one normalised form for both sides of a
// comparison. Desired values (from the inventory) and observed values (from
// GET …/config) are both turned into VmAttributes before they are compared, so
// PVE's rewriting (sorted lower-case tags, percent-encoded sshkeys, memory as
// "current=N", a generated MAC in net0, defaults for absent keys) never shows
// up as a change: a converged estate plans nothing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxmox/percent_encoding.hpp"
#include "proxmox/proxmox_api.hpp"

namespace dnsctl {

// attribute name -> normalised value. Keys are the names below; a VM that
// does not manage an optional attribute (nameserver, searchdomain) leaves it out.
using VmAttributes = std::map<std::string, std::string>;

namespace attr {
inline constexpr std::string_view kAgent = "agent";                // "1" / "0"
inline constexpr std::string_view kCiuser = "ciuser";
inline constexpr std::string_view kCores = "cores";                // decimal
inline constexpr std::string_view kIpconfig0 = "ipconfig0";        // ip=…,gw=…,ip6=…,gw6=…
inline constexpr std::string_view kMemory = "memory";              // MiB, decimal
inline constexpr std::string_view kName = "name";                  // lower-case FQDN
inline constexpr std::string_view kNameserver = "nameserver";      // space-separated addresses
inline constexpr std::string_view kNet0 = "net0";                  // model,bridge=…[,tag=…] (no MAC)
inline constexpr std::string_view kOnboot = "onboot";              // "1" / "0"
inline constexpr std::string_view kScsi0Size = "scsi0_size";       // largest exact unit: "20G"
inline constexpr std::string_view kSearchdomain = "searchdomain";
inline constexpr std::string_view kSshkeys = "sshkeys";            // decoded, one key per line
inline constexpr std::string_view kStatus = "status";              // running / stopped
inline constexpr std::string_view kTags = "tags";                  // lower-case, sorted, ;-joined
}  // namespace attr

enum class AttributeKind { text, number, flag, lines };

struct AttributeSpec {
    std::string_view name;
    AttributeKind kind = AttributeKind::text;
    bool stamped = true;           // part of the dnsctl-config stamp (every config key; not status)
    bool restart_if_running = false;  // takes effect only after a stop/start of a running VM
    bool cloudinit = false;        // a cloud-init key (checked before start)
};

// Every managed attribute, alphabetical.
const std::vector<AttributeSpec>& attribute_specs();
const AttributeSpec* find_attribute_spec(std::string_view name);

// ---- value normalisation (each accepts what PVE returns and what dnsctl writes)

// Percent-encoding itself is proxmox/percent_encoding.hpp (the form PVE
// requires and stores for `sshkeys`).

std::string normalise_tags(std::string_view tags);                 // "DNS, prod;dns" -> "dns;prod"
std::string join_tags(const std::vector<std::string>& tags);       // normalised
std::optional<int> parse_memory_mib(std::string_view value);       // "2048", "current=2048"
std::optional<std::uint64_t> parse_size_bytes(std::string_view size);  // "20G", "512M", "1.5T", "1024" (bytes)
std::string format_size(std::uint64_t bytes);                      // 21474836480 -> "20G"
std::optional<std::string> drive_size(std::string_view drive);     // "local-lvm:vm-1-disk-0,size=20G" -> "20G"
std::string normalise_ipconfig(std::string_view value);
std::string normalise_nameserver(std::string_view value);
std::string normalise_searchdomain(std::string_view value);
std::string normalise_sshkeys(std::string_view stored);            // percent-decoded, trimmed lines
std::string normalise_flag(std::string_view value, bool absent_default);  // agent "enabled=1,…" -> "1"

// A network device property string: `virtio=BC:24:11:…,bridge=vmbr0,tag=53,firewall=1`
// (or `model=virtio,macaddr=…`). Options dnsctl does not manage are kept, in order.
struct NetDevice {
    std::string model;
    std::optional<std::string> mac;
    std::string bridge;
    std::optional<std::string> tag;
    std::vector<std::pair<std::string, std::string>> other;

    static NetDevice parse(std::string_view value);
    [[nodiscard]] std::string managed() const;  // "virtio,bridge=vmbr0,tag=53": what is compared
    [[nodiscard]] std::string str() const;      // full value to write back (MAC and other options kept)
};

// ---- the ownership marker and the config stamp in the description

// "managed-by: dnsctl estate=<estate>"
std::string marker_line(std::string_view estate);
// The estate named by a marker line in the description, if any.
std::optional<std::string> marker_estate(std::string_view description);
bool has_marker(std::string_view description, std::string_view estate);
// "sha256:<16 hex>" over the stamped attributes (name=value lines, sorted).
std::string config_stamp(const VmAttributes& attributes);
// The stamp recorded in a description ("dnsctl-config: sha256:…"), if any.
std::optional<std::string> recorded_stamp(std::string_view description);
// The description dnsctl writes: marker, stamp (when given), then every line of
// `existing` that is not a dnsctl line (operators' notes survive).
std::string compose_description(std::string_view existing, std::string_view estate,
                                const std::optional<std::string>& stamp);

// ---- both sides

// The managed attributes of an observed VM, for exactly the attribute names in
// `names` (those the desired VM manages). Absent keys read as PVE's defaults.
VmAttributes observed_attributes(const VmConfig& config, std::string_view status,
                                 const std::set<std::string>& names);

// The config keys and values to write for the given attributes of `desired`
// (sshkeys percent-encoded, net0 built on the existing device so its MAC and
// unmanaged options survive). Attributes that are not config keys
// (status, scsi0_size) are skipped.
std::map<std::string, std::string> config_values(const VmAttributes& desired, const std::vector<std::string>& names,
                                                 const std::optional<std::string>& existing_net0);

// Cloud-init check before a start: each expected key's effective value in
// GET …/cloudinit (pending when set, else the image value) must equal the
// expected one after normalisation, and no expected key may be marked deleted.
// Returns one message per mismatch; empty = fine.
std::vector<std::string> check_cloudinit(const std::map<std::string, std::string>& expected,
                                         const std::vector<CloudinitEntry>& entries);

}  // namespace dnsctl
