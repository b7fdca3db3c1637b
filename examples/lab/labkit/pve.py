"""A small Proxmox API client for the lab's pve-sim clusters: the token of
secrets/<cluster>-dnsctl.token and the cluster's own certificate as the only
trust anchor (what pinning the fingerprint amounts to for a self-signed
certificate). Used to read host keys through the guest agent."""
import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request

from . import plan


class PveError(Exception):
    def __init__(self, status, reason):
        super().__init__(f"HTTP {status} {reason}")
        self.status = status
        self.reason = reason


class Cluster:
    def __init__(self, name, state_dir=plan.STATE_DIR, node=None):
        self.name = name
        self.node = node or f"pve-{name}-1"
        self.url = f"https://127.0.0.1:{plan.PVE_SIM_PORTS[name]}/api2/json"
        secret = (plan.LAB_DIR / "secrets" / f"{name}-dnsctl.token").read_text().strip()
        self._auth = f"PVEAPIToken=dnsctl@pve!dnsctl={secret}"
        self._context = ssl.create_default_context(cafile=str(state_dir / "pve-sim" / f"{name}.crt"))

    def call(self, method, path, data=None):
        body = urllib.parse.urlencode(data).encode() if data else None
        request = urllib.request.Request(self.url + path, data=body, method=method,
                                         headers={"Authorization": self._auth})
        try:
            with urllib.request.urlopen(request, context=self._context, timeout=90) as answer:
                return json.loads(answer.read())["data"]
        except urllib.error.HTTPError as error:
            raise PveError(error.code, error.reason) from None

    def vm(self, vmid):
        return f"/nodes/{self.node}/qemu/{vmid}"

    def task(self, method, path, data=None, timeout=90):
        """Starts a task and waits for its end; raises unless it ended OK."""
        upid = self.call(method, path, data)
        deadline = time.monotonic() + timeout
        while True:
            status = self.call("GET", f"/nodes/{self.node}/tasks/{urllib.parse.quote(upid, safe='')}/status")
            if status.get("status") == "stopped":
                if status.get("exitstatus") != "OK":
                    raise PveError(500, f"task {upid}: {status.get('exitstatus')}")
                return
            if time.monotonic() > deadline:
                raise PveError(504, f"task {upid} still running")
            time.sleep(0.05)

    def read_file(self, vmid, path):
        """A file of a running VM, through the guest agent."""
        query = urllib.parse.urlencode({"file": path})
        return self.call("GET", f"{self.vm(vmid)}/agent/file-read?{query}")["content"]
