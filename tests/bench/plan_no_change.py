#!/usr/bin/env python3
"""Benchmark: `dnsctl plan` with nothing to do on four clusters, with 50 ms of
latency injected into every pve-sim request (DESIGN §10: at most 0.5 s).

Starts its own pve-sim (ports 0, a temporary state folder), points a copy of
examples/sim/inventory.yaml at it, creates the estate with `dnsctl apply
--yes`, injects the latency, then times `dnsctl plan --detailed-exitcode`
with hyperfine when it is installed, else with a loop of its own. Stops
pve-sim by its PID. A measurement, not a test: it asserts nothing about time.

    tests/bench/plan_no_change.py [--build build] [--pve-sim PATH] [--runs 20] [--latency-ms 50]
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


def admin(ready, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(ready["admin_url"] + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read() or b"null")


def start_sim(pve_sim, state):
    ready_file = state / "ready.json"
    log = open(state / "pve-sim.out", "w")
    process = subprocess.Popen([str(pve_sim), "--config", str(SIM / "pve-sim.yaml"),
                                "--state-dir", str(state), "--ephemeral-ports", "--fresh", "--no-persist"],
                               stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while not ready_file.exists() or ready_file.stat().st_size == 0:
        if process.poll() is not None:
            sys.exit("pve-sim exited early; see " + str(state / "pve-sim.out"))
        if time.monotonic() > deadline:
            os.kill(process.pid, signal.SIGTERM)
            sys.exit("pve-sim not ready after 30 s")
        time.sleep(0.05)
    return process, json.loads(ready_file.read_text())


def write_inventory(ready, folder):
    text = (SIM / "inventory.yaml").read_text()
    for cluster, port in PORTS.items():
        endpoint = ready["clusters"][cluster]
        text = text.replace(f"https://127.0.0.1:{port}", endpoint["url"])
        text = text.replace(f"fingerprint_file: .pve-sim/{cluster}.fingerprint",
                            "fingerprint_file: " + endpoint["fingerprint_file"])
    text = text.replace("file:secrets/", f"file:{SIM}/secrets/")
    text = text.replace("../../inventory/zones/", f"{ROOT}/inventory/zones/")
    (folder / ".dnsctl").mkdir(exist_ok=True)
    (folder / ".dnsctl" / "id_ed25519.pub").write_text(KEY + "\n")
    inventory = folder / "inventory.yaml"
    inventory.write_text(text)
    return inventory


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=str(ROOT / "build"), help="build folder (default: build)")
    parser.add_argument("--pve-sim", help="pve-sim binary (default: BUILD/tests/pvesim/pve-sim)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args()
    build = pathlib.Path(args.build).resolve()
    dnsctl = build / "controller" / "dnsctl"

    folder = pathlib.Path(tempfile.mkdtemp(prefix="dnsctl-bench-"))
    state = folder / "pve-sim"
    state.mkdir()
    pve_sim = pathlib.Path(args.pve_sim) if args.pve_sim else build / "tests" / "pvesim" / "pve-sim"
    process, ready = start_sim(pve_sim, state)
    try:
        inventory = write_inventory(ready, folder)
        for cluster in PORTS:
            admin(ready, "PUT", f"/clusters/{cluster}/timing",
                  {"clone_ms": 100, "start_ms": 50, "resize_ms": 20, "config_ms": 20})
        applied = subprocess.run([str(dnsctl), "apply", str(inventory), "--yes"], capture_output=True, text=True)
        if applied.returncode != 0:
            sys.exit("apply failed:\n" + applied.stdout + applied.stderr)
        admin(ready, "PUT", "/faults", {"rules": [{"id": "wan", "latency_ms": args.latency_ms}]})
        command = [str(dnsctl), "plan", str(inventory), "--detailed-exitcode"]
        check = subprocess.run(command, capture_output=True, text=True)
        if check.returncode != 0:
            sys.exit("plan does not show 'no changes':\n" + check.stdout + check.stderr)
        requests_before = admin(ready, "GET", "/log?since=0")["next"]
        subprocess.run(command, capture_output=True, check=True)
        requests = admin(ready, "GET", "/log?since=0")["next"] - requests_before
        print(f"dnsctl plan, no changes, 4 clusters, {args.latency_ms} ms latency on every request "
              f"({requests} API requests per plan)")
        print("command: " + " ".join(command))
        if shutil.which("hyperfine"):
            subprocess.run(["hyperfine", "--warmup", "2", "--runs", str(args.runs), "--style", "basic",
                            " ".join(command)], check=True)
        else:
            times = []
            for _ in range(args.runs):
                began = time.monotonic()
                subprocess.run(command, capture_output=True, check=True)
                times.append(time.monotonic() - began)
            print(f"  runs: {len(times)}, mean {statistics.mean(times):.3f} s, "
                  f"median {statistics.median(times):.3f} s, min {min(times):.3f} s, max {max(times):.3f} s "
                  "(hyperfine not installed: timed with a loop)")
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
