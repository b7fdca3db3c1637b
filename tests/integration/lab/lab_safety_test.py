#!/usr/bin/python3
"""The lab's safety properties: it refuses to start when one of its prefixes
is already routed on the machine, and `lab down` cleans up after a `lab up`
killed with SIGKILL half-way (and is safe to run again) and after pve-sim
died while its hooks were making hosts. Needs root (skipped otherwise;
labkit_test.py checks the refusal to run without root)."""
import json
import os
import pathlib
import signal
import subprocess
import time
import unittest

import labtest
from labtest import lab


class LabSafetyTest(unittest.TestCase):
    def tearDown(self):
        if not labtest.lab_is_down():
            lab("down", check=False)

    def test_2_refuses_when_a_lab_prefix_is_routed(self):
        before = labtest.snapshot()
        # A blackhole route: it carries no traffic, and it is removed right after.
        subprocess.run(["ip", "route", "add", "blackhole", "203.0.113.0/25"], check=True)
        try:
            result = lab("up", check=False)
        finally:
            subprocess.run(["ip", "route", "del", "blackhole", "203.0.113.0/25"], check=True)
        self.assertEqual(result.returncode, 1)
        self.assertIn("203.0.113.0/25", result.stderr)
        self.assertIn("refusing to start", result.stderr)
        self.assertEqual(labtest.compare(before, labtest.snapshot()), [])

    def test_3_down_after_a_killed_up(self):
        before = labtest.snapshot()
        process = subprocess.Popen([str(labtest.LAB), "up"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Kill it once the mini-internet's first server runs: namespaces, links, routes,
        # processes and files all exist by then.
        deadline = time.monotonic() + 60
        pids = labtest.STATE / "pids"
        while not (pids.is_dir() and any(p.name.startswith("knotd-") for p in pids.iterdir())):
            self.assertIsNone(process.poll(), "lab up ended before it could be killed")
            self.assertLess(time.monotonic(), deadline, "lab up did not start the mini-internet")
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait()
        status = lab("status", check=False)
        self.assertEqual(status.returncode, 1, status.stdout)
        self.assertIn("partial", status.stdout)
        refused = lab("up", check=False)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("lab down", refused.stderr)
        lab("down")
        self.assertEqual(lab("status", check=False).returncode, 3)
        self.assertEqual(labtest.compare(before, labtest.snapshot()), [])
        self.assertIn("nothing left", lab("down").stdout)

    def test_4_down_after_pve_sim_dies_while_hosts_boot(self):
        before = labtest.snapshot()
        lab("up")
        apply = subprocess.Popen([labtest.DNSCTL, "apply", str(labtest.INVENTORY), "--yes"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            # Kill pve-sim as soon as a host is booting: its hooks are orphaned half-way.
            log = labtest.STATE / "pve-sim" / "hooks.log"
            deadline = time.monotonic() + 60
            while not (log.exists() and "boot in" in log.read_text()):
                self.assertLess(time.monotonic(), deadline, "no host started booting")
                time.sleep(0.01)
            pid = int((labtest.STATE / "pids" / "pve-sim").read_text().split()[0])
            os.kill(pid, signal.SIGKILL)
            lab("down")
        finally:
            apply.kill()
            apply.wait()
        self.assertEqual(lab("status", check=False).returncode, 3)
        self.assertEqual(labtest.compare(before, labtest.snapshot()), [])

    def test_5_down_kills_what_pve_sims_hooks_left(self):
        # A hook orphaned by pve-sim's death, caught before it made anything: stopped here,
        # resumed after `lab down`. lab down must have killed it (it carries the lab's
        # mark in its environment), or it would make a host of a lab that is gone.
        before = labtest.snapshot()
        lab("up")
        vm = {"cluster": "th2", "vmid": 5301, "name": "ns1", "guest_dir": "",
              "config": {"name": "ns1.example.eu", "ide2": "local-lvm:vm-5301-cloudinit,media=cdrom"},
              "nets": [{"id": "net0", "macaddr": "BC:24:11:00:00:01"}],
              "ipconfig": [{"id": "ipconfig0", "ip": "198.51.100.53/24", "gw": "198.51.100.1"}],
              "sshkeys": [], "ciuser": "dnsctl"}
        env = dict(os.environ, DNSCTL_LAB_STATE=str(labtest.STATE))
        hook = subprocess.Popen(["sh", "-c", 'kill -STOP $$; exec "$0" start', str(labtest.LAB_DIR / "hooks" / "vm")],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=env)
        try:
            hook.stdin.write(json.dumps(vm).encode())
            hook.stdin.close()
            deadline = time.monotonic() + 10
            while pathlib.Path(f"/proc/{hook.pid}/stat").read_text().split(") ")[1][0] != "T":
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.01)
            lab("down")
            os.kill(hook.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
        finally:
            try:
                hook.wait(timeout=30)
            except subprocess.TimeoutExpired:
                hook.kill()
                hook.wait()
                self.fail("the orphaned hook survived lab down and went on")
        self.assertEqual(hook.returncode, -signal.SIGKILL)
        self.assertEqual(labtest.compare(before, labtest.snapshot()), [])


if __name__ == "__main__":
    labtest.require_root()
    if not labtest.lab_is_down():
        print("FAIL: a lab is already up on this machine; run `examples/lab/lab down` first")
        raise SystemExit(1)
    unittest.main(verbosity=2)
