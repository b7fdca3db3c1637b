"""The mini-internet: a root server, the TLD servers the estate needs and an
ASN-lookup server, each a knotd in a network namespace of its own.

    dnslab-root  a.root-servers.net           the root zone (signed)
    dnslab-tld   a.gtld-servers.net, a.nic.X  com, net and every other TLD of the estate (signed)
    dnslab-asn   ns.asn.cymru.com,            asn.cymru.com and asnlookup.zonemaster.net (Cymru TXT format)
                 ns.asnlookup.zonemaster.net

The registry: delegations (NS and glue) for the estate's zones are published in
their TLD from the inventory when the lab starts, and DS records later with
`lab publish-ds`. STATE_DIR/internet/registry.json keeps what is published; the
TLD zone files are rendered from it and Knot re-signs them on reload.
"""
import base64
import hashlib
import ipaddress
import json
import os
import pathlib
import re
import subprocess
import time

from . import dnsquery, kernel, plan, records

SERVERS = ("root", "tld", "asn")
SIGNED = {"root": True, "tld": True, "asn": False}


def netns_name(server):
    return f"{plan.NETNS_PREFIX}{server}"


def link_name(server):
    return f"{plan.LINK_PREFIX}{server}"


def server_dir(state_dir, server):
    return pathlib.Path(state_dir) / "internet" / server


class Layout:
    """Names and addresses of the mini-internet for one estate."""

    def __init__(self, estate, hints=plan.ROOT_HINTS):
        self.root_name, self.root_v4, self.root_v6 = plan.read_root_hints(hints)
        for address, network in ((self.root_v4, plan.INTERNET_V4), (self.root_v6, plan.INTERNET_V6)):
            if address not in network:
                raise plan.PlanError(f"{hints}: the root server's address {address} must lie in {network}")
        self.tlds = sorted(set(estate.tlds()) | {"com", "net"})
        self.tld_ns = {}          # tld -> name server name
        self.addresses = {}       # server name -> (v4, v6)
        self.addresses[self.root_name] = (self.root_v4, self.root_v6)
        self.addresses[plan.GTLD_SERVER] = (ipaddress.ip_address(plan.TLD_SERVER_V4.format(20)),
                                            ipaddress.ip_address(plan.TLD_SERVER_V6.format(20)))
        host = 21
        for tld in self.tlds:
            if tld in ("com", "net"):
                self.tld_ns[tld] = plan.GTLD_SERVER
                continue
            name = f"a.nic.{tld}"
            self.tld_ns[tld] = name
            self.addresses[name] = (ipaddress.ip_address(plan.TLD_SERVER_V4.format(host)),
                                    ipaddress.ip_address(plan.TLD_SERVER_V6.format(host)))
            host += 1
            if host >= 30:
                raise plan.PlanError("the lab serves at most nine TLDs besides com and net")
        self.asn_ns = {zone: f"ns.{zone}" for zone in plan.ASN_ZONES}
        for name in self.asn_ns.values():
            self.addresses[name] = (plan.ASN_SERVER_V4, plan.ASN_SERVER_V6)

    def server_addresses(self, server):
        if server == "root":
            names = [self.root_name]
        elif server == "tld":
            names = sorted(set(self.tld_ns.values()))
        else:
            names = sorted(set(self.asn_ns.values()))
        out = []
        for name in names:
            for address in self.addresses[name]:
                if address not in out:
                    out.append(address)
        return out

    def zones(self, server):
        if server == "root":
            return ["."]
        if server == "tld":
            return list(self.tlds)
        return list(plan.ASN_ZONES)


def _glue(layout, name, ttl=None):
    v4, v6 = layout.addresses[name]
    prefix = f"{name}. {ttl} " if ttl else f"{name}. "
    return [f"{prefix}A {v4}", f"{prefix}AAAA {v6}"]


def render_root(layout, tld_ds):
    lines = ["; the lab's root zone, rendered by `lab up` (signed by knotd)",
             "$TTL 86400",
             f". SOA {layout.root_name}. nstld.lab.invalid. 1 1800 900 604800 86400",
             f". NS {layout.root_name}."]
    lines += _glue(layout, layout.root_name)
    glued = {layout.root_name}
    for tld in layout.tlds:
        ns = layout.tld_ns[tld]
        lines.append(f"{tld}. 172800 NS {ns}.")
        if ns not in glued:
            lines += _glue(layout, ns, 172800)
            glued.add(ns)
        for ds in tld_ds.get(tld, []):
            lines.append(f"{tld}. 86400 DS {ds}")
    return "\n".join(lines) + "\n"


