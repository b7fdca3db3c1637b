#!/usr/bin/python3
"""The lab's pure pieces, without root or a lab: unit-file command lines, DS
parsing and computation, the ASN zone, the registry's delegations, and which
VMs become hosts."""
import base64
import ipaddress
import os
import subprocess
import tempfile
import unittest

import labtest  # noqa: F401  (puts examples/lab on the path)
from labkit import hosts, internet, plan, units

ESTATE = plan.load_estate(labtest.INVENTORY)


class FakeUnit:
    name = "knot.service"


class EntryPointTest(unittest.TestCase):
    def test_refuses_without_root(self):
        argv = [str(labtest.LAB), "status"]
        if os.geteuid() == 0:
            argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + argv
        result = subprocess.run(argv, capture_output=True, text=True)
        self.assertEqual(result.returncode, 1)
        self.assertIn("must run as root", result.stderr)


class UnitsTest(unittest.TestCase):
    def test_words_follow_systemd_quoting(self):
        self.assertEqual(units.split_words('/usr/sbin/knotd -m "$X" \'a b\' c\\ d'),
                         ["/usr/sbin/knotd", "-m", "$X", "a b", "c d"])

    def test_command_line_expands_variables_and_prefixes(self):
        env = {"KNOT_CONF_MAX_SIZE": "512", "KNOTD_ARGS": "", "OPTIONS": "-u bind -4", "MAINPID": "42"}
        argv, flags = units.command_line(FakeUnit(), '/usr/sbin/knotd -m "$KNOT_CONF_MAX_SIZE" $KNOTD_ARGS', env)
        self.assertEqual(argv, ["/usr/sbin/knotd", "-m", "512"])
        self.assertEqual(flags, set())
        argv, _ = units.command_line(FakeUnit(), "/usr/sbin/named -f $OPTIONS", env)
        self.assertEqual(argv, ["/usr/sbin/named", "-f", "-u", "bind", "-4"])
        argv, flags = units.command_line(FakeUnit(), "+/bin/kill -HUP ${MAINPID}", env)
        self.assertEqual((argv, flags), (["/bin/kill", "-HUP", "42"], {"+"}))
        argv, flags = units.command_line(FakeUnit(), "-/bin/echo %n", env)
        self.assertEqual((argv, flags), (["/bin/echo", "knot.service"], {"-"}))

    def test_the_debian_units_parse(self):
        knot = units.load("knot")
        self.assertEqual(knot.type, "notify")
        self.assertEqual(knot.get("User"), "knot")
        self.assertEqual(knot.values("RuntimeDirectory"), ["knot"])
        creds = units.credentials(knot, set())
        self.assertEqual(creds[0], "setpriv")
        self.assertIn("--ambient-caps=+net_bind_service,+setpcap", creds)
        self.assertIn("--no-new-privs", creds)
        self.assertEqual(units.credentials(knot, {"+"}), [])
        named = units.load("bind9")
        self.assertEqual(named.name, "named.service")
        self.assertEqual(named.values("ExecReload"), ["/usr/sbin/rndc reload"])
        with self.assertRaises(units.UnitError) as missing:
            units.load("no-such-unit")
        self.assertEqual(missing.exception.code, 5)

    def test_timespans(self):
        self.assertEqual(units.timespan("300", 90), 300)
        self.assertEqual(units.timespan("1min 30s", 90), 90)
        self.assertIsNone(units.timespan("infinity", 90))
        self.assertEqual(units.timespan(None, 90), 90)


