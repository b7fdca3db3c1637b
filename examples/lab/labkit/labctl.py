"""lab up | down | status | publish-ds | exec: the commands of examples/lab/lab."""
import argparse
import base64
import ipaddress
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time

import yaml

from . import hosts, internet, kernel, plan, pve, records

UP_TIMEOUT = 60.0
EXIT_UP, EXIT_PARTIAL, EXIT_DOWN = 0, 1, 3


def say(message):
    print(f"lab: {message}", flush=True)


class LabError(Exception):
    pass


def pve_sim_binary():
    path = os.environ.get("PVE_SIM") or str(plan.REPO_DIR / "build" / "tests" / "pvesim" / "pve-sim")
    if not os.access(path, os.X_OK):
        raise LabError(f"pve-sim not found at {path} (build the pve-sim target, or set PVE_SIM)")
    return path


# ---------------------------------------------------------------- what exists

def lab_routes():
    """Routes of the root namespace that touch a lab prefix or the lab bridge."""
    out = []
    for family in ("-4", "-6"):
        for route in kernel.ip_json(family, "route", "show", "table", "all"):
            dst = route.get("dst", "")
            kind = route.get("type", "unicast")
            text = (f"{kind} " if kind != "unicast" else "") + dst
            text += f" dev {route['dev']}" if route.get("dev") else ""
            text += f" table {route.get('table', 'main')}"
            if route.get("dev") == plan.BRIDGE:
                out.append(text)
                continue
            if dst in ("", "default"):
                continue
            try:
                network = ipaddress.ip_network(dst, strict=False)
            except ValueError:
                continue
            if network.prefixlen == 0:
                continue
            if any(p.version == network.version and p.overlaps(network) for p in plan.LAB_PREFIXES):
                out.append(text)
    return out


def lab_addresses():
    """Addresses of the root namespace inside a lab prefix, with their interface."""
    out = []
    for link in kernel.ip_json("address", "show"):
        for info in link.get("addr_info", []):
            try:
                address = ipaddress.ip_address(info.get("local", ""))
            except ValueError:
                continue
            if plan.in_lab(address):
                out.append(f"{address}/{info.get('prefixlen')} on {link.get('ifname')}")
    return out


def lab_links():
    return sorted(l["ifname"] for l in kernel.ip_json("link", "show")
                  if l["ifname"] == plan.BRIDGE or l["ifname"].startswith(plan.LINK_PREFIX))


def lab_netns():
    return [n for n in kernel.netns_list() if n.startswith(plan.NETNS_PREFIX)]


ENV_MARK = "DNSCTL_LAB_STATE"     # in pve-sim's environment, so in every hook and what a hook starts


def _comm(pid):
    try:
        return pathlib.Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def lab_processes(state_dir):
    """{pid: description} of the lab's processes still alive: recorded ones and any process in a lab namespace."""
    out = {}
    for name, (pid, start) in records.recorded_pids(state_dir).items():
        if kernel.alive(pid, start):
            out[pid] = f"{name} (recorded)"
    for pid in kernel.pids_with_env(ENV_MARK, str(state_dir)):
        if pid not in out:
            out[pid] = f"{_comm(pid)} (started by the lab's pve-sim)"
    for netns in lab_netns():
        for pid in kernel.pids_in_netns(netns):
            if kernel.alive(pid) and pid not in out:
                try:
                    comm = pathlib.Path(f"/proc/{pid}/comm").read_text().strip()
                except OSError:
                    comm = "?"
                out[pid] = f"{comm} in {netns}"
    return out


def lab_mounts(state_dir):
    out = []
    state = str(pathlib.Path(state_dir).resolve())
    for line in kernel.mountinfo():
        fields = line.split()
        target = fields[4]
        if target.startswith(f"/run/netns/{plan.NETNS_PREFIX}") or target.startswith(state) \
                or " overlay " in line and state in line:
            out.append(target)
    return out


