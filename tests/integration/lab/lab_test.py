#!/usr/bin/python3
"""The lab end to end, from nothing: `lab up`; `dnsctl apply` of the lab's
inventory creates the five VMs and each becomes a host whose sshd answers
with the host key the guest agent reports (no trust on first use); the hosts
are isolated from each other; a VM stop/start keeps the host key and the
enabled services; a VM without the template's shape gets no host; the
mini-internet delegates, glues, signs and answers ASN lookups; DS records can
be published; `lab down` leaves nothing behind. Needs root (skipped
otherwise); ctest runs one lab at a time (RESOURCE_LOCK lab)."""
import concurrent.futures
import json
import os
import tempfile
import time
import unittest

import labtest
from labtest import lab, dnsctl, plan
from labkit import internet

ESTATE = plan.load_estate(labtest.INVENTORY)
NODES = {"th2": "pve-th2-1", "pa4": "pve-pa4-1", "pa5": "pve-pa5-1", "pa3": "pve-pa3-1"}
TIMES = {}


def addresses(server):
    return [str(i.ip) for i in (server.ipv4, server.ipv6) if i is not None]


class LabTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.before = labtest.snapshot()
        cls.tmp = tempfile.TemporaryDirectory(prefix="lab-test-")
        cls.known_hosts = os.path.join(cls.tmp.name, "known_hosts")
        began = time.monotonic()
        lab("up")
        TIMES["lab up"] = time.monotonic() - began
        cls.pve = {c: labtest.Pve(c, n) for c, n in NODES.items()}

    @classmethod
    def tearDownClass(cls):
        if not labtest.lab_is_down():
            lab("down", check=False)
        cls.tmp.cleanup()
        print("timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in TIMES.items()), flush=True)

    def host_key(self, server):
        return self.pve[server.cluster].read_file(server.vmid, "/etc/ssh/ssh_host_ed25519_key.pub").strip()

    def pin(self, servers):
        """known_hosts from the keys the guest agent reports (authenticated by token and pinned TLS)."""
        with open(self.known_hosts, "w") as f:
            for server in servers:
                f.write(labtest.known_hosts_line(addresses(server), self.host_key(server)))

    # -------------------------------------------------------------- steps, in order

    def test_1_apply_creates_five_hosts(self):
        dnsctl("validate", str(labtest.INVENTORY))
        began = time.monotonic()
        dnsctl("apply", str(labtest.INVENTORY), "--yes")
        TIMES["dnsctl apply (5 VMs, 5 hosts)"] = time.monotonic() - began
        status = json.loads(lab("status", "--json").stdout)
        self.assertEqual(status["verdict"], "up")
        names = sorted(h["name"] for h in status["hosts"].values())
        self.assertEqual(names, sorted(s.fqdn for s in ESTATE.servers))
        for server in ESTATE.servers:
            self.assertIn(plan.host_netns(server.cluster, server.vmid), status["namespaces"])
        # Forwarding is the router's alone: the machine's own settings are untouched.
        self.assertEqual(labtest.snapshot()["forwarding"], self.before["forwarding"])

    def test_2_sshd_answers_with_the_agents_host_key(self):
        self.pin(ESTATE.servers)
        command = ("id -un; hostname; cat /etc/os-release; sudo -n true && echo sudo-ok; "
                   "/usr/sbin/knotd --version; /usr/sbin/nsd -v 2>&1; /usr/sbin/named -v")

        def probe(server):
            return server, labtest.ssh(addresses(server)[0], self.known_hosts, command).stdout

        with concurrent.futures.ThreadPoolExecutor(5) as pool:
            results = list(pool.map(probe, ESTATE.servers))
        for server, out in results:
            with self.subTest(host=server.fqdn):
                lines = out.splitlines()
                self.assertEqual(lines[0], "dnsctl")
                self.assertEqual(lines[1], server.fqdn.split(".")[0])
                self.assertIn('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"', out)
                self.assertIn("sudo-ok", out)
                self.assertRegex(out, r"Knot DNS\), version 3\.")
                self.assertRegex(out, r"NSD version 4\.")
                self.assertRegex(out, r"BIND 9\.")
        # Over IPv6 too, and a changed key is refused (no trust on first use).
        ns = ESTATE.nameservers[0]
        self.assertEqual(labtest.ssh(str(ns.ipv6.ip), self.known_hosts, "id -un").stdout.strip(), "dnsctl")
        wrong = os.path.join(self.tmp.name, "wrong_known_hosts")
        other = ESTATE.nameservers[1]
        with open(wrong, "w") as f:
            f.write(labtest.known_hosts_line(addresses(ns), self.host_key(other)))
        refused = labtest.ssh(str(ns.ipv4.ip), wrong, "true", check=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("HOST IDENTIFICATION HAS CHANGED", refused.stderr)

    def test_3_hosts_are_isolated(self):
        self.pin(ESTATE.servers)
        first, second = ESTATE.nameservers[0], ESTATE.nameservers[1]
        token = f"lab-test-{os.getpid()}"
        labtest.ssh(addresses(first)[0], self.known_hosts,
                    f"echo {token} > /tmp/{token} && sudo sh -c 'echo {token} > /etc/{token} && "
                    f"echo {token} > /var/lib/{token} && echo {token} > /root/{token}'")
        out = labtest.ssh(addresses(second)[0], self.known_hosts,
                          f"for f in /tmp/{token} /etc/{token} /var/lib/{token}; do test -e $f && echo $f; done; "
                          f"sudo test -e /root/{token} && echo /root/{token}; "
                          f"find {labtest.STATE} {labtest.ROOT} -mindepth 1 -maxdepth 1 2>/dev/null | head -3; true").stdout
        self.assertEqual(out.strip(), "", "files of one host seen by another, or the lab's state visible")
        for path in (f"/tmp/{token}", f"/etc/{token}", f"/var/lib/{token}"):
            self.assertFalse(os.path.exists(path), f"{path} leaked into the machine")
        # Each host sees only its own processes (a PID namespace per host) and has no default route.
        out = labtest.ssh(addresses(first)[0], self.known_hosts, "ps -e -o comm=; ip route; ip -6 route").stdout
        self.assertNotIn("knotd", out)
        self.assertNotIn("default", out)
        self.assertIn("sshd", out)

    def test_4_stop_start_keeps_the_host_key_and_enabled_units(self):
        server = next(s for s in ESTATE.nameservers if s.cluster == "pa4")
        pve = self.pve[server.cluster]
        self.pin(ESTATE.servers)
        key = self.host_key(server)
        address = addresses(server)[0]
        labtest.ssh(address, self.known_hosts,
                    "sudo systemctl enable --now nsd && systemctl is-active nsd && "
                    "systemctl is-enabled knot || true; sudo touch /var/lib/survives")
        answer = labtest.kdig_json(plan.PROBE_NS, address, ".", "SOA")
        self.assertIn(answer["RCODE"], (0, 5))  # NOERROR or REFUSED: nsd answers
        began = time.monotonic()
        pve.task("POST", f"{pve.vm(server.vmid)}/status/stop")
        TIMES["VM stop"] = time.monotonic() - began
        self.assertNotIn(plan.host_netns(server.cluster, server.vmid), json.loads(
            lab("status", "--json").stdout)["namespaces"])
        with self.assertRaises(labtest.PveError):
            self.host_key(server)
        began = time.monotonic()
        pve.task("POST", f"{pve.vm(server.vmid)}/status/start")
        TIMES["VM start (host boots, nsd enabled)"] = time.monotonic() - began
        self.assertEqual(self.host_key(server), key)
        out = labtest.ssh(address, self.known_hosts,
                          "systemctl is-active nsd; systemctl is-active knot; ls /var/lib/survives",
                          check=False).stdout
        self.assertEqual(out.split(), ["active", "inactive", "/var/lib/survives"])
        answer = labtest.kdig_json(plan.PROBE_NS, address, ".", "SOA")
        self.assertIn(answer["RCODE"], (0, 5))  # NOERROR or REFUSED: nsd answers

    def test_4b_the_service_manager_follows_the_debian_units(self):
        self.pin(ESTATE.servers)
        primary = next(s for s in ESTATE.servers if s.role == "primary")
        bind = next(s for s in ESTATE.nameservers if s.cluster == "pa5")
        knot = ("sudo systemctl start knot && systemctl is-active knot && ps -o user= -C knotd && "
                "sudo knotc status && sudo systemctl reload knot && sudo systemctl stop knot; "
                "systemctl is-active knot; ls /run/knot 2>&1 | grep -c 'No such'")
        named = ("sudo systemctl start bind9 && systemctl is-active named && ps -o user= -C named && "
                 "sudo rndc status >/dev/null && sudo service bind9 reload >/dev/null && echo reloaded && "
                 "sudo journalctl -u named | grep -c 'running' && sudo systemctl stop named; systemctl is-active named")
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            out_knot, out_named = pool.map(lambda job: labtest.ssh(addresses(job[0])[0], self.known_hosts, job[1],
                                                                   check=False).stdout.split(),
                                           [(primary, knot), (bind, named)])
        self.assertEqual(out_knot[:2], ["active", "knot"], out_knot)
        self.assertEqual(out_knot[-2:], ["inactive", "1"], out_knot)     # RuntimeDirectory removed at stop
        self.assertEqual(out_named[:3], ["active", "bind", "reloaded"], out_named)
        self.assertEqual(out_named[-1], "inactive", out_named)

    def test_5_a_vm_without_the_templates_shape_gets_no_host(self):
        pve = self.pve["th2"]
        vmid = 4242
        pve.task("POST", f"{pve.vm(9000)}/clone", {"newid": vmid, "name": "plain", "full": 1})
        try:
            pve.task("POST", f"{pve.vm(vmid)}/status/start")
            log = (labtest.STATE / "pve-sim" / "hooks.log").read_text()
            self.assertRegex(log, rf"th2/{vmid} gets no host: .*ip=dhcp")
            self.assertNotIn(plan.host_netns("th2", vmid), json.loads(lab("status", "--json").stdout)["namespaces"])
            pve.task("POST", f"{pve.vm(vmid)}/status/stop")
        finally:
            pve.task("DELETE", pve.vm(vmid))

    def test_6_mini_internet_delegates_glues_and_signs(self):
        hints = plan.read_root_hints()
        root = str(hints[1])
        for zone in ESTATE.zones:
            tld = zone.rsplit(".", 1)[1]
            with self.subTest(zone=zone):
                referral = labtest.kdig_json(plan.PROBE_NS, root, f"{tld}.", "NS")
                servers = [d for _o, t, d in labtest.rrs(referral, "authorityRRs") if t == "NS"]
                self.assertTrue(servers, f"root gives no referral for {tld}")
                glue = {o: d for o, t, d in labtest.rrs(referral, "additionalRRs") if t == "A"}
                tld_server = glue[servers[0].lower()]
                answer = labtest.kdig_json(plan.PROBE_NS, tld_server, f"{zone}.", "NS")
                ns = sorted(d.rstrip(".").lower() for _o, t, d in labtest.rrs(answer, "authorityRRs") if t == "NS")
                self.assertEqual(ns, sorted(s.fqdn for s in ESTATE.nameservers))
                extra = labtest.rrs(answer, "additionalRRs")
                for server in ESTATE.nameservers:
                    if server.fqdn.endswith("." + zone):
                        self.assertIn((server.fqdn + ".", "A", str(server.ipv4.ip)), extra)
                        self.assertIn((server.fqdn + ".", "AAAA", str(server.ipv6.ip)), extra)
        # ASN lookups in the Cymru format, under both names Zonemaster's profile uses.
        asn_server = str(plan.ASN_SERVER_V4)
        for server in ESTATE.nameservers:
            v4 = ".".join(reversed(str(server.ipv4.ip).split(".")))
            v6 = ".".join(reversed(server.ipv6.ip.exploded.replace(":", "")))
            for source in plan.ASN_ZONES:
                for owner in (f"{v4}.origin.{source}.", f"{v6}.origin6.{source}."):
                    with self.subTest(owner=owner):
                        answer = labtest.kdig_json(plan.PROBE_NS, asn_server, owner, "TXT")
                        texts = [d for _o, t, d in labtest.rrs(answer, "answerRRs") if t == "TXT"]
                        self.assertTrue(texts and texts[0].strip('"').startswith(f"{server.asn} | "), texts)
        # The chain of trust from the root's anchor down to a TLD's data.
        trace = labtest.in_netns(plan.PROBE_NS, "drill", "-4", "-T", "-D", "-k",
                                 str(labtest.STATE / "root-anchor.key"), "-r", str(plan.ROOT_HINTS),
                                 "a.nic.eu", "A").stdout
        self.assertRegex(trace, r"\[T\] a\.nic\.eu\.\s+\d+\s+IN\s+A\s+")
        self.assertNotRegex(trace, r"(?m)^\[B\]")

    def test_7_publish_ds(self):
        zone = "rdem-systems.fr"
        fake = "12345 13 2 " + "AB" * 32
        bad = lab("publish-ds", zone, "12345 13 2 XYZ", check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("hexadecimal", bad.stderr)
        self.assertEqual(lab("publish-ds", "example.org", fake, check=False).returncode, 1)
        lab("publish-ds", zone, f"{zone}. 3600 IN DS {fake}")
        tld_server = str(internet.Layout(ESTATE).addresses["a.nic.fr"][0])
        answer = labtest.kdig_json(plan.PROBE_NS, tld_server, f"{zone}.", "DS", "+dnssec")
        records = labtest.rrs(answer, "answerRRs")
        self.assertIn("DS", [t for _o, t, _d in records])
        self.assertIn("RRSIG", [t for _o, t, _d in records])
        lab("publish-ds", zone, "--withdraw")
        answer = labtest.kdig_json(plan.PROBE_NS, tld_server, f"{zone}.", "DS")
        self.assertNotIn("DS", [t for _o, t, _d in labtest.rrs(answer, "answerRRs")])

    def test_8_reboot_then_delete(self):
        primary = next(s for s in ESTATE.servers if s.role == "primary")
        pve = self.pve[primary.cluster]
        self.pin(ESTATE.servers)
        folder = labtest.STATE / "hosts" / f"{primary.cluster}-{primary.vmid}"
        before = json.loads((folder / "host.json").read_text())["pid"]
        key = self.host_key(primary)
        pve.task("POST", f"{pve.vm(primary.vmid)}/status/reboot")
        self.assertNotEqual(json.loads((folder / "host.json").read_text())["pid"], before)
        self.assertEqual(self.host_key(primary), key)
        self.assertEqual(labtest.ssh(addresses(primary)[0], self.known_hosts, "id -un").stdout.strip(), "dnsctl")
        pve.task("POST", f"{pve.vm(primary.vmid)}/status/stop")
        pve.task("DELETE", pve.vm(primary.vmid))
        self.assertFalse(folder.exists(), "the host's files outlived its VM")
        self.assertNotIn(plan.host_netns(primary.cluster, primary.vmid),
                         json.loads(lab("status", "--json").stdout)["namespaces"])

    def test_9_down_leaves_nothing(self):
        began = time.monotonic()
        lab("down")
        TIMES["lab down"] = time.monotonic() - began
        self.assertEqual(lab("status", check=False).returncode, 3)
        problems = labtest.compare(self.before, labtest.snapshot())
        self.assertEqual(problems, [], "lab down left things behind")
        again = lab("down")
        self.assertIn("nothing left", again.stdout)


if __name__ == "__main__":
    labtest.require_root()
    if not labtest.lab_is_down():
        print("FAIL: a lab is already up on this machine (`examples/lab/lab status`); "
              "the test needs to start its own: run `examples/lab/lab down` first")
        raise SystemExit(1)
    unittest.main(verbosity=2)