def render_tld(layout, tld, registry):
    ns = layout.tld_ns[tld]
    lines = [f"; TLD {tld}, rendered by `lab up` and `lab publish-ds` from the registry (signed by knotd)",
             "$TTL 3600",
             f"{tld}. SOA {ns}. hostmaster.nic.{tld}. 1 1800 900 604800 300",
             f"{tld}. NS {ns}."]
    # Names of the lab's own servers that live in this TLD (authoritative here).
    for name in sorted(layout.addresses):
        if name.endswith("." + tld) and not any(name.endswith("." + z) for z in plan.ASN_ZONES):
            lines += _glue(layout, name)
    for zone in plan.ASN_ZONES:
        if zone.rsplit(".", 1)[-1] == tld:
            lines.append(f"{zone}. NS {layout.asn_ns[zone]}.")
            lines += _glue(layout, layout.asn_ns[zone])
    for zone, delegation in sorted(registry["delegations"].items()):
        if delegation["parent"] != tld:
            continue
        lines.append(f"; {zone}: published from the inventory")
        for name in delegation["ns"]:
            lines.append(f"{zone}. 300 NS {name}.")
        for name, addresses in sorted(delegation["glue"].items()):
            for address in addresses:
                rtype = "A" if ipaddress.ip_address(address).version == 4 else "AAAA"
                lines.append(f"{name}. 300 {rtype} {address}")
        for ds in registry["ds"].get(zone, []):
            lines.append(f"{zone}. 60 DS {ds}")
    return "\n".join(lines) + "\n"


def render_asn(layout, zone, estate):
    ns = layout.asn_ns[zone]
    lines = [f"; {zone}: ASN lookups in the Cymru TXT format, rendered by `lab up`",
             "$TTL 300",
             f"{zone}. SOA {ns}. hostmaster.{zone}. 1 1800 900 604800 300",
             f"{zone}. NS {ns}."]
    lines += _glue(layout, ns)
    announced = list(estate.announced_prefixes())
    announced += [(plan.MGMT_V4.network, plan.MGMT_ASN), (ipaddress.ip_network("2001:db8::/48"), plan.MGMT_ASN),
                  (plan.INTERNET_V4, plan.INTERNET_ASN), (ipaddress.ip_network("2001:db8:53::/48"), plan.INTERNET_ASN)]
    seen = set()
    for prefix, asn in announced:
        if prefix in seen or asn is None:
            continue
        seen.add(prefix)
        if prefix.version == 4:
            if prefix.prefixlen % 8:
                raise plan.PlanError(f"ASN zone: IPv4 prefix {prefix} is not a multiple of 8 bits long")
            owner = f"*.{plan.reverse_v4(prefix)}.origin.{zone}."
        else:
            if prefix.prefixlen % 4:
                raise plan.PlanError(f"ASN zone: IPv6 prefix {prefix} is not a multiple of 4 bits long")
            owner = f"*.{plan.reverse_v6(prefix)}.origin6.{zone}."
        lines.append(f'{owner} TXT "{asn} | {prefix} | ZZ | lab | 2024-01-01"')
    return "\n".join(lines) + "\n"


def zone_file(state_dir, server, zone):
    name = "root" if zone == "." else zone
    return server_dir(state_dir, server) / "zones" / f"{name}.zone"


def render_knot_conf(state_dir, layout, server):
    folder = server_dir(state_dir, server)
    listen = ", ".join(f'"{a}@53"' for a in layout.server_addresses(server))
    lines = [
        f"# knotd of the lab's {server} server, written by `lab up`",
        "server:",
        f'    rundir: "{folder / "run"}"',
        f"    listen: [ {listen} ]",
        "    version: \"\"",
        "log:",
        "  - target: stderr",
        "    any: info",
        "database:",
        f'    storage: "{folder / "db"}"',
        "policy:",
        "  - id: lab",
        "    algorithm: ecdsap256sha256",
        "    ksk-lifetime: 0",
        "    zsk-lifetime: 0",
        "    nsec3: off",
        "template:",
        "  - id: default",
        f'    storage: "{folder / "zones"}"',
        "    zonefile-sync: -1",
        "    zonefile-load: difference-no-serial",
        "    journal-content: all",
        "    serial-policy: unixtime",
        "    semantic-checks: on",
    ]
    if SIGNED[server]:
        lines += ["    dnssec-signing: on", "    dnssec-policy: lab"]
    lines.append("zone:")
    for zone in layout.zones(server):
        lines.append(f'  - domain: "{zone}"')
        lines.append(f'    file: "{zone_file(state_dir, server, zone)}"')
    return "\n".join(lines) + "\n"


def empty_registry():
    return {"delegations": {}, "ds": {}}


def registry_path(state_dir):
    return pathlib.Path(state_dir) / "internet" / "registry.json"


def read_registry(state_dir):
    try:
        return json.loads(registry_path(state_dir).read_text())
    except FileNotFoundError:
        return empty_registry()


