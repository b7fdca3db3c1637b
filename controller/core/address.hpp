// Resource addresses (DESIGN §5): the names of everything a plan can change,
// parseable for `--replace ADDR`, JSON and saved plans.
//
//   vm[<cluster>/<vmid>]          a Proxmox VM            vm[th2/5301]
//   host[<fqdn>]                  a host, reached by SSH  host[ns-ipset.rdem-systems.eu]
//   file[<host>:<absolute path>]  a managed file          file[ns-ipset.rdem-systems.eu:/etc/knot/knot.conf]
//   service[<host>/<name>]        a service on a host     service[ns-ipset.rdem-systems.eu/knot]
//   zone[<host>/<zone>]           a zone a host serves    zone[ns-ipset.rdem-systems.eu/rdem-systems.eu]
//
// The text form is canonical: parse(a.str()) == a, and two addresses are equal
// exactly when their texts are.
#pragma once

#include <compare>
#include <string>
#include <string_view>
#include <variant>

#include "core/error.hpp"
#include "core/types.hpp"

namespace dnsctl {

// The kinds of resource dnsctl manages. JSON and text use to_string's words.
enum class ResourceKind { vm, host, file, service, zone };
std::string_view to_string(ResourceKind kind);  // "vm", "host", "file", "service", "zone"

struct VmRef {
    std::string cluster;  // key in the inventory's `clusters:`
    Vmid vmid;
    friend auto operator<=>(const VmRef&, const VmRef&) = default;
};
struct HostRef {
    DnsName host;
    friend auto operator<=>(const HostRef&, const HostRef&) = default;
};
struct FileRef {
    DnsName host;
    std::string path;  // absolute, normalised (no "." or ".." segments, no trailing '/')
    friend auto operator<=>(const FileRef&, const FileRef&) = default;
};
struct ServiceRef {
    DnsName host;
    std::string name;  // systemd unit name without ".service": knot, nsd, named
    friend auto operator<=>(const ServiceRef&, const ServiceRef&) = default;
};
struct ZoneRef {
    DnsName host;
    DnsName zone;
    friend auto operator<=>(const ZoneRef&, const ZoneRef&) = default;
};

class Address {
public:
    using Value = std::variant<VmRef, HostRef, FileRef, ServiceRef, ZoneRef>;

    Address() = default;
    Address(VmRef ref) : value_(std::move(ref)) {}  // NOLINT: implicit on purpose, each ref is an address
    Address(HostRef ref) : value_(std::move(ref)) {}
    Address(FileRef ref) : value_(std::move(ref)) {}
    Address(ServiceRef ref) : value_(std::move(ref)) {}
    Address(ZoneRef ref) : value_(std::move(ref)) {}

    // Any of the five forms; the error says which part is wrong and what the
    // forms are.
    static Result<Address> parse(std::string_view text);

    [[nodiscard]] ResourceKind kind() const { return static_cast<ResourceKind>(value_.index()); }
    [[nodiscard]] const Value& value() const { return value_; }
    template <class Ref>
    [[nodiscard]] const Ref* as() const {
        return std::get_if<Ref>(&value_);
    }
    [[nodiscard]] std::string str() const;

    friend bool operator==(const Address&, const Address&) = default;
    // By kind, then field by field (vm[th2/200] before vm[th2/1000]).
    friend auto operator<=>(const Address&, const Address&) = default;

private:
    Value value_;
};

// Pieces checked on their own by parse (and by callers that build refs).
bool valid_cluster_name(std::string_view name);  // letters, digits, '-', '_', '.'; 1-64 characters
bool valid_service_name(std::string_view name);  // letters, digits, '-', '_', '.', '@'; 1-64 characters
// An absolute path without "." / ".." segments, empty segments, NUL or
// control characters; at most 4096 bytes.
bool valid_absolute_path(std::string_view path);

}  // namespace dnsctl
