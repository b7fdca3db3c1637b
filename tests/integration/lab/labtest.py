"""Shared pieces of the lab's integration tests: running `lab` and `dnsctl`, a
Proxmox API client for pve-sim (token, pinned certificate), and snapshots of
what exists on the machine (namespaces, processes, mounts, links, routes) to
compare before `lab up` and after `lab down`."""
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(os.environ.get("DNSCTL_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[3]))
LAB_DIR = ROOT / "examples" / "lab"
LAB = LAB_DIR / "lab"
STATE = LAB_DIR / ".lab"
INVENTORY = LAB_DIR / "inventory.yaml"
DNSCTL = os.environ.get("DNSCTL", str(ROOT / "build" / "controller" / "dnsctl"))
SKIP = 77

sys.path.insert(0, str(LAB_DIR))
sys.dont_write_bytecode = True
from labkit import plan, pve  # noqa: E402

__all__ = ["plan", "pve"]   # the tests take labkit's plan from here


def require_root():
    if os.geteuid() != 0:
        print("SKIP: the lab needs root (network namespaces, a bridge, routes, mounts); run the lab tests as root")
        sys.exit(SKIP)


def lab(*args, check=True, timeout=180):
    result = subprocess.run([str(LAB), *args], capture_output=True, text=True, timeout=timeout,
                            env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    if check and result.returncode != 0:
        raise AssertionError(f"lab {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result


def dnsctl(*args, check=True, timeout=300):
    result = subprocess.run([DNSCTL, *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"dnsctl {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result


def in_netns(netns, *argv, timeout=30, check=True):
    result = subprocess.run(["ip", "netns", "exec", netns, *argv], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} in {netns} exited {result.returncode}:\n"
                             f"{result.stdout}{result.stderr}")
    return result


def kdig_json(netns, server, name, rtype, *flags):
    out = in_netns(netns, "kdig", f"@{server}", name, rtype, "+norec", "+json", "+time=2", "+retry=1", *flags).stdout
    return json.loads(out)


def rrs(answer, section):
    """(owner, type, data) of a section of a kdig +json answer."""
    out = []
    for rr in answer.get(section, []):
        out.append((rr["NAME"].lower(), rr["TYPEname"], rr.get("rdata" + rr["TYPEname"], rr.get("RDATAHEX"))))
    return out


# ---------------------------------------------------------------- pve-sim

def Pve(cluster, node):
    return pve.Cluster(cluster, STATE, node)


PveError = pve.PveError


# ---------------------------------------------------------------- what exists on the machine

def _own_ns(kind):
    return os.stat(f"/proc/self/ns/{kind}").st_ino


def snapshot():
    """What the lab could leave behind, machine-wide."""
    netns = sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else None
    processes = {}
    mine = {k: _own_ns(k) for k in ("net", "mnt", "pid")}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = pathlib.Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            if fields[0] in ("Z", "X"):
                continue
            cmdline = pathlib.Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            namespaces = {k: os.stat(f"/proc/{entry}/ns/{k}").st_ino for k in mine}
        except (OSError, ValueError):
            continue
        processes[(int(entry), int(fields[19]))] = {
            "cmdline": cmdline.strip(), "foreign": [k for k in mine if namespaces[k] != mine[k]]}
    with open("/proc/self/mountinfo") as f:
        mounts = sorted({" ".join(line.split()[4:5] + line.split(" - ")[1].split()[:2]) for line in f})
    links = sorted(l["ifname"] for l in json.loads(subprocess.run(["ip", "-j", "link", "show"], capture_output=True,
                                                                  text=True, check=True).stdout))
    routes = []
    for family in ("-4", "-6"):
        for r in json.loads(subprocess.run(["ip", "-j", family, "route", "show", "table", "all"],
                                           capture_output=True, text=True, check=True).stdout):
            routes.append(f"{r.get('type', 'unicast')} {r.get('dst')} dev {r.get('dev')} table {r.get('table', 'main')}")
    forwarding = [pathlib.Path(p).read_text().strip() for p in
                  ("/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding")]
    return {"forwarding": forwarding, "netns": netns, "run_netns_mount": any(m.startswith("/run/netns ") for m in mounts),
            "processes": processes, "mounts": mounts, "links": links, "routes": sorted(routes),
            "state": STATE.exists()}


def _related(text):
    markers = ("dnslab", "dl-", "/run/netns", str(STATE), "examples/lab", "overlay", "nsfs",
               "198.51.100.", "203.0.113.", "198.18.", "198.19.", "2001:db8")
    return any(m in text for m in markers)


def compare(before, after):
    """Problems: what exists after that did not before and belongs to the lab
    (differences clearly unrelated to the lab, from other work on the machine,
    are ignored)."""
    problems = []
    if before["netns"] != after["netns"]:
        problems.append(f"/run/netns: {before['netns']} before, {after['netns']} after")
    if before["run_netns_mount"] != after["run_netns_mount"]:
        problems.append("/run/netns mount: " + ("left behind" if after["run_netns_mount"] else "removed"))
    if before["forwarding"] != after["forwarding"]:
        problems.append(f"forwarding in the machine's namespace: {before['forwarding']} before, "
                        f"{after['forwarding']} after")
    if after["state"]:
        problems.append(f"{STATE} still exists")
    for key in ("mounts", "links", "routes"):
        extra = sorted(set(after[key]) - set(before[key]))
        for item in extra:
            if _related(item):
                problems.append(f"{key}: {item}")
    for key, info in after["processes"].items():
        if key in before["processes"]:
            continue
        if info["foreign"] or _related(info["cmdline"]):
            problems.append(f"process {key[0]}: {info['cmdline'][:120]} (namespaces: {info['foreign']})")
    return problems


def lab_is_down():
    return lab("status", check=False).returncode == 3


def known_hosts_line(addresses, public_key):
    kind, blob = public_key.split()[:2]
    names = ",".join(addresses)   # port 22: no [brackets], even for IPv6
    return f"{names} {kind} {blob}\n"


def ssh(address, known_hosts, command, user="dnsctl", timeout=30, check=True):
    argv = ["ssh", "-i", str(STATE / "ssh" / "id_ed25519"), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known_hosts}",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
            f"{user}@{address}", command]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"ssh {address} {command!r} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result
