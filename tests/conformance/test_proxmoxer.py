"""Conformance of pve-sim with a real Proxmox client: python3-proxmoxer (the
Debian package), over HTTPS with the certificate verified, with API-token and
with password (ticket + CSRF) authentication.

Each test class starts its own pve-sim (port 0, temporary state directory)
and stops it by PID. Run by ctest; PVE_SIM names the executable.
"""
import hashlib
import json
import os
import ssl
import time
import unittest
import urllib.parse

import proxmoxer
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from pvesim_process import HERE, PveSim

TOKEN_SECRET = "0b9f6a1e-7d4c-4e2b-9a51-3c8d2f6e4a17"
ROOT_PASSWORD = "conformance-root"
SSH_KEYS = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB0yv1ksGvL6fLq2mQ2nBv5L9bXNG1p8y8m9t5b3c2a1 ops@dnsctl\n"
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFz9Kq3vX7mN2pL5rT8wY1bC4dE6fG7hJ0kM9nP2qR4s extra+key@example.net")


def host_of(cluster):
    return "%s:%d" % (cluster["host"], cluster["port"])


def token_api(sim, secret=TOKEN_SECRET, token="dnsctl"):
    cluster = sim.cluster()
    return ProxmoxAPI(host_of(cluster), user="dnsctl@pve", token_name=token, token_value=secret,
                      verify_ssl=cluster["certificate_file"])


def password_api(sim, password=ROOT_PASSWORD):
    cluster = sim.cluster()
    return ProxmoxAPI(host_of(cluster), user="root@pam", password=password, verify_ssl=cluster["certificate_file"])


def wait_task(node, upid, timeout=15):
    deadline = time.monotonic() + timeout
    while True:
        status = node.tasks(upid).status.get()
        if status["status"] == "stopped":
            return status
        if time.monotonic() > deadline:
            raise AssertionError("task %s still running" % upid)
        time.sleep(0.1)


class SimTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = PveSim().start()

    @classmethod
    def tearDownClass(cls):
        cls.sim.cleanup()


class Lifecycle:
    """clone a template, wait, cloud-init, resize, start, status, stop, delete."""

    newid = None

    def api(self):
        raise NotImplementedError

    def test_vm_lifecycle(self):
        api = self.api()
        self.assertEqual(api.version.get()["release"], "8.4")
        node = api.nodes("pve1")
        newid = self.newid
        self.assertIsInstance(api.cluster.nextid.get(), str)

        upid = node.qemu(9000).clone.post(newid=newid, name="ns%d" % newid, full=1, storage="local-lvm")
        self.assertTrue(upid.startswith("UPID:pve1:"), upid)
        self.assertIn(":qmclone:9000:", upid)
        self.assertEqual(node.qemu(newid).config.get()["lock"], "clone")
        active = node.tasks.get(vmid=9000, source="active")
        self.assertIn(upid, [t["upid"] for t in active])
        status = wait_task(node, upid)
        self.assertEqual(status["exitstatus"], "OK")
        self.assertEqual(node.tasks(upid).log.get()[-1]["t"], "TASK OK")

        config = node.qemu(newid).config.get()
        self.assertNotIn("lock", config)
        self.assertEqual(config["name"], "ns%d" % newid)
        self.assertRegex(config["net0"], r"^virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr0$")
        self.assertNotEqual(config["net0"], "virtio=BC:24:11:90:00:01,bridge=vmbr0")
        self.assertEqual(config["memory"], "2048")  # a string, as PVE 8 returns it
        self.assertEqual(config["cores"], 2)
        self.assertNotIn("template", config)

        encoded = urllib.parse.quote(SSH_KEYS, safe="")
        node.qemu(newid).config.put(
            ciuser="ops", sshkeys=encoded, ipconfig0="ip=198.51.100.%d/24,gw=198.51.100.1" % (newid % 200),
            nameserver="198.51.100.53 198.51.100.54", searchdomain="example.net", tags="DNS,dnsctl",
            description="managed-by: dnsctl estate=conformance")
        config = node.qemu(newid).config.get()
        self.assertEqual(config["sshkeys"], encoded)
        self.assertEqual(urllib.parse.unquote(config["sshkeys"]), SSH_KEYS)
        self.assertEqual(config["tags"], "dns;dnsctl")
        pending = {item["key"]: item for item in node.qemu(newid).cloudinit.get()}
        self.assertIn("pending", pending["sshkeys"])
        self.assertEqual(pending["ipconfig0"]["value"], "ip=dhcp")
        node.qemu(newid).cloudinit.put()
        self.assertFalse([i for i in node.qemu(newid).cloudinit.get() if "pending" in i])

        upid = node.qemu(newid).resize.put(disk="scsi0", size="+8G")
        self.assertEqual(wait_task(node, upid)["exitstatus"], "OK")
        self.assertIn("size=10G", node.qemu(newid).config.get()["scsi0"])

        upid = node.qemu(newid).status.start.post()
        self.assertEqual(wait_task(node, upid)["exitstatus"], "OK")
        current = node.qemu(newid).status.current.get()
        self.assertEqual(current["status"], "running")
        self.assertEqual(current["agent"], 1)
        self.assertEqual(current["maxmem"], 2048 * 1024 * 1024)
        self.assertIn(newid, [r["vmid"] for r in api.cluster.resources.get(type="vm") if r["status"] == "running"])

        # the start hook received the VM and played the guest
        with open(os.path.join(self.sim.state_dir, "hook-%d-start.json" % newid)) as f:
            hook = json.load(f)
        self.assertEqual(hook["sshkeys"], SSH_KEYS.split("\n"))
        self.assertEqual(hook["ipconfig"][0]["ip"], "198.51.100.%d/24" % (newid % 200))
        self.assertEqual(hook["nets"][0]["bridge"], "vmbr0")
        read = node.qemu(newid).agent("file-read").get(file="/etc/ssh/ssh_host_ed25519_key.pub")
        self.assertIn("HostKeyOfVm%d" % newid, read["content"])
        interfaces = node.qemu(newid).agent("network-get-interfaces").get()["result"]
        self.assertEqual(interfaces[1]["ip-addresses"][0]["ip-address"], "198.51.100.%d" % (newid % 200))

        upid = node.qemu(newid).status.stop.post()
        self.assertEqual(wait_task(node, upid)["exitstatus"], "OK")
        self.assertEqual(node.qemu(newid).status.current.get()["status"], "stopped")

        upid = node.qemu(newid).delete(purge=1, **{"destroy-unreferenced-disks": 1})
        self.assertEqual(wait_task(node, upid)["exitstatus"], "OK")
        self.assertNotIn(newid, [r["vmid"] for r in api.cluster.resources.get(type="vm")])
        with self.assertRaises(ResourceException) as missing:
            node.qemu(newid).config.get()
        self.assertEqual(missing.exception.status_code, 500)