def inventory_of(state_dir):
    state = records.read_state(state_dir) or {}
    return state.get("inventory")


def survey(state_dir):
    state = records.read_state(state_dir)
    run_netns = None
    if state and not state.get("run_netns", {}).get("existed", True) and os.path.isdir("/run/netns"):
        run_netns = "/run/netns (created by the lab)"
    return {
        "state": state,
        "state_dir": str(state_dir) if pathlib.Path(state_dir).exists() else None,
        "processes": {str(k): v for k, v in sorted(lab_processes(state_dir).items())},
        "hosts": {f.name: {"name": s.get("name"), "pid": s.get("pid"), "netns": s.get("netns"),
                           "addresses": s.get("addresses")}
                  for f, s in hosts.running_hosts(state_dir).items()},
        "namespaces": lab_netns(),
        "links": lab_links(),
        "routes": lab_routes(),
        "addresses": lab_addresses(),
        "mounts": lab_mounts(state_dir),
        "run_netns": run_netns,
        "owner": records.owner_of_bridge(),
    }


def leftovers(report):
    keys = ("processes", "namespaces", "links", "routes", "addresses", "mounts")
    out = {k: report[k] for k in keys if report[k]}
    if "processes" in out:
        out["processes"] = [f"{pid} {what}" for pid, what in report["processes"].items()]
    if report["state_dir"]:
        out["files"] = [report["state_dir"]]
    if report["run_netns"]:
        out.setdefault("files", []).append(report["run_netns"])
    return out


# ---------------------------------------------------------------- up

def check_free(estate):
    problems = []
    for route in lab_routes():
        problems.append(f"route {route}")
    for address in lab_addresses():
        problems.append(f"address {address}")
    for port in list(plan.PVE_SIM_PORTS.values()) + [int(plan.PVE_SIM_ADMIN.rsplit(":", 1)[1])]:
        with socket.socket() as sock:
            # As the server binds: connections in TIME_WAIT on the port are no obstacle, a listener is.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                problems.append(f"port 127.0.0.1:{port} is in use (pve-sim needs it)")
    if problems:
        raise LabError("refusing to start: the lab's prefixes or ports are already in use on this machine:\n  "
                       + "\n  ".join(problems))


def _sysctls(netns, settings):
    kernel.in_netns(netns, lambda: kernel.write_sysctls(settings))


_QUIET = [("net.ipv6.conf.all.accept_ra", 0), ("net.ipv6.conf.default.accept_ra", 0),
          ("net.ipv6.conf.all.accept_redirects", 0), ("net.ipv6.conf.default.accept_redirects", 0),
          ("net.ipv4.conf.all.accept_redirects", 0), ("net.ipv4.conf.default.accept_redirects", 0)]


def _add_namespace(state, state_dir, name, link, addresses, routes_via):
    """A namespace with eth0 on the lab bridge: addresses, and routes to the lab prefixes."""
    state["namespaces"].append(name)
    state["links"].append(link)
    records.write_state(state_dir, state)
    kernel.ip("netns", "add", name)
    _sysctls(name, _QUIET)
    kernel.ip_batch([f"link add {link} type veth peer name eth0 netns {name}",
                     f"link set {link} master {plan.BRIDGE}", f"link set {link} up"])
    commands = ["link set lo up", "link set eth0 up"]
    for address in addresses:
        commands.append(f"address add {address} dev eth0" + (" nodad" if address.version == 6 else ""))
    for gateway in routes_via:
        own = [a.network for a in addresses if a.version == gateway.version]
        for prefix in plan.LAB_PREFIXES:
            if prefix.version == gateway.version and prefix not in own:
                commands.append(f"route add {prefix} via {gateway} dev eth0")
    kernel.ip_batch(commands, netns=name)


def _set_sysctl(path, value):
    pathlib.Path(path).write_text(str(value))


