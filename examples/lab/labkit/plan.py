"""Names and the address plan of the lab, and what it reads from an inventory.

Every address the lab uses lies in a documentation or benchmarking prefix
(RFC 5737, RFC 2544, RFC 3849). 192.0.2.0/24 is never used: on machines of
this kind it can be the real uplink's subnet.
"""
import dataclasses
import hashlib
import ipaddress
import pathlib

import yaml

LAB_DIR = pathlib.Path(__file__).resolve().parents[1]      # examples/lab
REPO_DIR = LAB_DIR.parents[1]
STATE_DIR = LAB_DIR / ".lab"
DEFAULT_INVENTORY = LAB_DIR / "inventory.yaml"
ROOT_HINTS = LAB_DIR / "root.hints"
PVE_SIM_CONFIG = LAB_DIR / "pve-sim.yaml"
HOOK = LAB_DIR / "hooks" / "vm"

# The only prefixes the lab may route, and the one it must never touch.
LAB_PREFIXES = [ipaddress.ip_network(p) for p in
                ("198.51.100.0/24", "203.0.113.0/24", "198.18.0.0/15", "2001:db8::/32")]
FORBIDDEN_PREFIXES = [ipaddress.ip_network("192.0.2.0/24")]

BRIDGE = "dnslab0"
NETNS_PREFIX = "dnslab-"
LINK_PREFIX = "dl-"
ROUTER_NS = "dnslab-router"
PROBE_NS = "dnslab-probe"

# The link between the machine (root namespace) and the lab's router.
MGMT_V4 = ipaddress.ip_interface("198.18.0.1/24")          # on the bridge, root namespace
MGMT_V6 = ipaddress.ip_interface("2001:db8::1/64")
ROUTER_MGMT_V4 = ipaddress.ip_interface("198.18.0.254/24")  # the router's leg on that link
ROUTER_MGMT_V6 = ipaddress.ip_interface("2001:db8::fe/64")
PROBE_V4 = ipaddress.ip_interface("198.18.0.2/24")          # a client namespace for tools
PROBE_V6 = ipaddress.ip_interface("2001:db8::2/64")

# The mini-internet's own subnet: root, TLD and ASN-lookup servers.
INTERNET_V4 = ipaddress.ip_network("198.18.53.0/24")
INTERNET_V6 = ipaddress.ip_network("2001:db8:53::/64")
INTERNET_GW_V4 = ipaddress.ip_address("198.18.53.1")
INTERNET_GW_V6 = ipaddress.ip_address("2001:db8:53::1")
TLD_SERVER_V4 = "198.18.53.{}"
TLD_SERVER_V6 = "2001:db8:53::{}"
ASN_SERVER_V4 = ipaddress.ip_address("198.18.53.30")
ASN_SERVER_V6 = ipaddress.ip_address("2001:db8:53::30")
# Documentation ASNs (RFC 5398) for the lab's own infrastructure.
INTERNET_ASN = 64496
MGMT_ASN = 64497
ASN_ZONES = ("asn.cymru.com", "asnlookup.zonemaster.net")
GTLD_SERVER = "a.gtld-servers.net"

PVE_SIM_PORTS = {"th2": 18106, "pa4": 18107, "pa5": 18108, "pa3": 18109}
PVE_SIM_ADMIN = "127.0.0.1:18199"


class PlanError(Exception):
    """The inventory or the machine does not allow the lab to start."""