class TokenAuthTest(Lifecycle, SimTestCase):
    newid = 101

    def api(self):
        return token_api(self.sim)

    def test_task_carries_the_token(self):
        node = self.api().nodes("pve1")
        upid = node.qemu(9000).clone.post(newid=150, full=0)
        status = wait_task(node, upid)
        self.assertEqual(status["user"], "dnsctl@pve")
        self.assertEqual(status["tokenid"], "dnsctl")
        self.assertTrue(upid.endswith(":dnsctl@pve!dnsctl:"))
        self.assertEqual(node.qemu(150).config.get()["scsi0"].split(",")[0], "local-lvm:base-9000-disk-0/vm-150-disk-0")
        wait_task(node, node.qemu(150).delete())


class PasswordAuthTest(Lifecycle, SimTestCase):
    newid = 102

    def api(self):
        return password_api(self.sim)

    def test_ticket_and_csrf_token(self):
        api = self.api()
        ticket, csrf = api.get_tokens()
        self.assertTrue(ticket.startswith("PVE:root@pam:"))
        self.assertRegex(csrf, r"^[0-9A-F]{8}:")


class FailureTest(SimTestCase):
    def setUp(self):
        self.node = token_api(self.sim).nodes("pve1")

    def test_bad_token_is_401(self):
        with self.assertRaises(ResourceException) as error:
            token_api(self.sim, secret="not-the-secret").version.get()
        self.assertEqual(error.exception.status_code, 401)
        self.assertIn("Authentication failed!", str(error.exception))

    def test_bad_password_is_refused(self):
        with self.assertRaises(proxmoxer.backends.https.AuthenticationError):
            password_api(self.sim, password="wrong")

    def test_missing_vm_is_500_does_not_exist(self):
        with self.assertRaises(ResourceException) as error:
            self.node.qemu(999).config.get()
        self.assertEqual(error.exception.status_code, 500)
        self.assertIn("Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist", str(error.exception))

    def test_unknown_parameter_is_400(self):
        with self.assertRaises(ResourceException) as error:
            self.node.qemu(9000).config.put(foo="bar")
        self.assertEqual(error.exception.status_code, 400)
        self.assertIn("Parameter verification failed.", str(error.exception))

    def test_boolean_true_is_400(self):
        with self.assertRaises(ResourceException) as error:
            self.node.qemu(9000).config.put(onboot="true")
        self.assertEqual(error.exception.status_code, 400)
        with self.assertRaises(ResourceException) as python_bool:
            self.node.qemu(9000).config.put(onboot=True)  # form-encoded as "True"
        self.assertEqual(python_bool.exception.status_code, 400)
        self.node.qemu(9000).config.put(onboot=1)

    def test_config_write_during_clone_lock(self):
        upid = self.node.qemu(9000).clone.post(newid=120, full=1)
        with self.assertRaises(ResourceException) as error:
            self.node.qemu(120).config.put(cores=4)
        self.assertEqual(error.exception.status_code, 500)
        self.assertIn("can't lock file '/var/lock/qemu-server/lock-120.conf' - got timeout", str(error.exception))
        self.assertEqual(wait_task(self.node, upid)["exitstatus"], "OK")
        self.node.qemu(120).config.put(cores=4)
        self.assertEqual(self.node.qemu(120).config.get()["cores"], 4)
        wait_task(self.node, self.node.qemu(120).delete())

    def test_unprivileged_token_sees_nothing_and_is_refused(self):
        api = token_api(self.sim, secret="5e2c1d8b-4a7f-4c39-8e61-9b0d3a2f7c54", token="fresh")
        self.assertEqual(api.cluster.resources.get(type="vm"), [])
        with self.assertRaises(ResourceException) as error:
            api.nodes("pve1").qemu(9000).clone.post(newid=130)
        self.assertEqual(error.exception.status_code, 403)
        self.assertIn("Permission check failed (/vms/9000, VM.Clone)", str(error.exception))

    def test_unreachable_node_is_595(self):
        self.sim.admin("POST", "/clusters/conf/nodes/pve2", {"unreachable": True})
        try:
            with self.assertRaises(ResourceException) as error:
                token_api(self.sim).nodes("pve2").qemu(300).status.current.get()
            self.assertEqual(error.exception.status_code, 595)
            self.assertIn("No route to host", str(error.exception))
            vm = [r for r in token_api(self.sim).cluster.resources.get(type="vm") if r["vmid"] == 300][0]
            self.assertEqual(vm["status"], "unknown")
        finally:
            self.sim.admin("POST", "/clusters/conf/nodes/pve2", {"unreachable": False})

    def test_injected_faults(self):
        self.sim.admin("PUT", "/faults", {"rules": [
            {"id": "boom", "action": "error", "status": 500, "message": "simulated outage", "path": "/version",
             "ordinals": [0]},
            {"id": "warn", "action": "task_warnings", "path": "/nodes/*/qemu/*/status/stop", "ordinals": [0]}]})
        node = token_api(self.sim).nodes("pve2")
        try:
            with self.assertRaises(ResourceException) as error:
                token_api(self.sim).version.get()
            self.assertIn("simulated outage", str(error.exception))
            self.assertEqual(token_api(self.sim).version.get()["version"], "8.4.1")
            upid = node.qemu(300).status.stop.post()
            self.assertEqual(wait_task(node, upid)["exitstatus"], "WARNINGS: 1")
            self.assertEqual(node.qemu(300).status.current.get()["status"], "stopped")
        finally:
            self.sim.admin("DELETE", "/faults")
            self.assertEqual(wait_task(node, node.qemu(300).status.start.post())["exitstatus"], "OK")


