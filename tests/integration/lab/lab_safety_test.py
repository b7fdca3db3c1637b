#!/usr/bin/python3
"""The lab's safety properties: it refuses to run without root, refuses to
start when one of its prefixes is already routed on the machine, and `lab
down` cleans up after a `lab up` killed with SIGKILL half-way (and is safe to
run again). Needs root for all but the first check (skipped otherwise)."""
import os
import signal
import subprocess
import time
import unittest

import labtest
from labtest import lab


class LabSafetyTest(unittest.TestCase):
    def test_1_refuses_without_root(self):
        result = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                 str(labtest.LAB), "status"], capture_output=True, text=True)
        self.assertEqual(result.returncode, 1)
        self.assertIn("must run as root", result.stderr)

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


if __name__ == "__main__":
    if os.geteuid() != 0:
        labtest.require_root()
    if not labtest.lab_is_down():
        print("FAIL: a lab is already up on this machine; run `examples/lab/lab down` first")
        raise SystemExit(1)
    unittest.main(verbosity=2)