def in_lab(network):
    """True when the address or network lies inside one of the lab prefixes."""
    if isinstance(network, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        network = ipaddress.ip_network(network)
    return any(network.version == p.version and network.subnet_of(p) for p in LAB_PREFIXES)


def forbidden(network):
    if isinstance(network, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        network = ipaddress.ip_network(network)
    return any(network.version == p.version and network.overlaps(p) for p in FORBIDDEN_PREFIXES)


def host_netns(cluster, vmid):
    return f"{NETNS_PREFIX}{cluster}-{vmid}"


def host_link(cluster, vmid):
    """The root-namespace end of a host's veth: at most 15 characters."""
    name = f"{LINK_PREFIX}{cluster}-{vmid}"
    if len(name) <= 15:
        return name
    return LINK_PREFIX + hashlib.sha256(f"{cluster}/{vmid}".encode()).hexdigest()[:12]


def reverse_v4(prefix):
    """Labels of a /8, /16 or /24 IPv4 prefix, reversed: 198.51.100.0/24 -> 100.51.198."""
    octets = str(prefix.network_address).split(".")[: prefix.prefixlen // 8]
    return ".".join(reversed(octets))


def reverse_v6(prefix):
    """Nibbles of an IPv6 prefix (length a multiple of 4), reversed."""
    nibbles = prefix.network_address.exploded.replace(":", "")[: prefix.prefixlen // 4]
    return ".".join(reversed(nibbles))


@dataclasses.dataclass
class Server:
    """One host of the estate as the inventory describes it."""
    fqdn: str
    role: str                  # primary or nameserver
    cluster: str
    vmid: int
    asn: int | None
    ipv4: ipaddress.IPv4Interface | None
    gw4: ipaddress.IPv4Address | None
    ipv6: ipaddress.IPv6Interface | None
    gw6: ipaddress.IPv6Address | None


@dataclasses.dataclass
class Estate:
    """What the lab needs from an inventory: hosts, zones, the prefix lengths the ASN zone announces."""
    path: pathlib.Path
    servers: list
    zones: list
    ipv4_prefix_length: int
    ipv6_prefix_length: int

    @property
    def nameservers(self):
        return [s for s in self.servers if s.role == "nameserver"]

    def tlds(self):
        names = [s.fqdn for s in self.nameservers] + list(self.zones)
        return sorted({n.rstrip(".").rsplit(".", 1)[-1] for n in names})

    def subnets(self):
        out = []
        for s in self.servers:
            for iface, gw in ((s.ipv4, s.gw4), (s.ipv6, s.gw6)):
                if iface is not None:
                    out.append((iface.network, gw))
        return out

    def announced_prefixes(self):
        """(prefix, asn) for each nameserver's addresses, at the policy's prefix lengths.
        The primary is announced by the ASN of a nameserver sharing its prefix, else none."""
        out = {}
        for s in self.nameservers:
            for iface, length in ((s.ipv4, self.ipv4_prefix_length), (s.ipv6, self.ipv6_prefix_length)):
                if iface is None:
                    continue
                prefix = ipaddress.ip_network(f"{iface.ip}/{length}", strict=False)
                out.setdefault(prefix, s.asn)
        return sorted(out.items(), key=lambda item: (item[0].version, item[0]))


def _host_name(name):
    return str(name).rstrip(".").lower()


def _server(fqdn, role, entry, where):
    if not isinstance(entry, dict):
        raise PlanError(f"{where}: expected a map")
    ipv4 = ipv6 = gw4 = gw6 = None
    try:
        if entry.get("ipv4"):
            ipv4 = ipaddress.IPv4Interface(entry["ipv4"]["address"])
            gw4 = ipaddress.IPv4Address(entry["ipv4"]["gateway"])
        if entry.get("ipv6"):
            ipv6 = ipaddress.IPv6Interface(entry["ipv6"]["address"])
            gw6 = ipaddress.IPv6Address(entry["ipv6"]["gateway"])
        vmid = int(entry["vmid"])
        cluster = str(entry["cluster"])
    except (KeyError, TypeError, ValueError) as error:
        raise PlanError(f"{where}: {error} (run `dnsctl validate` on the inventory)") from None
    asn = entry.get("asn")
    return Server(_host_name(fqdn), role, cluster, vmid, int(asn) if asn is not None else None,
                  ipv4, gw4, ipv6, gw6)


def load_estate(path):
    """Reads the parts of an inventory the lab needs. The full checks are dnsctl's
    (`dnsctl validate`); this only refuses what would make the lab unsafe."""
    path = pathlib.Path(path).resolve()
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise PlanError(f"{path}: {error}") from None
    if not isinstance(document, dict):
        raise PlanError(f"{path}: not an inventory")
    servers = [_server(document.get("primary", {}).get("fqdn", "primary"), "primary",
                       document.get("primary"), f"{path}: primary")]
    for fqdn, entry in (document.get("nameservers") or {}).items():
        servers.append(_server(fqdn, "nameserver", entry, f"{path}: nameservers[{fqdn}]"))
    zones = sorted(_host_name(z) for z in (document.get("zones") or {}))
    policy = document.get("policy") or {}
    estate = Estate(path, servers, zones, int(policy.get("ipv4_prefix_length", 24)),
                    int(policy.get("ipv6_prefix_length", 48)))
    check_estate(estate)
    return estate


def reserved_networks():
    """Subnets the lab keeps for itself."""
    return [MGMT_V4.network, MGMT_V6.network, INTERNET_V4, INTERNET_V6]


def check_estate(estate):
    problems = []
    for server in estate.servers:
        for iface, gw in ((server.ipv4, server.gw4), (server.ipv6, server.gw6)):
            if iface is None:
                continue
            if forbidden(iface.network):
                problems.append(f"{server.fqdn}: {iface} is in 192.0.2.0/24, which the lab never uses")
            elif not in_lab(iface.network):
                problems.append(f"{server.fqdn}: {iface} is outside the lab prefixes "
                                f"({', '.join(map(str, LAB_PREFIXES))})")
            for reserved in reserved_networks():
                if iface.network.version == reserved.version and iface.network.overlaps(reserved):
                    problems.append(f"{server.fqdn}: {iface} overlaps {reserved}, which the lab keeps for itself")
            if gw not in iface.network:
                problems.append(f"{server.fqdn}: gateway {gw} is outside {iface.network}")
    if problems:
        raise PlanError("the inventory does not fit the lab:\n  " + "\n  ".join(problems))


def read_root_hints(path=ROOT_HINTS):
    """The root server's name and addresses from the hints file (the single source of truth)."""
    name, v4, v6 = None, None, None
    for line in pathlib.Path(path).read_text().splitlines():
        fields = line.split()
        if len(fields) < 5 or line.lstrip().startswith(";"):
            continue
        owner, _ttl, klass, rtype, data = fields[:5]
        if klass != "IN":
            continue
        if owner == "." and rtype == "NS":
            name = data.rstrip(".").lower()
        elif rtype == "A":
            v4 = (owner.rstrip(".").lower(), ipaddress.IPv4Address(data))
        elif rtype == "AAAA":
            v6 = (owner.rstrip(".").lower(), ipaddress.IPv6Address(data))
    if not name or not v4 or not v6 or v4[0] != name or v6[0] != name:
        raise PlanError(f"{path}: expected '. NS name' with an A and an AAAA for that name")
    if not in_lab(v4[1]) or not in_lab(v6[1]):
        raise PlanError(f"{path}: the root server's addresses must lie in the lab prefixes")
    return name, v4[1], v6[1]
