"""Starts and stops pve-sim for a test: port 0, a temporary state directory,
wait for the ready file, stop by PID."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


class PveSim:
    def __init__(self, config=os.path.join(HERE, "pve-sim.yaml"), extra_args=()):
        self.binary = os.environ.get("PVE_SIM")
        if not self.binary or not os.access(self.binary, os.X_OK):
            raise RuntimeError("set PVE_SIM to the pve-sim executable (ctest does)")
        self.config = config
        self.extra_args = list(extra_args)
        self.state_dir = tempfile.mkdtemp(prefix="pvesim-conformance-")
        self.process = None
        self.ready = None

    def start(self, timeout=20.0):
        """Starts pve-sim (again, after stop() or kill(): same state directory)."""
        ready_file = os.path.join(self.state_dir, "ready.json")
        if os.path.exists(ready_file):
            os.unlink(ready_file)  # left by a killed process: wait for the new one's
        if getattr(self, "log", None):
            self.log.close()
        self.log = open(os.path.join(self.state_dir, "pve-sim.out"), "a")
        self.process = subprocess.Popen(
            [self.binary, "--config", self.config, "--state-dir", self.state_dir] + self.extra_args,
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not os.path.exists(ready_file):
            if self.process.poll() is not None:
                raise RuntimeError("pve-sim exited with %s: %s" % (self.process.returncode, self.output()))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("pve-sim not ready after %s s" % timeout)
            time.sleep(0.05)
        with open(ready_file) as f:
            self.ready = json.load(f)
        assert self.ready["pid"] == self.process.pid
        return self

    def output(self):
        with open(os.path.join(self.state_dir, "pve-sim.out")) as f:
            return f.read()

    def cluster(self, name="conf"):
        return self.ready["clusters"][name]

    def stop(self):
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if getattr(self, "log", None):
            self.log.close()

    def kill(self):
        """SIGKILL, as a crash: no state saved, no ready file removed."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.state_dir, ignore_errors=True)

    def admin(self, method, path, body=None):
        """The admin API (plain HTTP on loopback)."""
        import urllib.request
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.ready["admin_url"] + path, data=data, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)