def build_network(state, state_dir, estate, layout):
    state["links"].append(plan.BRIDGE)
    records.write_state(state_dir, state)
    kernel.ip_batch([f"link add {plan.BRIDGE} type bridge stp_state 0 forward_delay 0",
                     f"link set {plan.BRIDGE} alias {state_dir}"])
    for key in ("ipv6/conf/{}/accept_redirects", "ipv6/conf/{}/accept_ra", "ipv4/conf/{}/accept_redirects"):
        _set_sysctl("/proc/sys/net/" + key.format(plan.BRIDGE), 0)
    kernel.ip_batch([f"address add {plan.MGMT_V4} dev {plan.BRIDGE}",
                     f"address add {plan.MGMT_V6} dev {plan.BRIDGE} nodad",
                     f"link set {plan.BRIDGE} up"])
    # The router: every gateway of the lab, forwarding between the lab's subnets only.
    gateways = [plan.ROUTER_MGMT_V4, plan.ROUTER_MGMT_V6,
                ipaddress.ip_interface(f"{plan.INTERNET_GW_V4}/{plan.INTERNET_V4.prefixlen}"),
                ipaddress.ip_interface(f"{plan.INTERNET_GW_V6}/{plan.INTERNET_V6.prefixlen}")]
    for network, gateway in estate.subnets():
        interface = ipaddress.ip_interface(f"{gateway}/{network.prefixlen}")
        if interface not in gateways:
            gateways.append(interface)
    _add_namespace(state, state_dir, plan.ROUTER_NS, f"{plan.LINK_PREFIX}router", gateways, [])
    _sysctls(plan.ROUTER_NS, [("net.ipv4.ip_forward", 1), ("net.ipv6.conf.all.forwarding", 1),
                              ("net.ipv4.conf.all.send_redirects", 0), ("net.ipv4.conf.eth0.send_redirects", 0),
                              ("net.ipv4.conf.default.send_redirects", 0)])
    _add_namespace(state, state_dir, plan.PROBE_NS, f"{plan.LINK_PREFIX}probe", [plan.PROBE_V4, plan.PROBE_V6],
                   [plan.ROUTER_MGMT_V4.ip, plan.ROUTER_MGMT_V6.ip])
    for server in internet.SERVERS:
        addresses = [ipaddress.ip_interface(f"{a}/{(plan.INTERNET_V4 if a.version == 4 else plan.INTERNET_V6).prefixlen}")
                     for a in layout.server_addresses(server)]
        _add_namespace(state, state_dir, internet.netns_name(server), internet.link_name(server), addresses,
                       [plan.INTERNET_GW_V4, plan.INTERNET_GW_V6])
    # The machine reaches the lab prefixes through the bridge and the router, nothing else.
    commands = []
    for prefix in plan.LAB_PREFIXES:
        via = plan.ROUTER_MGMT_V4.ip if prefix.version == 4 else plan.ROUTER_MGMT_V6.ip
        commands.append(f"route add {prefix} via {via} dev {plan.BRIDGE}")
    state["routes"] = [str(p) for p in plan.LAB_PREFIXES]
    records.write_state(state_dir, state)
    kernel.ip_batch(commands)
    # Every lab address must leave the machine through the bridge.
    check = [plan.ROUTER_MGMT_V4.ip, plan.ROUTER_MGMT_V6.ip, plan.PROBE_V4.ip, plan.PROBE_V6.ip]
    check += [a for s in internet.SERVERS for a in layout.server_addresses(s)]
    for server in estate.servers:
        check += [i.ip for i in (server.ipv4, server.ipv6) if i is not None]
        check += [g for g in (server.gw4, server.gw6) if g is not None]
    check = sorted({str(a) for a in check})
    devices = kernel.routes_get(check)
    wrong = [f"{a} via {d}" for a, d in devices.items() if d != plan.BRIDGE]
    if len(devices) != len(check):
        wrong.append("(not every address could be checked)")
    if wrong:
        raise LabError("some lab addresses would not leave through the lab bridge: " + ", ".join(wrong))
    for forwarding in ("/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding"):
        if pathlib.Path(forwarding).read_text().strip() != "0":
            say(f"warning: {forwarding} is on in the machine's namespace (the lab did not turn it on)")


