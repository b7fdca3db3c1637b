#!/usr/bin/env python3
"""Benchmark: `dnsctl plan` with nothing to do on four clusters over a
simulated WAN (DESIGN §10: at most 250 ms at 50 ms round-trip time), and
`dnsctl apply` of the same estate from nothing.

Starts its own pve-sim (ports 0, a temporary state folder) and a delaying TCP
proxy in front of each cluster (tests/bench/delay_proxy.py: one round trip per
new connection, half a round trip per chunk and direction, so TCP and TLS
handshakes count), points a copy of examples/sim/inventory.yaml at the proxy,
times `dnsctl apply --yes` from an empty estate, checks that a plan then shows
no changes, counts the connections and request/response exchanges of one plan
from the proxy's log, then times `dnsctl plan --detailed-exitcode` with
hyperfine (or a loop of its own when hyperfine is missing). Stops pve-sim and
the proxy by their PIDs. A measurement, not a test: it asserts nothing about
time.

    tests/bench/plan_no_change.py [--build build] [--pve-sim PATH] [--runs 20] [--rtt-ms 50] [--skip-ansible]
"""
import argparse
import json
import os
import pathlib
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
SIM = ROOT / "examples" / "sim"
PORTS = {"th2": 18006, "pa4": 18007, "pa5": 18008, "pa3": 18009}
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDnsctlBenchmarkKeyOnly0000000000000000000000 dnsctl@bench"
TIMING = {"clone_ms": 2000, "start_ms": 1000, "resize_ms": 300, "config_ms": 200}


