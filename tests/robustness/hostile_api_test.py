#!/usr/bin/env python3
"""Robustness: dnsctl against a hostile Proxmox VE API, one mode per run.

Starts tests/robustness/hostile_api_server.py in MODE (HTTPS, a fresh
self-signed certificate that the inventory pins), writes a copy of
examples/sim/inventory.yaml whose four clusters all point at it, then runs
`dnsctl plan` on it (or, with --via probe, one read through the adapter with
a short deadline: hostile_api_probe) and checks what an operator must be able
to count on, whatever the API answers:

  - the exit status is 1 (0 in the control mode `fine`), never a signal;
  - the output names the cluster (`cluster th2`);
  - the run ends within --max-seconds and its peak RSS (wait4) stays under
    --max-rss-mib (256 by default: observing reads some 17 answers at once,
    each cut off at 8 MiB);
  - the API token's secret appears nowhere in the output;
  - nothing reached the redirect target ("elsewhere").

    hostile_api_test.py --mode MODE --dnsctl PATH --probe PATH [--via plan|probe]
                        [--max-seconds S] [--max-rss-mib M]
"""
import argparse
import json
import os
import pathlib
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SIM = ROOT / "examples" / "sim"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDnsctlHostileApiKeyOnly000000000000000000000 dnsctl@robustness"
CLUSTERS = {"th2": 18006, "pa4": 18007, "pa5": 18008, "pa3": 18009}
NODES = ["pve-th2-1", "pve-pa4-1", "pve-pa5-1", "pve-pa3-1"]


def make_certificate(folder):
    cert, key = folder / "server.pem", folder / "server-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    fingerprint = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-fingerprint", "-sha256"],
                                 check=True, capture_output=True, text=True).stdout.strip()
    return cert, key, fingerprint.split("=", 1)[1]


def write_inventory(folder, port, fingerprint_file, secret_file):
    text = (SIM / "inventory.yaml").read_text()
    for cluster, sim_port in CLUSTERS.items():
        text = text.replace(f"https://127.0.0.1:{sim_port}", f"https://127.0.0.1:{port}")
        text = text.replace(f"fingerprint_file: .pve-sim/{cluster}.fingerprint", f"fingerprint_file: {fingerprint_file}")
        text = text.replace(f"file:secrets/{cluster}-dnsctl.token", f"file:{secret_file}")
        text = text.replace(f"file:secrets/{cluster}-readonly.token", f"file:{secret_file}")
    for node in NODES:
        text = text.replace(f"node: {node}", "node: pve1")
    text = text.replace("../../inventory/zones/", f"{ROOT}/inventory/zones/")
    (folder / ".dnsctl").mkdir(exist_ok=True)
    (folder / ".dnsctl" / "id_ed25519.pub").write_text(KEY + "\n")
    inventory = folder / "inventory.yaml"
    inventory.write_text(text)
    return inventory


def run_measured(command, timeout, env):
    """Runs `command`; (exit status, signal, seconds, peak RSS in MiB, output)."""
    out_path = pathlib.Path(tempfile.mktemp(prefix="hostile-out-"))
    with open(out_path, "wb") as out:
        began = time.monotonic()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = began + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid != 0:
                break
            if time.monotonic() > deadline:
                os.kill(process.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.02)
        seconds = time.monotonic() - began
    process.returncode = 0  # reaped here, not by Popen
    output = out_path.read_text(errors="replace")
    out_path.unlink()
    code = os.waitstatus_to_exitcode(status)
    exit_status = code if code >= 0 else None
    signal_number = -code if code < 0 else None
    return exit_status, signal_number, seconds, usage.ru_maxrss / 1024.0, output


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", required=True)
    parser.add_argument("--dnsctl", required=True)
    parser.add_argument("--probe", required=True)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--via", choices=["plan", "probe"], default="plan")
    parser.add_argument("--max-seconds", type=float, default=20)
    parser.add_argument("--max-rss-mib", type=float, default=256)
    args = parser.parse_args()

    folder = pathlib.Path(tempfile.mkdtemp(prefix="dnsctl-hostile-"))
    server = None
    failures = []
    try:
        cert, key, fingerprint = make_certificate(folder)
        fingerprint_file = folder / "api.fingerprint"
        fingerprint_file.write_text(fingerprint + "\n")
        token = "hostile-" + secrets.token_hex(16)
        secret_file = folder / "token.secret"
        secret_file.write_text(token + "\n")
        record = folder / "elsewhere.log"
        ready = folder / "ready.json"
        server_log = open(folder / "server.log", "w")
        server = subprocess.Popen([args.python, str(HERE / "hostile_api_server.py"), "--mode", args.mode,
                                   "--cert", str(cert), "--key", str(key), "--ready-file", str(ready),
                                   "--record", str(record)], stdout=server_log, stderr=subprocess.STDOUT)
        waited = time.monotonic() + 20
        while not ready.exists():
            if server.poll() is not None or time.monotonic() > waited:
                sys.exit("the hostile server did not start:\n" + (folder / "server.log").read_text())
            time.sleep(0.02)
        port = json.loads(ready.read_text())["port"]

        env = dict(os.environ)
        if args.via == "plan":
            inventory = write_inventory(folder, port, fingerprint_file, secret_file)
            command = [args.dnsctl, "plan", str(inventory)]
        else:
            command = [args.probe, "--url", f"https://127.0.0.1:{port}", "--fingerprint", fingerprint,
                       "--token-id", "dnsctl@pve!dnsctl", "--token-secret-file", str(secret_file),
                       "--cluster", "th2", "--timeout-ms", "3000", "--call", "vms"]
        status, signal_number, seconds, rss_mib, output = run_measured(command, args.max_seconds + 30, env)

        print(f"mode {args.mode} via {args.via}: exit {status}, signal {signal_number}, {seconds:.2f} s, "
              f"peak RSS {rss_mib:.1f} MiB")
        print("---- output (last 40 lines)")
        print("\n".join(output.splitlines()[-40:]))
        print("----")
        expected = 0 if args.mode == "fine" else 1
        if signal_number is not None:
            failures.append(f"killed by signal {signal_number}")
        elif status != expected:
            failures.append(f"exit status {status}, expected {expected}")
        if seconds > args.max_seconds:
            failures.append(f"took {seconds:.1f} s, more than {args.max_seconds} s")
        if rss_mib > args.max_rss_mib:
            failures.append(f"peak RSS {rss_mib:.1f} MiB, more than {args.max_rss_mib} MiB")
        if token in output:
            failures.append("the API token's secret appears in the output")
        if expected == 1 and "cluster th2" not in output:
            failures.append("the output does not name the cluster ('cluster th2')")
        if record.exists() and record.read_text():
            failures.append("a request reached the redirect target:\n" + record.read_text().replace(token, "<token>"))
    finally:
        if server is not None:
            server.kill()
            server.wait()
        shutil.rmtree(folder, ignore_errors=True)
    if failures:
        print("FAILED: " + "; ".join(failures))
        sys.exit(1)
    print("passed")


if __name__ == "__main__":
    main()