def start_pve_sim(state, state_dir):
    binary = pve_sim_binary()
    folder = pathlib.Path(state_dir) / "pve-sim"
    folder.mkdir(parents=True, exist_ok=True)
    ready = folder / "ready.json"
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env[ENV_MARK] = str(state_dir)
    with open(folder / "pve-sim.out", "ab") as out:
        process = subprocess.Popen([binary, "--config", str(plan.PVE_SIM_CONFIG), "--state-dir", str(folder),
                                    "--fresh"], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   env=env, start_new_session=True, close_fds=True)
    records.record_pid(state_dir, "pve-sim", process.pid)
    deadline = time.monotonic() + 30
    while not (ready.exists() and ready.stat().st_size > 0):
        if process.poll() is not None:
            raise LabError(f"pve-sim exited (status {process.returncode}); see {folder / 'pve-sim.out'}")
        if time.monotonic() > deadline:
            raise LabError(f"pve-sim not ready after 30 s; see {folder / 'pve-sim.out'}")
        time.sleep(0.02)
    process.returncode = 0       # it outlives this command; `lab down` stops it by its record
    return json.loads(ready.read_text())


def up(args):
    state_dir = plan.STATE_DIR
    existing = records.read_state(state_dir)
    if existing is not None:
        if existing.get("phase") == "up":
            raise LabError("the lab is already up (`lab status` shows it, `lab down` stops it)")
        raise LabError("a previous lab left things behind: run `lab down` first")
    left = leftovers(survey(state_dir))
    for kind in ("files", "routes", "addresses"):    # routes and addresses: check_free below says more
        left.pop(kind, None)
    if left:
        owner = records.owner_of_bridge()
        who = f" (lab bridge owned by {owner})" if owner else ""
        raise LabError(f"lab objects already exist on this machine{who}: "
                       + "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in left.items())
                       + "\nrun `lab down` (from the owning checkout) first")
    estate = plan.load_estate(args.inventory)
    layout = internet.Layout(estate)
    pve_sim_binary()
    check_free(estate)
    began = time.monotonic()
    deadline = began + UP_TIMEOUT
    state_dir.mkdir(parents=True, exist_ok=True)
    state = {"owner": str(state_dir), "phase": "starting", "inventory": str(estate.path),
             "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
             "run_netns": {"existed": os.path.isdir("/run/netns"), "mount": kernel.is_mountpoint("/run/netns")},
             "namespaces": [], "links": [], "routes": []}
    records.write_state(state_dir, state)
    try:
        build_network(state, state_dir, estate, layout)
        internet.start(state_dir, estate, deadline)
        ssh_dir = state_dir / "ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        kernel.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dnsctl@lab", "-f",
                    str(ssh_dir / "id_ed25519")])
        (state_dir / "dnsctl").mkdir(exist_ok=True)
        secret = state_dir / "tsig.secret"
        secret.touch(mode=0o600)
        secret.write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
        ready = start_pve_sim(state, state_dir)
        state["phase"] = "up"
        state["pve_sim"] = {name: c["url"] for name, c in ready["clusters"].items()}
        state["admin_url"] = ready.get("admin_url")
        records.write_state(state_dir, state)
    except BaseException as error:
        say(f"lab up failed: {error}" if not isinstance(error, KeyboardInterrupt) else "lab up interrupted")
        say("undoing what was made")
        teardown(state_dir)
        raise SystemExit(1)
    took = time.monotonic() - began
    say(f"up in {took:.1f} s; state in {state_dir}")
    say(f"root server {layout.root_name} {layout.root_v4} {layout.root_v6}; "
        f"TLDs {', '.join(layout.tlds)}; trust anchor {state_dir / 'root-anchor.ds'}")
    for name, url in sorted(state["pve_sim"].items()):
        say(f"cluster {name}: {url}")
    rel = os.path.relpath(estate.path)
    say(f"next: build/controller/dnsctl apply {rel} --yes")
    return 0


