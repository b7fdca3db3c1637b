"""pve-sim killed mid-clone and restarted behaves like a Proxmox VE node after a
crash: the half-made VM keeps `lock: clone`, the clone task is over
("unexpected status") and no task is active for the VM, so a client sees a
stale lock, not work in flight. Also: a node made unreachable through the
admin API at runtime answers 595 and comes back.

Real processes: the first pve-sim gets SIGKILL, the second starts on the same
state directory. Run by ctest; PVE_SIM names the executable.
"""
import unittest

from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from pvesim_process import PveSim

TOKEN_SECRET = "0b9f6a1e-7d4c-4e2b-9a51-3c8d2f6e4a17"


def token_api(sim):
    cluster = sim.cluster()
    return ProxmoxAPI("%s:%d" % (cluster["host"], cluster["port"]), user="dnsctl@pve", token_name="dnsctl",
                      token_value=TOKEN_SECRET, verify_ssl=cluster["certificate_file"])


class KilledMidCloneTest(unittest.TestCase):
    def setUp(self):
        self.sim = PveSim().start()

    def tearDown(self):
        self.sim.cleanup()

    def test_sigkill_mid_clone_leaves_a_stale_clone_lock(self):
        self.sim.admin("PUT", "/clusters/conf/timing", {"clone_ms": 600000})
        node = token_api(self.sim).nodes("pve1")
        upid = node.qemu(9000).clone.post(newid=140, name="ns140", full=1)
        self.assertEqual(node.qemu(140).config.get()["lock"], "clone")
        active = node.tasks.get(vmid=9000, source="active")
        self.assertEqual([t["upid"] for t in active], [upid])  # a qmclone task's id is the source VMID
        self.assertEqual(node.tasks.get(vmid=140, source="active"), [])

        pid = self.sim.process.pid
        self.sim.kill()
        self.sim.start()
        self.assertNotEqual(self.sim.process.pid, pid)

        api = token_api(self.sim)
        node = api.nodes("pve1")
        self.assertEqual(node.qemu(140).config.get()["lock"], "clone")
        self.assertEqual(node.qemu(140).status.current.get()["lock"], "clone")
        resource = [r for r in api.cluster.resources.get(type="vm") if r["vmid"] == 140]
        self.assertEqual(resource[0]["lock"], "clone")
        for vmid in (140, 9000):
            self.assertEqual(node.tasks.get(vmid=vmid, source="active"), [], vmid)
        status = node.tasks(upid).status.get()
        self.assertEqual(status["status"], "stopped")
        self.assertEqual(status["exitstatus"], "unexpected status")
        self.assertEqual([t["status"] for t in node.tasks.get(vmid=9000, source="all")], ["unexpected status"])

        # Nothing finishes it: the lock stays until someone removes it (PVE: `qm unlock 140`).
        with self.assertRaises(ResourceException) as error:
            node.qemu(140).config.put(cores=2)
        self.assertIn("VM is locked (clone)", str(error.exception))
        self.sim.admin("POST", "/clusters/conf/vms/140/lock", {"lock": ""})
        node.qemu(140).config.put(cores=2)
        self.assertNotIn("lock", node.qemu(140).config.get())


class UnreachableNodeTest(unittest.TestCase):
    def setUp(self):
        self.sim = PveSim().start()

    def tearDown(self):
        self.sim.cleanup()

    def test_node_goes_away_and_comes_back_at_runtime(self):
        node = token_api(self.sim).nodes("pve2")
        self.assertEqual(node.qemu(300).status.current.get()["status"], "running")
        answer = self.sim.admin("POST", "/clusters/conf/nodes/pve2", {"unreachable": True, "reason": "Connection refused"})
        self.assertEqual(answer, {"node": "pve2", "unreachable": True})
        with self.assertRaises(ResourceException) as error:
            node.qemu(300).status.current.get()
        self.assertEqual(error.exception.status_code, 595)
        self.assertIn("Connection refused", str(error.exception))
        state = self.sim.admin("GET", "/state")["clusters"]["conf"]["nodes"]
        self.assertEqual([n["unreachable"] for n in state if n["name"] == "pve2"], [True])

        self.sim.admin("POST", "/clusters/conf/nodes/pve2", {"unreachable": False})
        self.assertEqual(node.qemu(300).status.current.get()["status"], "running")
        nodes = {n["node"]: n["status"] for n in token_api(self.sim).nodes.get()}
        self.assertEqual(nodes["pve2"], "online")


if __name__ == "__main__":
    unittest.main()