class DnsTest(unittest.TestCase):
    RFC4509_KEY = ("AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvx"
                   "egXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==")

    def test_ds_of_a_dnskey(self):
        rdata = bytes([1, 0, 3, 5]) + base64.b64decode(self.RFC4509_KEY)
        self.assertEqual(internet.ds_of("dskey.example.com", rdata),
                         "60485 5 2 D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A")

    def test_parse_ds(self):
        digest = "ab" * 32
        self.assertEqual(internet.parse_ds("rdem-systems.eu", [f"rdem-systems.eu. 3600 IN DS 1 13 2 {digest}",
                                                               f"1 13 2 {digest}", "; a comment"]),
                         [f"1 13 2 {digest.upper()}"])
        for bad, why in ((f"other.eu. DS 1 13 2 {digest}", "owner"), ("1 13 2 XYZ", "hexadecimal"),
                         ("1 13 2 ABCD", "64 hex digits"), ("1 13", "expected"), (f"70000 13 2 {digest}", "range")):
            with self.subTest(bad=bad):
                with self.assertRaisesRegex(ValueError, why):
                    internet.parse_ds("rdem-systems.eu", [bad])

    def test_reverse_names(self):
        self.assertEqual(plan.reverse_v4(ipaddress.ip_network("198.51.100.0/24")), "100.51.198")
        self.assertEqual(plan.reverse_v6(ipaddress.ip_network("2001:db8:1::/48")), "1.0.0.0.8.b.d.0.1.0.0.2")

    def test_asn_zone_announces_every_nameserver(self):
        text = internet.render_asn(internet.Layout(ESTATE), "asn.cymru.com", ESTATE)
        self.assertIn('*.100.51.198.origin.asn.cymru.com. TXT "199275 | 198.51.100.0/24 | ZZ | lab | 2024-01-01"',
                      text)
        self.assertIn('*.2.0.0.0.8.b.d.0.1.0.0.2.origin6.asn.cymru.com. TXT "1299 | 2001:db8:2::/48 |', text)
        for server in ESTATE.nameservers:
            self.assertIn(f'"{server.asn} | ', text)

    def test_delegations_from_the_inventory(self):
        layout = internet.Layout(ESTATE)
        delegations, skipped = internet.delegations_from(ESTATE, layout)
        self.assertEqual(skipped, [])
        eu = delegations["rdem-systems.eu"]
        self.assertEqual(eu["parent"], "eu")
        self.assertEqual(eu["ns"], sorted(s.fqdn for s in ESTATE.nameservers))
        self.assertEqual(eu["glue"], {"ns-ipset.rdem-systems.eu": ["198.51.100.53", "2001:db8:1::53"]})
        registry = {"delegations": delegations, "ds": {"rdem-systems.eu": ["1 13 2 " + "AB" * 32]}}
        text = internet.render_tld(layout, "eu", registry)
        self.assertIn("rdem-systems.eu. 300 NS ns-arelion.rdem-systems.fr.", text)
        self.assertIn("ns-ipset.rdem-systems.eu. 300 A 198.51.100.53", text)
        self.assertIn("rdem-systems.eu. 60 DS 1 13 2 " + "AB" * 32, text)
        self.assertNotIn("rdem-systems.fr. 300 NS", text)

    def test_the_lab_never_uses_192_0_2(self):
        for network in plan.LAB_PREFIXES + plan.reserved_networks():
            self.assertFalse(plan.forbidden(network), network)
        self.assertTrue(plan.forbidden(ipaddress.ip_network("192.0.2.0/24")))
        for server in ESTATE.servers:
            for iface in (server.ipv4, server.ipv6):
                self.assertTrue(plan.in_lab(iface.network), iface)

    def test_an_inventory_outside_the_lab_is_refused(self):
        text = labtest.INVENTORY.read_text().replace("198.51.100.53/24", "192.0.2.53/24").replace(
            "gateway: 198.51.100.1", "gateway: 192.0.2.1")
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write(text)
            f.flush()
            with self.assertRaisesRegex(plan.PlanError, "192.0.2.0/24"):
                plan.load_estate(f.name)


class HostSpecTest(unittest.TestCase):
    def vm(self, **changes):
        vm = {"cluster": "th2", "vmid": 5301, "name": "ns1",
              "config": {"name": "ns1.example.eu", "ide2": "local-lvm:vm-5301-cloudinit,media=cdrom"},
              "nets": [{"id": "net0", "macaddr": "BC:24:11:00:00:01"}],
              "ipconfig": [{"id": "ipconfig0", "ip": "198.51.100.53/24", "gw": "198.51.100.1",
                            "ip6": "2001:db8:1::53/64", "gw6": "2001:db8:1::1"}],
              "sshkeys": ["ssh-ed25519 AAAA test"], "ciuser": "dnsctl"}
        vm.update(changes)
        return vm

    def test_the_templates_shape_makes_a_host(self):
        spec = hosts.host_spec(self.vm())
        self.assertEqual((spec["v4"], spec["gw6"], spec["user"]), ("198.51.100.53/24", "2001:db8:1::1", "dnsctl"))

    def test_other_vms_get_no_host_and_a_reason(self):
        cases = {
            "ip=dhcp": self.vm(ipconfig=[{"id": "ipconfig0", "ip": "dhcp"}]),
            "no cloud-init drive": self.vm(config={"name": "x"}),
            "outside the lab prefixes": self.vm(ipconfig=[{"id": "ipconfig0", "ip": "192.0.2.53/24",
                                                           "gw": "192.0.2.1"}]),
            "keeps for itself": self.vm(ipconfig=[{"id": "ipconfig0", "ip": "198.18.53.77/24", "gw": "198.18.53.1"}]),
            "gateway": self.vm(ipconfig=[{"id": "ipconfig0", "ip": "198.51.100.53/24", "gw": "203.0.113.1"}]),
            "no net0": self.vm(nets=[]),
        }
        for why, vm in cases.items():
            with self.subTest(why=why):
                with self.assertRaisesRegex(hosts.NoHost, why):
                    hosts.host_spec(vm)

    def test_link_names_fit_in_an_interface_name(self):
        self.assertEqual(plan.host_link("th2", 5301), "dl-th2-5301")
        self.assertLessEqual(len(plan.host_link("a-very-long-cluster", 999999999)), 15)

    def test_syslog_lines(self):
        line = hosts._syslog_line(b"<38>Dec  3 18:31:58 sshd[42]: Accepted publickey", False)
        self.assertTrue(line.endswith(" sshd[42]: Accepted publickey"), line)
        native = b"MESSAGE=zone loaded\nSYSLOG_IDENTIFIER=knotd\nSYSLOG_PID=7\n"
        self.assertTrue(hosts._syslog_line(native, True).endswith(" knotd[7]: zone loaded"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