# ---------------------------------------------------------------- down

def _kill_marked(state_dir):
    """SIGKILLs the processes pve-sim's hooks left (an orphaned hook, an `ip` it ran, a host's init),
    until none is left: they would go on making namespaces while the lab is taken down."""
    for _ in range(20):
        marked = [(p, kernel.process_start(p)) for p in kernel.pids_with_env(ENV_MARK, str(state_dir))]
        marked = [m for m in marked if m[1] is not None]
        if not marked:
            return
        for pid, start in marked:
            kernel.kill(pid, signal.SIGKILL, start)
        kernel.wait_gone(marked, 2.0)


def _remove_network():
    """Lab processes inside the lab's namespaces, then links and namespaces."""
    for netns in lab_netns():
        stray = [(pid, kernel.process_start(pid)) for pid in kernel.pids_in_netns(netns)]
        kernel.stop_processes([s for s in stray if s[1] is not None], grace=2.0)
    # Links first (a veth goes with both ends; routes through the bridge go with it),
    # then namespaces, one `ip` for all; what is already gone is no error.
    links = lab_links()
    batch = [f"link del {l}" for l in links if l != plan.BRIDGE]
    batch += [f"link del {plan.BRIDGE}"] if plan.BRIDGE in links else []
    batch += [f"netns del {n}" for n in lab_netns()]
    try:
        kernel.ip_batch(batch, force=True)
    except RuntimeError:
        pass      # `lab down` ends by listing whatever is left


def teardown(state_dir):
    """Removes everything the lab made. Safe on a half-made lab and when run twice."""
    recorded = records.recorded_pids(state_dir)
    # 1. pve-sim first: no new hook starts while hosts go; then what its hooks left running.
    if "pve-sim" in recorded:
        kernel.stop_processes([recorded["pve-sim"]], grace=5.0)
    _kill_marked(state_dir)
    # 2. Hosts (a host's init takes the whole host's PID namespace with it), then the
    #    mini-internet's servers and anything else the lab recorded.
    inits = [v for k, v in recorded.items() if k.startswith("host-")]
    for host in hosts.running_hosts(state_dir).values():
        if (host["pid"], host["start"]) not in inits:
            inits.append((host["pid"], host["start"]))
    kernel.stop_processes(inits, grace=3.0)
    others = [v for k, v in recorded.items() if k != "pve-sim" and not k.startswith("host-")]
    kernel.stop_processes(others, grace=3.0)
    # 3. Whatever still runs in the lab's namespaces (e.g. a tool started with ip netns exec),
    #    the links and the namespaces; twice if a process that was being killed made one more.
    _remove_network()
    if lab_netns() or lab_links() or lab_processes(state_dir):
        _kill_marked(state_dir)
        _remove_network()
    # 4. /run/netns as it was found.
    state = records.read_state(state_dir)
    if state is not None and os.path.isdir("/run/netns") and not os.listdir("/run/netns"):
        found = state.get("run_netns", {})
        if not found.get("mount") and kernel.is_mountpoint("/run/netns"):
            kernel.run(["umount", "/run/netns"], check=False)
        if not found.get("existed") and not kernel.is_mountpoint("/run/netns"):
            try:
                os.rmdir("/run/netns")
            except OSError:
                pass
    # 5. The state folder (hosts' files, keys, pve-sim's state), unless something still holds it.
    held = lab_mounts(state_dir)
    for target in reversed(held):
        kernel.run(["umount", "-l", target], check=False)
    if pathlib.Path(state_dir).exists() and not lab_processes(state_dir):
        shutil.rmtree(state_dir, ignore_errors=True)


