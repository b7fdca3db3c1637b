// The inventory as typed values. Produced by load_inventory (the only code that
// sees YAML); everything downstream (policy, planner, verifier) reads these.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/diagnostics.hpp"
#include "core/secret.hpp"
#include "core/types.hpp"

namespace dnsctl {

enum class Software { knot, nsd, bind };
std::string_view to_string(Software software);

struct ApiToken {
    std::string id;      // user@realm!tokenid
    SecretRef secret;
};

struct ClusterTls {
    std::optional<std::filesystem::path> ca_file;           // PEM bundle to verify the API certificate
    std::optional<std::string> fingerprint_sha256;          // "AB:CD:…" (32 bytes), pinned leaf certificate
    std::optional<std::filesystem::path> fingerprint_file;  // file holding such a fingerprint
};

struct Cluster {
    std::string name;        // key in `clusters:`; used in addresses vm[<cluster>/<vmid>]
    std::string datacenter;
    std::string api_url;     // https://host:8006
    ApiToken token;
    std::optional<ApiToken> readonly_token;  // used by `check` when present
    ClusterTls tls;
    std::string node;
    Vmid template_vmid;
    std::string storage;
    std::string bridge;
    std::optional<int> vlan;
    // The VMs' own resolvers (cloud-init `nameserver`, `searchdomain`). Empty:
    // dnsctl leaves both alone and cloud-init takes the Proxmox host's.
    std::vector<IpAddress> resolvers;
    std::optional<DnsName> searchdomain;  // default: the parent domain of each VM's name
    SourceLocation where;
};

struct Resources {
    int cores = 2;
    int memory_mib = 2048;
    int disk_gib = 20;
};

struct InterfaceAddress {
    IpInterface address;  // e.g. 198.51.100.10/24
    IpAddress gateway;
};

// What the primary and the public nameservers share: one VM on one cluster.
struct Host {
    DnsName fqdn;
    std::string cluster;
    Vmid vmid;
    Software software = Software::knot;
    std::optional<InterfaceAddress> ipv4;
    std::optional<InterfaceAddress> ipv6;
    Resources resources;
    SourceLocation where;

    [[nodiscard]] std::vector<IpAddress> addresses() const;
};

struct Nameserver : Host {
    Asn asn;
    std::string registrable_domain;  // filled by the loader (libpsl): rdem-systems.eu
};

// The hidden primary: runs Knot (software is always knot), signs, is in no NS RRset.
struct PrimaryServer : Host {};

// Facts read from a zone's master file (ldns) at load time.
struct ZoneFacts {
    std::vector<DnsName> apex_ns;     // sorted, unique
    DnsName soa_mname;                // SOA MNAME (primary master field)
    DnsName soa_rname;                // SOA RNAME (contact mailbox as a name)
    std::uint32_t soa_serial = 0;
    std::uint32_t soa_refresh = 0;
    std::uint32_t soa_retry = 0;
    std::uint32_t soa_expire = 0;
    std::uint32_t soa_minimum = 0;
    std::uint32_t max_ttl = 0;        // largest TTL of any record (DNSSEC timing)
    std::size_t record_count = 0;
};

struct Zone {
    DnsName name;
    std::filesystem::path file;          // absolute (diagnostics show it as written, relative to the cwd)
    std::optional<std::string> dnssec;   // policy name; nullopt = unsigned ("off")
    std::optional<ZoneFacts> facts;      // nullopt when the file could not be read
    SourceLocation where;
};

enum class Denial { nsec, nsec3 };

struct DnssecPolicy {
    std::string name;
    std::string algorithm = "ecdsap256sha256";
    Duration ksk_lifetime{0};            // 0: no automatic KSK rollover
    Duration zsk_lifetime{90 * 86400};
    Duration rrsig_lifetime{21 * 86400};
    Duration rrsig_refresh{14 * 86400};  // re-sign when this much validity remains
    Denial denial = Denial::nsec3;
    int nsec3_iterations = 0;
    int nsec3_salt_length = 0;
    SourceLocation where;
};

struct TsigKey {
    std::string name;                    // key name as the DNS servers know it, e.g. dnsctl-xfr
    std::string algorithm = "hmac-sha256";
    SecretRef secret;
    SourceLocation where;
};

struct SshSettings {
    std::string user = "dnsctl";
    std::filesystem::path key_file;                     // private key; public key = key_file + ".pub"
    std::optional<std::filesystem::path> known_hosts;   // default: <state_dir>/known_hosts
    std::vector<std::string> extra_authorized_keys;     // OpenSSH public key lines
    int port = 22;
};

struct AsnSource {
    enum class Kind { static_declared, file, dns };
    Kind kind = Kind::static_declared;
    std::optional<std::filesystem::path> path;  // file: ip-to-asn table
    std::optional<DnsName> zone;                // dns: e.g. origin.asn.cymru.com
    SourceLocation where;
};

// The diversity dimensions of RFC 2182 that the policy can require distinct.
enum class Dimension { asn, datacenter, cluster, tld, registrable_domain, ipv4_prefix, ipv6_prefix, software };
std::string_view to_string(Dimension dimension);
std::optional<Dimension> parse_dimension(std::string_view text);

struct DiversityPolicy {
    int min_nameservers = 4;
    std::set<Dimension> distinct = {Dimension::asn,        Dimension::datacenter,         Dimension::cluster,
                                     Dimension::tld,        Dimension::registrable_domain, Dimension::ipv4_prefix,
                                     Dimension::ipv6_prefix};
    int ipv4_prefix_length = 24;
    int ipv6_prefix_length = 48;
    int min_softwares = 2;
    int min_surviving = 2;              // per address family, after losing any one value of a dimension
    Duration primary_outage{7 * 86400}; // SOA expire and signatures must outlast this
    SourceLocation where;
};

struct Inventory {
    int version = 1;
    std::filesystem::path path;       // the inventory file, absolute
    std::string estate;               // ownership marker: managed-by: dnsctl estate=<estate>
    std::filesystem::path state_dir;  // absolute
    std::vector<Cluster> clusters;                   // in file order
    PrimaryServer primary;
    std::vector<Nameserver> nameservers;             // in file order
    std::vector<Zone> zones;                         // in file order
    std::vector<DnssecPolicy> dnssec_policies;       // in file order
    TsigKey tsig;
    SshSettings ssh;
    std::vector<AsnSource> asn_sources;
    DiversityPolicy policy;

    [[nodiscard]] const Cluster* find_cluster(std::string_view name) const;
    [[nodiscard]] const DnssecPolicy* find_dnssec_policy(std::string_view name) const;
    [[nodiscard]] const Nameserver* find_nameserver(const DnsName& fqdn) const;
    // ssh.known_hosts, or its default <state_dir>/known_hosts.
    [[nodiscard]] std::filesystem::path known_hosts_file() const;
};

}  // namespace dnsctl