def write_registry(state_dir, registry):
    path = registry_path(state_dir)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(registry, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def delegations_from(estate, layout):
    """What a registrar publishes for each zone of the estate: NS at the TLD,
    glue for the name servers inside the zone."""
    out = {}
    skipped = []
    for zone in estate.zones:
        labels = zone.split(".")
        if len(labels) != 2 or labels[1] not in layout.tlds:
            skipped.append(zone)
            continue
        glue = {}
        for server in estate.nameservers:
            if server.fqdn == zone or server.fqdn.endswith("." + zone):
                glue[server.fqdn] = [str(i.ip) for i in (server.ipv4, server.ipv6) if i is not None]
        out[zone] = {"parent": labels[1], "ns": sorted(s.fqdn for s in estate.nameservers), "glue": glue}
    return out, skipped


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def prepare_server(state_dir, layout, server):
    folder = server_dir(state_dir, server)
    for sub in ("run", "db", "zones"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    _write(folder / "knot.conf", render_knot_conf(state_dir, layout, server))


def start_server(state_dir, server):
    """Starts knotd in the server's namespace, in the foreground, recorded by PID."""
    folder = server_dir(state_dir, server)
    with open(folder / "knotd.log", "ab") as log:
        process = subprocess.Popen(
            ["/usr/sbin/knotd", "-c", str(folder / "knot.conf")],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=lambda: kernel.enter_netns(netns_name(server)), close_fds=True)
    records.record_pid(state_dir, f"knotd-{server}", process.pid)
    # The lab's process is not this one's parent for long: knotd's exit status is
    # not needed, and `lab down` finds it by its record.
    process.returncode = 0
    return process.pid


def wait_served(address, zones, signed, deadline, pid=None):
    """Polls until every zone answers SOA with AA (and DNSKEY when signed)."""
    pending = list(zones)
    while pending:
        zone = pending[0]
        answer = dnsquery.query(address, zone, "SOA", timeout=0.3)
        ok = answer is not None and answer.rcode == 0 and answer.aa and "SOA" in answer.types()
        if ok and signed:
            keys = dnsquery.query(address, zone, "DNSKEY", timeout=0.3)
            ok = keys is not None and "DNSKEY" in keys.types()
        if ok:
            pending.pop(0)
            continue
        if pid is not None and not kernel.alive(pid):
            raise RuntimeError(f"knotd (PID {pid}) exited before serving {zone}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{address} does not serve {zone} yet (waited for it)")
        time.sleep(0.05)


def key_tag(rdata):
    """RFC 4034 appendix B."""
    total = 0
    for index, byte in enumerate(rdata):
        total += byte if index & 1 else byte << 8
    total += (total >> 16) & 0xFFFF
    return total & 0xFFFF


def ksks(address, zone, deadline):
    """The DNSKEY RDATA of a zone's KSKs (flags 257), as served."""
    while True:
        answer = dnsquery.query(address, zone, "DNSKEY", timeout=0.3, dnssec=True)
        if answer is not None:
            keys = [rdata for _n, rdata in answer.records("DNSKEY") if rdata[:2] == b"\x01\x01"]
            if keys:
                return keys
        if time.monotonic() > deadline:
            raise RuntimeError(f"{address} serves no KSK for {zone}")
        time.sleep(0.05)


def ds_of(zone, dnskey):
    """The SHA-256 DS of a DNSKEY, as "TAG ALG 2 HEX"."""
    owner = dnsquery.encode_name(zone.lower())
    digest = hashlib.sha256(owner + dnskey).hexdigest().upper()
    return f"{key_tag(dnskey)} {dnskey[3]} 2 {digest}"


def dnskey_text(dnskey):
    flags = int.from_bytes(dnskey[:2], "big")
    return f"{flags} {dnskey[2]} {dnskey[3]} {base64.b64encode(dnskey[4:]).decode()}"


def knotc(state_dir, server, *args):
    sock = server_dir(state_dir, server) / "run" / "knot.sock"
    return kernel.run(["knotc", "-s", str(sock), *args])


_DS_LENGTHS = {1: 40, 2: 64, 4: 96}


def _normalise_ds(text):
    fields = text.split()
    tag, alg, dtype = int(fields[0]), int(fields[1]), int(fields[2])
    digest = "".join(fields[3:]).upper()
    return f"{tag} {alg} {dtype} {digest}"


def parse_ds(zone, lines):
    """DS records from text: "TAG ALG TYPE HEX", optionally preceded by
    "OWNER [TTL] [IN] DS" as dig, kdig and keymgr print them."""
    out = []
    for raw in lines:
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if "DS" in (f.upper() for f in fields):
            index = [f.upper() for f in fields].index("DS")
            head, fields = fields[:index], fields[index + 1:]
            if head and head[0].rstrip(".").lower() != zone:
                raise ValueError(f"'{line}': the owner is not {zone}")
        if len(fields) < 4:
            raise ValueError(f"'{line}': expected KEYTAG ALGORITHM DIGESTTYPE DIGEST")
        try:
            tag, alg, dtype = int(fields[0]), int(fields[1]), int(fields[2])
        except ValueError:
            raise ValueError(f"'{line}': key tag, algorithm and digest type are numbers") from None
        digest = "".join(fields[3:])
        if not (0 <= tag <= 65535 and 1 <= alg <= 255 and 1 <= dtype <= 255):
            raise ValueError(f"'{line}': key tag, algorithm or digest type out of range")
        if not re.fullmatch(r"[0-9A-Fa-f]+", digest) or len(digest) % 2:
            raise ValueError(f"'{line}': the digest is not hexadecimal")
        if dtype in _DS_LENGTHS and len(digest) != _DS_LENGTHS[dtype]:
            raise ValueError(f"'{line}': a digest of type {dtype} has {_DS_LENGTHS[dtype]} hex digits")
        record = f"{tag} {alg} {dtype} {digest.upper()}"
        if record not in out:
            out.append(record)
    return out


def write_tld_zones(state_dir, layout, registry):
    for tld in layout.tlds:
        _write(zone_file(state_dir, "tld", tld), render_tld(layout, tld, registry))


def start(state_dir, estate, deadline):
    """Starts the mini-internet (namespaces already exist). Returns the layout."""
    layout = Layout(estate)
    registry = empty_registry()
    registry["delegations"], skipped = delegations_from(estate, layout)
    for zone in skipped:
        print(f"lab: zone {zone} is not directly under a TLD the lab serves: not delegated")
    for server in SERVERS:
        prepare_server(state_dir, layout, server)
    write_registry(state_dir, registry)
    write_tld_zones(state_dir, layout, registry)
    for zone in plan.ASN_ZONES:
        _write(zone_file(state_dir, "asn", zone), render_asn(layout, zone, estate))
    pids = {server: start_server(state_dir, server) for server in ("tld", "asn")}
    wait_served(layout.server_addresses("tld")[0], layout.tlds, True, deadline, pids["tld"])
    wait_served(plan.ASN_SERVER_V4, plan.ASN_ZONES, False, deadline, pids["asn"])
    tld_address = layout.server_addresses("tld")[0]
    tld_ds = {tld: [ds_of(tld, k) for k in ksks(tld_address, tld, deadline)] for tld in layout.tlds}
    _write(zone_file(state_dir, "root", "."), render_root(layout, tld_ds))
    pids["root"] = start_server(state_dir, "root")
    wait_served(layout.root_v4, ["."], True, deadline, pids["root"])
    write_trust_anchor(state_dir, ksks(layout.root_v4, ".", deadline))
    return layout


def write_trust_anchor(state_dir, keys):
    """The root's trust anchor, as DS and as DNSKEY records (unbound, delv, drill take either)."""
    folder = pathlib.Path(state_dir)
    _write(folder / "root-anchor.ds", "".join(f". IN DS {ds_of('.', k)}\n" for k in keys))
    _write(folder / "root-anchor.key", "".join(f". IN DNSKEY {dnskey_text(k)}\n" for k in keys))


def publish_ds(state_dir, estate, zone, ds, deadline):
    """Publishes (or, with an empty list, withdraws) the DS RRset of a zone at its TLD."""
    zone = zone.rstrip(".").lower()
    layout = Layout(estate)
    registry = read_registry(state_dir)
    delegation = registry["delegations"].get(zone)
    if delegation is None:
        raise plan.PlanError(f"{zone} is not delegated in the lab (delegated: "
                             f"{', '.join(sorted(registry['delegations'])) or 'none'})")
    if ds:
        registry["ds"][zone] = ds
    else:
        registry["ds"].pop(zone, None)
    write_registry(state_dir, registry)
    tld = delegation["parent"]
    _write(zone_file(state_dir, "tld", tld), render_tld(layout, tld, registry))
    knotc(state_dir, "tld", "zone-reload", tld)
    want = sorted(ds)
    address = layout.addresses[layout.tld_ns[tld]][0]
    while True:
        answer = dnsquery.query(address, zone, "DS", timeout=0.3)
        if answer is not None:
            got = sorted(_ds_text(r) for _n, r in answer.records("DS"))
            if got == want:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{tld} does not serve the new DS of {zone} yet")
        time.sleep(0.05)


def _ds_text(rdata):
    tag = int.from_bytes(rdata[0:2], "big")
    return f"{tag} {rdata[2]} {rdata[3]} {rdata[4:].hex().upper()}"