def down(args):
    state_dir = plan.STATE_DIR
    owner = records.owner_of_bridge()
    if owner and owner != str(state_dir) and pathlib.Path(owner).exists() and not args.force:
        raise LabError(f"the lab running on this machine belongs to {owner}: run its `lab down`, "
                       f"or `lab down --force` to remove it from here")
    began = time.monotonic()
    if owner and owner != str(state_dir) and pathlib.Path(owner).exists():
        teardown(pathlib.Path(owner))      # --force: the other checkout's records too
    teardown(state_dir)
    left = leftovers(survey(state_dir))
    if left:
        say("down, but some things are left:")
        for kind, items in left.items():
            for item in items:
                say(f"  {kind}: {item}")
        return 1
    say(f"down in {time.monotonic() - began:.1f} s: nothing left")
    return 0


# ---------------------------------------------------------------- status

def status(args):
    state_dir = plan.STATE_DIR
    report = survey(state_dir)
    left = leftovers(report)
    phase = (report["state"] or {}).get("phase")
    expected_up = phase == "up" and plan.BRIDGE in report["links"] and any(
        v.startswith("pve-sim") for v in report["processes"].values())
    verdict = "up" if expected_up else ("down" if not left else "partial")
    if args.json:
        report["verdict"] = verdict
        report["leftovers"] = left
        print(json.dumps(report, indent=2, sort_keys=True, default=str))
    else:
        if verdict == "down":
            say("down: nothing of the lab on this machine")
        else:
            say(f"{verdict}" + (f" (state {state_dir})" if report["state_dir"] else ""))
            if report["owner"] and report["owner"] != str(state_dir):
                say(f"the lab bridge belongs to {report['owner']}")
            for name, host in sorted(report["hosts"].items()):
                say(f"  host {name}: {host['name']} init PID {host['pid']} in {host['netns']}, "
                    f"{', '.join(host['addresses'] or [])}")
            for kind, items in left.items():
                say(f"  {kind}: {', '.join(map(str, items))}")
    return {"up": EXIT_UP, "down": EXIT_DOWN, "partial": EXIT_PARTIAL}[verdict]


# ---------------------------------------------------------------- publish-ds, exec

def publish_ds(args):
    state_dir = plan.STATE_DIR
    state = records.read_state(state_dir)
    if not state or state.get("phase") != "up":
        raise LabError("the lab is not up")
    estate = plan.load_estate(state["inventory"])
    lines = list(args.records)
    if args.file:
        lines += pathlib.Path(args.file).read_text().splitlines()
    zone = args.zone.rstrip(".").lower()
    try:
        ds = internet.parse_ds(zone, lines)
    except ValueError as error:
        raise LabError(str(error)) from None
    if not ds and not args.withdraw:
        raise LabError("no DS record given (use --withdraw to remove the zone's DS)")
    if ds and args.withdraw:
        raise LabError("--withdraw takes no records")
    with records.Lock(state_dir, "registry.lock"):
        internet.publish_ds(state_dir, estate, zone, ds, time.monotonic() + 15)
    parent = zone.split(".", 1)[1] if "." in zone else "."
    if ds:
        say(f"published {len(ds)} DS record(s) for {zone} in {parent}")
    else:
        say(f"withdrew the DS of {zone} from {parent}")
    return 0


def find_host(state_dir, key):
    key = key.rstrip(".").lower()
    for folder, host in hosts.running_hosts(state_dir).items():
        names = {folder.name, host.get("netns"), (host.get("name") or "").lower(),
                 f"{host.get('cluster')}/{host.get('vmid')}"}
        names |= set(host.get("addresses") or [])
        if key in names or key == (host.get("name") or "").split(".", 1)[0]:
            return host
    raise LabError(f"no running host called {key} (`lab status` lists them)")