def admin(ready, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(ready["admin_url"] + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read() or b"null")


def wait_for(path, process, what, log):
    deadline = time.monotonic() + 30
    while not path.exists() or path.stat().st_size == 0:
        if process.poll() is not None:
            sys.exit(f"{what} exited early; see {log}")
        if time.monotonic() > deadline:
            process.terminate()
            sys.exit(f"{what} not ready after 30 s")
        time.sleep(0.05)
    return json.loads(path.read_text())


def start_sim(pve_sim, state):
    log = state / "pve-sim.out"
    process = subprocess.Popen([str(pve_sim), "--config", str(SIM / "pve-sim.yaml"), "--state-dir", str(state),
                                "--ephemeral-ports", "--fresh", "--no-persist"],
                               stdout=open(log, "w"), stderr=subprocess.STDOUT)
    return process, wait_for(state / "ready.json", process, "pve-sim", log)


def start_proxy(ready, folder, rtt_ms):
    targets = {cluster: ready["clusters"][cluster]["url"].removeprefix("https://") for cluster in PORTS}
    log = folder / "proxy.out"
    process = subprocess.Popen([sys.executable, str(ROOT / "tests" / "bench" / "delay_proxy.py"), "--rtt-ms",
                                str(rtt_ms), "--ready-file", str(folder / "proxy.json"), "--log",
                                str(folder / "proxy.log")] + list(targets.values()),
                               stdout=open(log, "w"), stderr=subprocess.STDOUT)
    ports = wait_for(folder / "proxy.json", process, "delay_proxy", log)
    return process, {cluster: ports[target] for cluster, target in targets.items()}


def write_inventory(ready, proxy_ports, folder, name="inventory.yaml"):
    """A copy of the example inventory whose clusters are reached through the proxy (or, with no proxy
    ports, directly)."""
    text = (SIM / "inventory.yaml").read_text()
    for cluster, port in PORTS.items():
        endpoint = ready["clusters"][cluster]
        url = f"https://127.0.0.1:{proxy_ports[cluster]}" if proxy_ports else endpoint["url"]
        text = text.replace(f"https://127.0.0.1:{port}", url)
        text = text.replace(f"fingerprint_file: .pve-sim/{cluster}.fingerprint",
                            "fingerprint_file: " + endpoint["fingerprint_file"])
    text = text.replace("file:secrets/", f"file:{SIM}/secrets/")
    text = text.replace("../../inventory/zones/", f"{ROOT}/inventory/zones/")
    (folder / ".dnsctl").mkdir(exist_ok=True)
    (folder / ".dnsctl" / "id_ed25519.pub").write_text(KEY + "\n")
    inventory = folder / name
    inventory.write_text(text)
    return inventory


def log_size(folder):
    path = folder / "proxy.log"
    return path.stat().st_size if path.exists() else 0


def proxy_events(folder, since):
    """The proxy's events logged after byte `since` of its log (it keeps the file open)."""
    path = folder / "proxy.log"
    if not path.exists():
        return []
    with open(path) as f:
        f.seek(since)
        return [json.loads(line) for line in f.read().splitlines()]


def summarise(events, rtt_ms):
    """Connections, request/response exchanges and the span on the wire, in round trips."""
    if not events:
        return "no traffic"
    connections = sum(1 for e in events if e["event"] == "open")
    exchanges = sum(1 for e in events if e["event"] == "down")
    first = min(e["t"] for e in events if e["event"] == "open")
    last = max(e["t"] for e in events if e["event"] == "down")
    # The last answer's bytes were read by the proxy `last` and reach the
    # client half a round trip later.
    span = (last - first) * 1000 + rtt_ms / 2
    return (f"{connections} connections, {exchanges} responses (TLS handshake flights included), "
            f"{span:.0f} ms on the wire = {span / rtt_ms:.1f} round trips")


VMS = [("pa5", 5300, "primary.rdem-systems.net"), ("th2", 5301, "ns-ipset.rdem-systems.eu"),
       ("pa4", 5302, "ns-arelion.rdem-systems.fr"), ("pa5", 5303, "ns-rds.rdem-systems.com"),
       ("pa3", 5304, "ns-ielo.rdem-systems.net")]


def write_playbook(proxy_ports, folder):
    """Ansible's proxmox_kvm keeping the estate's VMs present, through the same proxy."""
    tasks = []
    for cluster, vmid, name in VMS:
        secret = (SIM / "secrets" / f"{cluster}-dnsctl.token").read_text().strip()
        tasks.append(f"""    - name: {name} present
      community.general.proxmox_kvm:
        api_host: "127.0.0.1:{proxy_ports[cluster]}"
        api_user: dnsctl@pve
        api_token_id: dnsctl
        api_token_secret: "{secret}"
        validate_certs: false
        node: pve-{cluster}-1
        vmid: {vmid}
        name: {name}
        state: present
""")
    playbook = folder / "keep-present.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n" + "".join(tasks))
    return playbook


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=str(ROOT / "build"), help="build folder (default: build)")
    parser.add_argument("--pve-sim", help="pve-sim binary (default: BUILD/tests/pvesim/pve-sim)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rtt-ms", type=float, default=50)
    parser.add_argument("--skip-ansible", action="store_true", help="no comparison with Ansible's proxmox_kvm")
    args = parser.parse_args()
    build = pathlib.Path(args.build).resolve()
    dnsctl = build / "controller" / "dnsctl"

    folder = pathlib.Path(tempfile.mkdtemp(prefix="dnsctl-bench-"))
    state = folder / "pve-sim"
    state.mkdir()
    pve_sim = pathlib.Path(args.pve_sim) if args.pve_sim else build / "tests" / "pvesim" / "pve-sim"
    sim, ready = start_sim(pve_sim, state)
    proxy = None
    try:
        proxy, proxy_ports = start_proxy(ready, folder, args.rtt_ms)
        inventory = write_inventory(ready, proxy_ports, folder)
        for cluster in PORTS:
            admin(ready, "PUT", f"/clusters/{cluster}/timing", TIMING)

        print(f"pve-sim task durations: clone {TIMING['clone_ms']} ms, resize {TIMING['resize_ms']} ms, "
              f"config {TIMING['config_ms']} ms, start {TIMING['start_ms']} ms; {args.rtt_ms:g} ms RTT (delay_proxy)")
        since = log_size(folder)
        began = time.monotonic()
        applied = subprocess.run([str(dnsctl), "apply", str(inventory), "--yes"], capture_output=True, text=True)
        apply_seconds = time.monotonic() - began
        if applied.returncode != 0:
            sys.exit("apply failed:\n" + applied.stdout + applied.stderr)
        print(f"dnsctl apply from nothing (5 VMs on 4 clusters): {apply_seconds:.2f} s; "
              + summarise(proxy_events(folder, since), args.rtt_ms))

        command = [str(dnsctl), "plan", str(inventory), "--detailed-exitcode"]
        check = subprocess.run(command, capture_output=True, text=True)
        if check.returncode != 0:
            sys.exit("plan does not show 'no changes':\n" + check.stdout + check.stderr)
        since = log_size(folder)
        requests_before = admin(ready, "GET", "/log?since=0")["next"]
        subprocess.run(command, capture_output=True, check=True)
        requests = admin(ready, "GET", "/log?since=0")["next"] - requests_before
        print(f"dnsctl plan, no changes, 4 clusters: {requests} API requests; "
              + summarise(proxy_events(folder, since), args.rtt_ms))
        print("command: " + " ".join(command))
        # The same plan straight to pve-sim: what the process costs without the wire.
        direct = [str(dnsctl), "plan", str(write_inventory(ready, None, folder, "direct.yaml")),
                  "--detailed-exitcode"]
        if shutil.which("hyperfine"):
            subprocess.run(["hyperfine", "--warmup", "2", "--runs", str(args.runs), "--style", "basic",
                            "-n", f"through the proxy ({args.rtt_ms:g} ms RTT)", " ".join(command),
                            "-n", "straight to pve-sim (no added latency)", " ".join(direct)], check=True)
        else:
            times = []
            for _ in range(args.runs):
                began = time.monotonic()
                subprocess.run(command, capture_output=True, check=True)
                times.append(time.monotonic() - began)
            print(f"  runs: {len(times)}, mean {statistics.mean(times):.3f} s, "
                  f"median {statistics.median(times):.3f} s, min {min(times):.3f} s, max {max(times):.3f} s "
                  "(hyperfine not installed: timed with a loop)")
        if args.skip_ansible:
            pass
        elif shutil.which("ansible-playbook") and shutil.which("hyperfine"):
            playbook = write_playbook(proxy_ports, folder)
            ansible = ["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook)]
            first = subprocess.run(ansible, capture_output=True, text=True)
            if first.returncode != 0 or "changed=0" not in first.stdout:
                print("ansible-playbook did not keep the VMs present unchanged:\n" + first.stdout + first.stderr)
            else:
                since = log_size(folder)
                subprocess.run(ansible, capture_output=True, check=True)
                print("ansible-playbook, proxmox_kvm state=present for the 5 VMs: "
                      + summarise(proxy_events(folder, since), args.rtt_ms))
                print("command: " + " ".join(ansible))
                subprocess.run(["hyperfine", "--warmup", "1", "--runs", str(max(3, args.runs // 4)), "--style",
                                "basic", " ".join(ansible)], check=True)
        else:
            print("ansible-playbook (Debian package ansible) or hyperfine not installed: no Ansible comparison")
        print(f"folder kept for inspection: {folder}" if os.environ.get("KEEP") else "")
    finally:
        for process in (proxy, sim):
            if process is not None:
                os.kill(process.pid, signal.SIGTERM)
                process.wait(timeout=20)
        if not os.environ.get("KEEP"):
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
