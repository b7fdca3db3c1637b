#include "inventory/inventory_schema.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace dnsctl {

using schema::Check;
using schema::KeyInfo;
using schema::Kind;
using schema::RuleContext;
using schema::Scalar;
using schema::Section;

namespace {

// ---- checks shared by several keys ------------------------------------------

Check at_least_two_labels() {
    return {"a fully qualified name: at least two labels", [](const Scalar& v) -> std::optional<std::string> {
                const auto& name = std::get<DnsName>(v);
                if (name.labels().size() >= 2) return std::nullopt;
                return fmt::format("'{}' is a single label; expected a fully qualified name such as "
                                   "ns1.example.net",
                                   name.str());
            }};
}

Check address_family(AddressFamily family) {
    return {family == AddressFamily::ipv4 ? "an IPv4 address" : "an IPv6 address",
            [family](const Scalar& v) -> std::optional<std::string> {
                const IpAddress& address = std::holds_alternative<IpInterface>(v) ? std::get<IpInterface>(v).address
                                                                                  : std::get<IpAddress>(v);
                if (address.family() == family) return std::nullopt;
                return fmt::format("{} is an {} address; expected an {} address here", address.str(),
                                   to_string(address.family()), to_string(family));
            }};
}

// user@realm!tokenid, as Proxmox VE names API tokens.
Check proxmox_token_id() {
    return {"USER@REALM!TOKENID", [](const Scalar& v) -> std::optional<std::string> {
                const auto& id = std::get<std::string>(v);
                if (id.find('=') != std::string::npos) {
                    // Someone pasted the whole `user@realm!id=secret`: never show it.
                    return std::string("a token id cannot contain '=' (value not shown; it may hold the token's "
                                       "secret): write USER@REALM!TOKENID here and give the secret by reference "
                                       "in the secret key");
                }
                auto at = id.find('@');
                auto bang = id.find('!');
                bool ok = at != std::string::npos && bang != std::string::npos && at > 0 && bang > at + 1 &&
                          bang + 1 < id.size() && std::isalpha(static_cast<unsigned char>(id[bang + 1])) &&
                          std::all_of(id.begin() + static_cast<std::ptrdiff_t>(bang) + 1, id.end(), [](char c) {
                              return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
                          }) &&
                          std::none_of(id.begin(), id.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
                if (ok) return std::nullopt;
                return fmt::format("'{}' is not a Proxmox API token id; expected USER@REALM!TOKENID such as "
                                   "dnsctl@pve!apply",
                                   id);
            }};
}

Check interface_name() {
    return {"at most 15 characters (a Linux interface name)", [](const Scalar& v) -> std::optional<std::string> {
                const auto& name = std::get<std::string>(v);
                if (name.size() <= 15) return std::nullopt;
                return fmt::format("'{}' is longer than 15 characters, the limit of a Linux interface name", name);
            }};
}

Check unix_user() {
    return {"a Unix user name", [](const Scalar& v) -> std::optional<std::string> {
                const auto& name = std::get<std::string>(v);
                bool ok = name.size() <= 32 && (std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_') &&
                          std::all_of(name.begin(), name.end(), [](char c) {
                              return std::islower(static_cast<unsigned char>(c)) ||
                                     std::isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '-';
                          });
                if (ok) return std::nullopt;
                return fmt::format("'{}' is not a Unix user name; expected lower-case letters, digits, '_' and '-', "
                                   "starting with a letter",
                                   name);
            }};
}

Check openssh_public_key() {
    return {"an OpenSSH public key line", [](const Scalar& v) -> std::optional<std::string> {
                const auto& line = std::get<std::string>(v);
                constexpr std::array<std::string_view, 7> kTypes = {
                    "ssh-ed25519",         "ssh-rsa",
                    "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
                    "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
                    "sk-ecdsa-sha2-nistp256@openssh.com"};
                auto space = line.find(' ');
                std::string_view type = std::string_view(line).substr(0, space);
                bool known = std::find(kTypes.begin(), kTypes.end(), type) != kTypes.end();
                bool has_blob = space != std::string::npos && line.size() > space + 1 && line[space + 1] != ' ';
                if (known && has_blob && line.find('\n') == std::string::npos) return std::nullopt;
                if (line.find("PRIVATE KEY") != std::string::npos) {
                    return std::string("this is a private key (value not shown): give the public key line "
                                       "(the .pub file), e.g. ssh-ed25519 AAAA… comment");
                }
                return std::string("expected one OpenSSH public key line: TYPE BASE64 [comment], e.g. "
                                   "ssh-ed25519 AAAA… admin@example.net");
            }};
}

Check version_one() {
    return {"1", [](const Scalar& v) -> std::optional<std::string> {
                auto version = std::get<std::int64_t>(v);
                if (version == 1) return std::nullopt;
                return fmt::format("inventory version {} is not supported; this dnsctl reads version 1", version);
            }};
}

// ---- enum word tables -------------------------------------------------------

constexpr std::pair<std::string_view, Software> kSoftwares[] = {
    {"knot", Software::knot}, {"nsd", Software::nsd}, {"bind", Software::bind}};
constexpr std::pair<std::string_view, Software> kPrimarySoftwares[] = {{"knot", Software::knot}};
constexpr std::pair<std::string_view, Denial> kDenials[] = {{"nsec", Denial::nsec}, {"nsec3", Denial::nsec3}};
constexpr std::pair<std::string_view, AsnSource::Kind> kAsnSourceKinds[] = {
    {"static", AsnSource::Kind::static_declared}, {"file", AsnSource::Kind::file}, {"dns", AsnSource::Kind::dns}};

// ---- sections ----------------------------------------------------------------

const Section<Resources>& resources_section() {
    static const Section<Resources> s = [] {
        Section<Resources> s("resources",
                             "Size of the VM (in `primary` and in each `nameservers.<fqdn>`).");
        s.add({.name = "cores", .type = schema::integer(1, 64), .default_text = "2", .doc = "Virtual CPU cores.",
               .example = "2"},
              &Resources::cores);
        s.add({.name = "memory_mib",
               .type = schema::integer(512, 262144),
               .default_text = "2048",
               .doc = "Memory in MiB.",
               .example = "2048"},
              &Resources::memory_mib);
        s.add({.name = "disk_gib",
               .type = schema::integer(4, 4096),
               .default_text = "20",
               .doc = "Size of the root disk in GiB (the template's disk is grown to it, never shrunk).",
               .example = "20"},
              &Resources::disk_gib);
        return s;
    }();
    return s;
}

Section<InterfaceAddress> make_interface_section(AddressFamily family) {
    bool v4 = family == AddressFamily::ipv4;
    Section<InterfaceAddress> s(v4 ? "ipv4" : "ipv6",
                                v4 ? "The VM's IPv4 address, set through cloud-init (in `primary` and in each "
                                     "`nameservers.<fqdn>`)."
                                   : "The VM's IPv6 address, set through cloud-init (in `primary` and in each "
                                     "`nameservers.<fqdn>`).");
    s.add({.name = "address",
           .type = schema::ip_interface(),
           .required = true,
           .doc = "Address with the prefix length of its subnet.",
           .example = v4 ? "198.51.100.53/24" : "2001:db8:1::53/64",
           .checks = {address_family(family)}},
          &InterfaceAddress::address);
    s.add({.name = "gateway",
           .type = schema::ip_address(),
           .required = true,
           .doc = "Default gateway; inside the address's subnet.",
           .example = v4 ? "198.51.100.1" : "2001:db8:1::1",
           .checks = {address_family(family)}},
          &InterfaceAddress::gateway);
    s.rule({"address", "gateway"}, "the gateway lies inside the address's subnet and differs from the address",
           [](const InterfaceAddress& a, RuleContext& ctx) {
               auto network = a.address.network();
               if (!network.contains(a.gateway)) {
                   ctx.error("gateway", fmt::format("{} is outside the subnet {} of address {}", a.gateway.str(),
                                                    network.str(), a.address.str()));
               } else if (a.gateway == a.address.address) {
                   ctx.error("gateway", fmt::format("{} is the address itself; the gateway is another host",
                                                    a.gateway.str()));
               }
           });
    s.rule({"address"}, "the address is a host of its subnet, not the subnet itself",
           [](const InterfaceAddress& a, RuleContext& ctx) {
               bool tiny = a.address.prefix_length >= a.address.address.bit_width() - 1;
               if (!tiny && a.address.address == a.address.network().network) {
                   ctx.error("address", fmt::format("{} is the network address of {}; give the host's own address",
                                                    a.address.str(), a.address.network().str()));
               }
           });
    return s;
}

const Section<InterfaceAddress>& ipv4_section() {
    static const Section<InterfaceAddress> s = make_interface_section(AddressFamily::ipv4);
    return s;
}

const Section<InterfaceAddress>& ipv6_section() {
    static const Section<InterfaceAddress> s = make_interface_section(AddressFamily::ipv6);
    return s;
}

// Keys shared by the hidden primary and the public nameservers.
template <class T>
void add_host_keys(Section<T>& s) {
    constexpr bool primary = std::is_same_v<T, PrimaryServer>;
    s.add({.name = "cluster",
           .type = schema::identifier(),
           .required = true,
           .doc = "Name of the cluster (a key of `clusters`) that runs the VM.",
           .example = primary ? "pa5" : "th2"},
          &Host::cluster);
    if constexpr (!primary) {
        s.add({.name = "asn",
               .type = schema::integer(1, 4294967294),
               .required = true,
               .doc = "Autonomous system that announces the nameserver's addresses (cross-checked against "
                      "`asn_sources`).",
               .example = "199275"},
              &Nameserver::asn);
    }
    s.add({.name = "vmid",
           .type = schema::integer(Vmid::kMin, Vmid::kMax),
           .required = true,
           .doc = "Proxmox VM id; unique within its cluster. dnsctl never picks one itself.",
           .example = primary ? "5300" : "5301"},
          &Host::vmid);
    if constexpr (primary) {
        s.add_choice({.name = "software",
                      .default_text = "knot",
                      .doc = "The hidden primary signs the zones with Knot DNS; no other value is accepted.",
                      .example = "knot"},
                     &Host::software, kPrimarySoftwares);
    } else {
        s.add_choice({.name = "software",
                      .default_text = "knot",
                      .doc = "DNS server software. The policy requires `min_softwares` different ones across the "
                             "nameservers, so one bug cannot take them all down.",
                      .example = "nsd"},
                     &Host::software, kSoftwares);
    }
    s.add_section({.name = "ipv4", .doc = "IPv4 address and gateway.", .example = ""}, &Host::ipv4, ipv4_section());
    s.add_section({.name = "ipv6", .doc = "IPv6 address and gateway.", .example = ""}, &Host::ipv6, ipv6_section());
    s.add_section({.name = "resources", .doc = "VM size; every key has a default."}, &Host::resources,
                  resources_section());
    s.rule({"ipv4", "ipv6"}, "at least one of `ipv4` and `ipv6`", [](const T& host, RuleContext& ctx) {
        if (!host.ipv4 && !host.ipv6) ctx.error("needs an address: give `ipv4`, `ipv6` or both");
    });
}

const Section<PrimaryServer>& primary_section() {
    static const Section<PrimaryServer> s = [] {
        Section<PrimaryServer> s("primary",
                                 "The hidden primary: a Knot DNS VM that holds the zones and their DNSSEC keys, "
                                 "signs, and sends NOTIFY and zone transfers (TSIG) to the nameservers. It is in "
                                 "no zone's NS RRset.");
        s.add({.name = "fqdn",
               .type = schema::dns_name(),
               .required = true,
               .doc = "The primary's host name. Must not appear in any zone's apex NS RRset.",
               .example = "primary.rdem-systems.net",
               .checks = {at_least_two_labels()}},
              &Host::fqdn);
        add_host_keys(s);
        return s;
    }();
    return s;
}

const Section<Nameserver>& nameserver_section() {
    static const Section<Nameserver> s = [] {
        Section<Nameserver> s("nameservers.<fqdn>",
                              "A public nameserver (a secondary of the primary), keyed by its host name as it "
                              "appears in the zones' NS RRsets.");
        add_host_keys(s);
        return s;
    }();
    return s;
}

const Section<ApiToken>& readonly_token_section() {
    static const Section<ApiToken> s = [] {
        Section<ApiToken> s("clusters.<name>.readonly_token",
                            "An API token with read-only rights, used by `dnsctl check` instead of the main token.");
        s.add({.name = "id",
               .type = schema::text(),
               .required = true,
               .doc = "Token id.",
               .example = "dnsctl@pve!check",
               .checks = {proxmox_token_id()}},
              &ApiToken::id);
        s.add({.name = "secret",
               .type = schema::secret_ref(),
               .required = true,
               .doc = "Where the token's secret is read from.",
               .example = "env:DNSCTL_TH2_READONLY_TOKEN"},
              &ApiToken::secret);
        return s;
    }();
    return s;
}

const Section<ClusterTls>& tls_section() {
    static const Section<ClusterTls> s = [] {
        Section<ClusterTls> s("clusters.<name>.tls",
                              "How the API's certificate is verified: exactly one of the three keys. There is no "
                              "way to turn verification off. A cluster with a publicly trusted certificate can "
                              "give the system bundle as `ca_file`.");
        s.add({.name = "ca_file",
               .type = schema::path(),
               .doc = "PEM file with the CA certificate(s) that signed the API certificate.",
               .example = "pki/th2-ca.pem"},
              &ClusterTls::ca_file);
        s.add({.name = "fingerprint",
               .type = schema::fingerprint(),
               .doc = "SHA-256 fingerprint of the API's leaf certificate (`ssl_fingerprint` of `GET /nodes`, or "
                      "`pvenode cert info`), pinned.",
               .example = "5C:3E:…:9A (32 bytes)"},
              &ClusterTls::fingerprint_sha256);
        s.add({.name = "fingerprint_file",
               .type = schema::path(),
               .doc = "File holding such a fingerprint (one line).",
               .example = "pki/th2.sha256"},
              &ClusterTls::fingerprint_file);
        s.rule({"ca_file", "fingerprint", "fingerprint_file"},
               "exactly one of `ca_file`, `fingerprint`, `fingerprint_file`",
               [](const ClusterTls& tls, RuleContext& ctx) {
                   int given = (tls.ca_file ? 1 : 0) + (tls.fingerprint_sha256 ? 1 : 0) +
                               (tls.fingerprint_file ? 1 : 0);
                   if (given == 0) {
                       ctx.error("needs one of ca_file, fingerprint or fingerprint_file: certificate verification "
                                 "cannot be turned off");
                   } else if (given > 1) {
                       ctx.error("give exactly one of ca_file, fingerprint and fingerprint_file");
                   }
               });
        return s;
    }();
    return s;
}

const Section<Cluster>& cluster_section() {
    static const Section<Cluster> s = [] {
        Section<Cluster> s("clusters.<name>",
                           "A Proxmox VE cluster, keyed by a short name used in addresses such as "
                           "`vm[th2/5301]`. Each cluster is a failure domain of its own.");
        s.add({.name = "datacenter",
               .type = schema::text(),
               .required = true,
               .doc = "Where the cluster runs; a diversity dimension (two clusters may share one).",
               .example = "Telehouse 2"},
              &Cluster::datacenter);
        s.add({.name = "api_url",
               .type = schema::https_url(),
               .required = true,
               .doc = "Base URL of the cluster's API (any node of it).",
               .example = "https://198.19.0.11:8006"},
              &Cluster::api_url);
        s.add_at({.name = "token_id",
                  .type = schema::text(),
                  .required = true,
                  .doc = "API token dnsctl uses.",
                  .example = "dnsctl@pve!apply",
                  .checks = {proxmox_token_id()}},
                 [](Cluster& c) -> std::string& { return c.token.id; });
        s.add_at({.name = "token_secret",
                  .type = schema::secret_ref(),
                  .required = true,
                  .doc = "Where the token's secret (a UUID) is read from; never the secret itself.",
                  .example = "env:DNSCTL_TH2_TOKEN"},
                 [](Cluster& c) -> SecretRef& { return c.token.secret; });
        s.add_section({.name = "readonly_token", .doc = "Optional read-only token for `dnsctl check`."},
                      &Cluster::readonly_token, readonly_token_section());
        s.add_section({.name = "tls", .required = true, .doc = "Certificate verification of the API."},
                      &Cluster::tls, tls_section());
        s.add({.name = "node",
               .type = schema::node_name(),
               .required = true,
               .doc = "Node on which dnsctl creates the VMs.",
               .example = "pve-th2-1"},
              &Cluster::node);
        s.add({.name = "template_vmid",
               .type = schema::integer(Vmid::kMin, Vmid::kMax),
               .required = true,
               .doc = "VMID of the cloud-init template the VMs are cloned from (full clone).",
               .example = "9000"},
              &Cluster::template_vmid);
        s.add({.name = "storage",
               .type = schema::identifier(),
               .required = true,
               .doc = "Storage for the VMs' disks.",
               .example = "local-lvm"},
              &Cluster::storage);
        s.add({.name = "bridge",
               .type = schema::identifier(),
               .default_text = "vmbr0",
               .doc = "Bridge the VMs' network interface is attached to.",
               .example = "vmbr0",
               .checks = {interface_name()}},
              &Cluster::bridge);
        s.add({.name = "vlan",
               .type = schema::integer(1, 4094),
               .doc = "VLAN tag on the bridge; none when absent.",
               .example = "53"},
              &Cluster::vlan);
        s.add({.name = "resolvers",
               .type = schema::list_of(schema::ip_address()),
               .doc = "Recursive resolvers the VMs on this cluster use (cloud-init `nameserver`). When absent, "
                      "dnsctl leaves the VMs' resolver settings alone (cloud-init then copies the Proxmox "
                      "host's).",
               .example = "[2001:db8:53::53, 198.51.100.2]"},
              &Cluster::resolvers);
        s.add({.name = "searchdomain",
               .type = schema::dns_name(),
               .doc = "DNS search domain of the VMs on this cluster (cloud-init `searchdomain`); only with "
                      "`resolvers`. Default: the parent domain of each VM's name.",
               .example = "rdem-systems.eu"},
              &Cluster::searchdomain);
        s.rule({"resolvers", "searchdomain"}, "`searchdomain` only together with `resolvers`",
               [](const Cluster& cluster, RuleContext& ctx) {
                   if (cluster.searchdomain && cluster.resolvers.empty()) {
                       ctx.error("searchdomain is given without resolvers: dnsctl manages both or neither");
                   }
               });
        return s;
    }();
    return s;
}

const Section<Zone>& zone_section() {
    static const Section<Zone> s = [] {
        Section<Zone> s("zones.<name>",
                        "A zone served by every nameserver, keyed by its name. Its master file is read at load "
                        "time: its apex NS RRset must equal the inventory's nameservers and must not name the "
                        "primary.");
        s.add({.name = "file",
               .type = schema::path(),
               .required = true,
               .doc = "Master file (RFC 1035 syntax; `$INCLUDE` is not supported). The primary manages the SOA "
                      "serial.",
               .example = "zones/rdem-systems.eu.zone"},
              &Zone::file);
        s.add({.name = "dnssec",
               .type = schema::identifier(),
               .required = true,
               .doc = "Name of a DNSSEC policy (a key of `dnssec_policies`), or `off` for an unsigned zone.",
               .example = "default"},
              [](Zone& zone, schema::Walker& walker, const DocNode* value, const KeyInfo& key) {
                  if (value == nullptr) return;
                  auto parsed = walker.scalar(*value, key);
                  if (!parsed) return;
                  const auto& name = std::get<std::string>(*parsed);
                  if (name == "off") {
                      zone.dnssec.reset();
                  } else {
                      zone.dnssec = name;
                  }
              });
        return s;
    }();
    return s;
}

const Section<DnssecPolicy>& dnssec_policy_section() {
    static const Section<DnssecPolicy> s = [] {
        Section<DnssecPolicy> s(
            "dnssec_policies.<name>",
            "How the primary signs (rendered as a Knot `policy`). Defaults: ECDSA P-256, NSEC3 without extra "
            "iterations or salt (RFC 9276), signatures valid 21 days and refreshed when 14 days remain, so a "
            "nameserver always holds signatures valid for more than the policy's `primary_outage`.");
        s.add({.name = "algorithm",
               .type = schema::choice({"rsasha256", "rsasha512", "ecdsap256sha256", "ecdsap384sha384", "ed25519",
                                       "ed448"}),
               .default_text = "ecdsap256sha256",
               .doc = "DNSSEC signing algorithm.",
               .example = "ecdsap256sha256"},
              &DnssecPolicy::algorithm);
        s.add({.name = "ksk_lifetime",
               .type = schema::duration(),
               .default_text = "0",
               .doc = "KSK lifetime; `0` = no automatic KSK rollover (a rollover needs a DS change at the parent).",
               .example = "365d"},
              &DnssecPolicy::ksk_lifetime);
        s.add({.name = "zsk_lifetime",
               .type = schema::duration(),
               .default_text = "90d",
               .doc = "ZSK lifetime (automatic rollover); `0` = none.",
               .example = "90d"},
              &DnssecPolicy::zsk_lifetime);
        s.add({.name = "rrsig_lifetime",
               .type = schema::duration(),
               .default_text = "21d",
               .doc = "Validity period of new signatures.",
               .example = "21d"},
              &DnssecPolicy::rrsig_lifetime);
        s.add({.name = "rrsig_refresh",
               .type = schema::duration(),
               .default_text = "14d",
               .doc = "Signatures are renewed when this much validity remains: the least validity a nameserver "
                      "holds, so it must exceed the policy's `primary_outage`.",
               .example = "14d"},
              &DnssecPolicy::rrsig_refresh);
        s.add_choice({.name = "denial",
                      .default_text = "nsec3",
                      .doc = "Authenticated denial of existence.",
                      .example = "nsec3"},
                     &DnssecPolicy::denial, kDenials);
        s.add({.name = "nsec3_iterations",
               .type = schema::integer(0, 500),
               .default_text = "0",
               .doc = "Extra NSEC3 hash iterations; RFC 9276 asks for 0.",
               .example = "0"},
              &DnssecPolicy::nsec3_iterations);
        s.add({.name = "nsec3_salt_length",
               .type = schema::integer(0, 255),
               .default_text = "0",
               .doc = "NSEC3 salt length in bytes; RFC 9276 asks for 0.",
               .example = "0"},
              &DnssecPolicy::nsec3_salt_length);
        s.rule({"rrsig_lifetime", "rrsig_refresh"}, "`rrsig_refresh` is shorter than `rrsig_lifetime`",
               [](const DnssecPolicy& p, RuleContext& ctx) {
                   if (p.rrsig_refresh >= p.rrsig_lifetime) {
                       ctx.error("rrsig_refresh",
                                 fmt::format("{} is not shorter than rrsig_lifetime {}: signatures would be renewed "
                                             "as soon as they are made",
                                             format_duration(p.rrsig_refresh), format_duration(p.rrsig_lifetime)));
                   }
               });
        s.rule({"denial", "nsec3_iterations", "nsec3_salt_length"},
               "`nsec3_iterations` and `nsec3_salt_length` only with `denial: nsec3`",
               [](const DnssecPolicy& p, RuleContext& ctx) {
                   if (p.denial != Denial::nsec) return;
                   for (auto key : {"nsec3_iterations", "nsec3_salt_length"}) {
                       if (ctx.given(key)) ctx.error(key, "applies only with denial: nsec3 (denial is nsec)");
                   }
               });
        return s;
    }();
    return s;
}

const Section<TsigKey>& tsig_section() {
    static const Section<TsigKey> s = [] {
        Section<TsigKey> s("tsig", "The TSIG key that authenticates NOTIFY and zone transfers between the primary "
                                   "and the nameservers.");
        s.add({.name = "name",
               .type = schema::identifier(),
               .required = true,
               .doc = "Key name, as the DNS servers' configurations know it.",
               .example = "dnsctl-xfr"},
              &TsigKey::name);
        s.add({.name = "algorithm",
               .type = schema::choice({"hmac-sha256", "hmac-sha384", "hmac-sha512"}),
               .default_text = "hmac-sha256",
               .doc = "HMAC algorithm.",
               .example = "hmac-sha256"},
              &TsigKey::algorithm);
        s.add({.name = "secret",
               .type = schema::secret_ref(),
               .required = true,
               .doc = "Where the base64 key is read from (e.g. the output of `keymgr -t dnsctl-xfr hmac-sha256`).",
               .example = "env:DNSCTL_TSIG_SECRET"},
              &TsigKey::secret);
        return s;
    }();
    return s;
}

const Section<SshSettings>& ssh_section() {
    static const Section<SshSettings> s = [] {
        Section<SshSettings> s("ssh", "How dnsctl logs in to its VMs. Host keys are always verified.");
        s.add({.name = "user",
               .type = schema::text(),
               .default_text = "dnsctl",
               .doc = "Login user, created by cloud-init.",
               .example = "dnsctl",
               .checks = {unix_user()}},
              &SshSettings::user);
        s.add({.name = "key_file",
               .type = schema::path(),
               .required = true,
               .doc = "Private key dnsctl logs in with; its public half (`key_file` + `.pub`) goes to cloud-init.",
               .example = "/etc/dnsctl/id_ed25519"},
              &SshSettings::key_file);
        s.add({.name = "known_hosts",
               .type = schema::path(),
               .doc = "known_hosts file dnsctl pins the VMs' host keys in. Default: `known_hosts` in `state_dir`.",
               .example = ".dnsctl/known_hosts"},
              &SshSettings::known_hosts);
        s.add({.name = "extra_authorized_keys",
               .type = schema::list_of(schema::text()),
               .doc = "More public keys (OpenSSH lines) authorised on every VM, for operators.",
               .example = "[\"ssh-ed25519 AAAA… admin@example.net\"]",
               .checks = {openssh_public_key()}},
              &SshSettings::extra_authorized_keys);
        s.add({.name = "port",
               .type = schema::integer(1, 65535),
               .default_text = "22",
               .doc = "SSH port on the VMs.",
               .example = "22"},
              &SshSettings::port);
        return s;
    }();
    return s;
}

const Section<AsnSource>& asn_source_section() {
    static const Section<AsnSource> s = [] {
        Section<AsnSource> s("asn_sources[]",
                             "Where the ASNs declared on the nameservers are cross-checked: `static` trusts the "
                             "inventory, `file` reads an ip-to-asn table, `dns` asks a Cymru-style TXT zone.");
        s.add_choice({.name = "type", .required = true, .doc = "Kind of source.", .example = "dns"}, &AsnSource::kind,
                     kAsnSourceKinds);
        s.add({.name = "path",
               .type = schema::path(),
               .doc = "`file` only: the ip-to-asn table.",
               .example = "asn/ip2asn-v4.tsv"},
              &AsnSource::path);
        s.add({.name = "zone",
               .type = schema::dns_name(),
               .doc = "`dns` only: the zone that answers TXT lookups of reversed addresses.",
               .example = "origin.asn.cymru.com"},
              &AsnSource::zone);
        s.rule({"type", "path", "zone"}, "`path` exactly with `type: file`, `zone` exactly with `type: dns`",
               [](const AsnSource& a, RuleContext& ctx) {
                   bool file = a.kind == AsnSource::Kind::file;
                   bool dns = a.kind == AsnSource::Kind::dns;
                   if (file && !a.path) ctx.error("type: file needs `path`");
                   if (dns && !a.zone) ctx.error("type: dns needs `zone`");
                   if (!file && a.path) ctx.error("path", "applies only to type: file");
                   if (!dns && a.zone) ctx.error("zone", "applies only to type: dns");
               });
        return s;
    }();
    return s;
}

std::vector<std::string_view> dimension_names() {
    std::vector<std::string_view> names;
    for (auto d : {Dimension::asn, Dimension::datacenter, Dimension::cluster, Dimension::tld,
                   Dimension::registrable_domain, Dimension::ipv4_prefix, Dimension::ipv6_prefix,
                   Dimension::software}) {
        names.push_back(to_string(d));
    }
    return names;
}

const Section<DiversityPolicy>& policy_section() {
    static const Section<DiversityPolicy> s = [] {
        Section<DiversityPolicy> s(
            "policy",
            "The diversity policy (RFC 2182) that `dnsctl validate` and every run check. The defaults are the "
            "reference estate's strict policy.");
        s.add({.name = "min_nameservers",
               .type = schema::integer(2, 64),
               .default_text = "4",
               .doc = "Fewest public nameservers.",
               .example = "4"},
              &DiversityPolicy::min_nameservers);
        s.add({.name = "distinct",
               .type = schema::list_of(schema::choice(dimension_names())),
               .default_text = "[asn, datacenter, cluster, tld, registrable_domain, ipv4_prefix, ipv6_prefix]",
               .doc = "Dimensions in which no two nameservers may share a value. `tld` is the top-level label "
                      "(the registry), `registrable_domain` comes from the Public Suffix List, the prefixes use "
                      "the lengths below.",
               .example = "[asn, datacenter, tld]"},
              [](DiversityPolicy& p, schema::Walker& walker, const DocNode* value, const KeyInfo& key) {
                  auto items = value != nullptr ? walker.scalar_list(*value, key)
                                                : walker.scalar_list(walker.default_node(key), key);
                  if (!items) return;
                  p.distinct.clear();
                  for (const auto& item : *items) {
                      if (auto d = parse_dimension(std::get<std::string>(item))) p.distinct.insert(*d);
                  }
              });
        s.add({.name = "ipv4_prefix_length",
               .type = schema::integer(8, 32),
               .default_text = "24",
               .doc = "IPv4 prefix that counts as one network for `ipv4_prefix`.",
               .example = "24"},
              &DiversityPolicy::ipv4_prefix_length);
        s.add({.name = "ipv6_prefix_length",
               .type = schema::integer(16, 128),
               .default_text = "48",
               .doc = "IPv6 prefix that counts as one network for `ipv6_prefix`.",
               .example = "48"},
              &DiversityPolicy::ipv6_prefix_length);
        s.add({.name = "min_softwares",
               .type = schema::integer(1, 3),
               .default_text = "2",
               .doc = "Fewest different server softwares among the nameservers.",
               .example = "2"},
              &DiversityPolicy::min_softwares);
        s.add({.name = "min_surviving",
               .type = schema::integer(1, 64),
               .default_text = "2",
               .doc = "N-1 rule: after losing any one value of any dimension (one ASN, datacenter, cluster, TLD, "
                      "software, …), at least this many nameservers still answer, per address family.",
               .example = "2"},
              &DiversityPolicy::min_surviving);
        s.add({.name = "primary_outage",
               .type = schema::duration(),
               .default_text = "7d",
               .doc = "How long the hidden primary may be down: every zone's SOA expire and the signatures' "
                      "remaining validity must outlast it.",
               .example = "7d"},
              &DiversityPolicy::primary_outage);
        return s;
    }();
    return s;
}

}  // namespace

const Section<Inventory>& inventory_schema() {
    static const Section<Inventory> s = [] {
        Section<Inventory> s("top level", "The keys of the inventory file itself.");
        s.add({.name = "version",
               .type = schema::integer(1, 1'000'000),
               .required = true,
               .doc = "Format version of the inventory.",
               .example = "1",
               .checks = {version_one()}},
              &Inventory::version);
        s.add({.name = "estate",
               .type = schema::identifier(),
               .required = true,
               .doc = "Id of the estate, written in the ownership marker of every VM and file dnsctl manages "
                      "(`managed-by: dnsctl estate=<estate>`). Never change it on a running estate: dnsctl would "
                      "no longer recognise its VMs.",
               .example = "rdem-systems"},
              &Inventory::estate);
        s.add({.name = "state_dir",
               .type = schema::path(),
               .default_text = ".dnsctl",
               .doc = "dnsctl's own files: known_hosts and the run lock. Nothing in it is needed to plan "
                      "correctly.",
               .example = "/var/lib/dnsctl/rdem"},
              &Inventory::state_dir);
        s.add_map({.name = "clusters",
                   .type = schema::map_of(Kind::identifier, cluster_section().info(), 1),
                   .required = true,
                   .doc = "The Proxmox VE clusters, by name."},
                  &Inventory::clusters, &Cluster::name, cluster_section());
        s.add_section({.name = "primary", .required = true, .doc = "The hidden primary."}, &Inventory::primary,
                      primary_section());
        s.add_map({.name = "nameservers",
                   .type = schema::map_of(Kind::dns_name, nameserver_section().info(), 1),
                   .required = true,
                   .doc = "The public nameservers, by host name."},
                  &Inventory::nameservers, &Host::fqdn, nameserver_section());
        s.add_map({.name = "zones",
                   .type = schema::map_of(Kind::dns_name, zone_section().info()),
                   .required = true,
                   .doc = "The zones, by name."},
                  &Inventory::zones, &Zone::name, zone_section());
        s.add_map({.name = "dnssec_policies",
                   .type = schema::map_of(Kind::identifier, dnssec_policy_section().info()),
                   .doc = "Signing policies, by name (zones refer to them)."},
                  &Inventory::dnssec_policies, &DnssecPolicy::name, dnssec_policy_section());
        s.add_section({.name = "tsig", .required = true, .doc = "TSIG key for NOTIFY and transfers."},
                      &Inventory::tsig, tsig_section());
        s.add_section({.name = "ssh", .required = true, .doc = "SSH access to the VMs."}, &Inventory::ssh,
                      ssh_section());
        s.add_list({.name = "asn_sources",
                    .type = schema::list_of(schema::section(asn_source_section().info())),
                    .doc = "ASN cross-check sources, tried in order. None: the declared ASNs are not "
                           "cross-checked."},
                   &Inventory::asn_sources, asn_source_section());
        s.add_section({.name = "policy", .doc = "Diversity policy; every key has a default."}, &Inventory::policy,
                      policy_section());
        return s;
    }();
    return s;
}

}  // namespace dnsctl