def exec_(args):
    host = find_host(plan.STATE_DIR, args.host)
    command = args.command or ["/bin/bash", "-l"]
    if command and command[0] == "--":
        command = command[1:]
    argv = ["nsenter", f"--target={host['pid']}", "--mount", "--uts", "--ipc", "--net", "--pid", "--root", "--wd",
            "--"] + command
    sys.stdout.flush()
    os.execvp(argv[0], argv)


def ssh_(args):
    """ssh to a host as the inventory's user, its host key read through the guest agent (no trust on first use)."""
    state_dir = plan.STATE_DIR
    host = find_host(state_dir, args.host)
    try:
        key = pve.Cluster(host["cluster"]).read_file(host["vmid"], "/etc/ssh/ssh_host_ed25519_key.pub").split()
    except (pve.PveError, OSError) as error:
        raise LabError(f"cannot read the host key through the guest agent: {error}") from None
    known = state_dir / "known_hosts.d" / f"{host['cluster']}-{host['vmid']}"
    known.parent.mkdir(exist_ok=True)
    names = ",".join(host["addresses"])
    known.write_text(f"{names} {key[0]} {key[1]}\n")
    inventory = yaml.safe_load(pathlib.Path(inventory_of(state_dir) or plan.DEFAULT_INVENTORY).read_text())
    user = args.user or (inventory.get("ssh") or {}).get("user", "dnsctl")
    address = sorted(host["addresses"], key=lambda a: ":" in a)[0]
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    argv = ["ssh", "-i", str(state_dir / "ssh" / "id_ed25519"), "-o", "IdentitiesOnly=yes",
            "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known}",
            "-o", "GlobalKnownHostsFile=/dev/null", f"{user}@{address}"] + command
    sys.stdout.flush()
    os.execvp(argv[0], argv)


def main(argv):
    parser = argparse.ArgumentParser(prog="lab", description="The dnsctl lab: pve-sim's VMs as real hosts, "
                                     "and a mini-internet, on this machine (see examples/lab/README.md).")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("up", help="start the lab")
    p.add_argument("--inventory", default=str(plan.DEFAULT_INVENTORY),
                   help="the estate whose delegations are published (default: examples/lab/inventory.yaml)")
    p.set_defaults(run=up)
    p = sub.add_parser("down", help="stop the lab and remove everything it made")
    p.add_argument("--force", action="store_true", help="also when the lab belongs to another checkout")
    p.set_defaults(run=down)
    p = sub.add_parser("status", help="what of the lab exists (exit 0 up, 3 nothing left, 1 partial)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=status)
    p = sub.add_parser("publish-ds", help="publish a zone's DS records at its TLD (as a registrar)")
    p.add_argument("zone")
    p.add_argument("records", nargs="*", help='DS records: "KEYTAG ALG DIGESTTYPE DIGEST" (or as dig prints them)')
    p.add_argument("--file", help="read DS records from this file, one per line")
    p.add_argument("--withdraw", action="store_true", help="remove the zone's DS records")
    p.set_defaults(run=publish_ds)
    p = sub.add_parser("ssh", help="ssh to a host, its key read through the guest agent")
    p.add_argument("--user", help="login (default: the inventory's ssh.user)")
    p.add_argument("host", help="fqdn, short name, cluster/vmid, address or namespace")
    p.add_argument("command", nargs=argparse.REMAINDER)
    p.set_defaults(run=ssh_)
    p = sub.add_parser("exec", help="run a command inside a host (all its namespaces), as root")
    p.add_argument("host", help="fqdn, short name, cluster/vmid, address or namespace")
    p.add_argument("command", nargs=argparse.REMAINDER)
    p.set_defaults(run=exec_)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("lab: must run as root (it creates network namespaces, a bridge, routes and mounts)", file=sys.stderr)
        return 1
    try:
        return args.run(args)
    except (LabError, plan.PlanError) as error:
        print(f"lab: {error}", file=sys.stderr)
        return 1