class ExampleEstateTest(unittest.TestCase):
    """examples/sim: four clusters, fingerprints in the state dir, token secrets in files."""

    def test_four_clusters_with_pinned_fingerprints(self):
        sim = PveSim(config=os.path.join(HERE, "..", "..", "examples", "sim", "pve-sim.yaml"),
                     extra_args=["--ephemeral-ports"]).start()
        try:
            self.assertEqual(sorted(sim.ready["clusters"]), ["pa3", "pa4", "pa5", "th2"])
            for name, cluster in sim.ready["clusters"].items():
                with open(os.path.join(sim.state_dir, name + ".fingerprint")) as f:
                    pinned = f.read().strip()
                served = ssl.get_server_certificate((cluster["host"], cluster["port"]))
                der = ssl.PEM_cert_to_DER_cert(served)
                digest = hashlib.sha256(der).hexdigest().upper()
                self.assertEqual(pinned, ":".join(digest[i:i + 2] for i in range(0, 64, 2)))
                with open(cluster["tokens"]["dnsctl@pve!dnsctl"]["secret_file"]) as f:
                    secret = f.read().strip()
                api = ProxmoxAPI(host_of(cluster), user="dnsctl@pve", token_name="dnsctl", token_value=secret,
                                 verify_ssl=cluster["certificate_file"])
                self.assertEqual([n["node"] for n in api.nodes.get()], ["pve-%s-1" % name])
                template = api.nodes("pve-%s-1" % name).qemu(9000).config.get()
                self.assertEqual(template["name"], "tmpl-debian12")
                self.assertEqual(template["template"], 1)
                self.assertIn("cloudinit", template["ide2"])
        finally:
            sim.cleanup()


if __name__ == "__main__":
    unittest.main()
