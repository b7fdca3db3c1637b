#!/usr/bin/env python3
"""End-to-end tests of `dnsctl validate`: the built binary on real files.

Environment: DNSCTL (the executable), DNSCTL_SOURCE_DIR (the repository).
Run one group: validate_test.py Usage | ReferenceInventory | BrokenInventories
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

DNSCTL = os.environ.get("DNSCTL", "build/controller/dnsctl")
SOURCE_DIR = os.environ.get("DNSCTL_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
REFERENCE_DIR = os.path.join(SOURCE_DIR, "inventory")
LOCATED = re.compile(r"^(?P<file>[^:\s]+):(?P<line>\d+):(?P<col>\d+): (?P<severity>error|warning): (?P<msg>.*)$")


def dnsctl(*args, cwd=None):
    """Runs dnsctl; returns (exit code, stdout, stderr)."""
    proc = subprocess.run([os.path.abspath(DNSCTL), *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


class Usage(unittest.TestCase):
    def test_version(self):
        code, out, _ = dnsctl("--version")
        self.assertEqual(code, 0)
        self.assertRegex(out.strip(), r"^dnsctl \d+\.\d+\.\d+$")

    def test_help_lists_validate_and_global_options(self):
        code, out, _ = dnsctl("--help")
        self.assertEqual(code, 0)
        for needle in ("validate", "--log-format", "--log-level", "--version"):
            self.assertIn(needle, out)

    def test_validate_help(self):
        code, out, _ = dnsctl("validate", "--help")
        self.assertEqual(code, 0)
        self.assertIn("--json", out)
        self.assertIn("Exit status: 0 valid; 1 invalid", out)

    def test_unknown_command_with_help_is_an_error(self):
        code, out, err = dnsctl("check", "--help")
        self.assertEqual(code, 1)
        self.assertEqual(out, "")
        self.assertIn("unknown command 'check'", err)

    def test_no_subcommand_is_a_usage_error(self):
        code, _, err = dnsctl()
        self.assertEqual(code, 1)
        self.assertIn("subcommand is required", err)

    def test_unknown_subcommand_and_bad_log_format(self):
        code, _, _ = dnsctl("frobnicate")
        self.assertEqual(code, 1)
        code, _, err = dnsctl("--log-format", "xml", "validate", "x.yaml")
        self.assertEqual(code, 1)
        self.assertIn("xml", err)

    def test_missing_inventory_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "nope.yaml")
            code, out, _ = dnsctl("validate", path)
            self.assertEqual(code, 1)
            self.assertIn(f"{path}: error: the inventory file does not exist", out)
            self.assertIn("INVALID", out.splitlines()[-1])

            code, out, _ = dnsctl("validate", path, "--json")
            self.assertEqual(code, 1)
            doc = json.loads(out)
            self.assertEqual(doc["format_version"], "1.0")
            self.assertFalse(doc["valid"])
            self.assertFalse(doc["policy"]["checked"])
            self.assertEqual(doc["diagnostics"][0]["location"]["file"], path)

    def test_directory_instead_of_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            code, out, _ = dnsctl("validate", tmp)
            self.assertEqual(code, 1)
            self.assertIn("is a directory", out)



class EstateCopy:
    """A temporary copy of the reference inventory folder, edited as text."""

    def __init__(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.root = os.path.join(self._tmp.name, "inventory")
        shutil.copytree(REFERENCE_DIR, self.root)
        self.path = os.path.join(self.root, "inventory.yaml")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._tmp.cleanup()

    def read(self, name="inventory.yaml"):
        with open(os.path.join(self.root, name), encoding="utf-8") as f:
            return f.read()

    def write(self, text, name="inventory.yaml"):
        with open(os.path.join(self.root, name), "w", encoding="utf-8") as f:
            f.write(text)

    def block(self, key):
        """(first, last) 1-based lines of the YAML block whose key line is `key:`."""
        lines = self.read().splitlines()
        for i, line in enumerate(lines):
            if line.strip() == f"{key}:":
                indent = len(line) - len(line.lstrip())
                end = i
                for j in range(i + 1, len(lines)):
                    stripped = lines[j].strip()
                    if stripped and not stripped.startswith("#") and len(lines[j]) - len(lines[j].lstrip()) <= indent:
                        break
                    end = j
                return i + 1, end + 1
        raise AssertionError(f"no block {key} in the inventory")

    def edit_block(self, key, old, new):
        """Replaces `old` by `new` once, inside the block of `key`."""
        first, last = self.block(key)
        lines = self.read().splitlines(keepends=True)
        body = "".join(lines[first - 1:last])
        if old not in body:
            raise AssertionError(f"{old!r} not in block {key}")
        lines[first - 1:last] = [body.replace(old, new, 1)]
        self.write("".join(lines))

    def replace_everywhere(self, old, new):
        """Replaces text in the inventory and every zone file (renaming a nameserver)."""
        for folder, _, files in os.walk(self.root):
            for name in files:
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                if old in text:
                    with open(path, "w", encoding="utf-8") as f:
                        f.write(text.replace(old, new))


def located(output):
    """Every `file:line:col: severity: message` line of an output, parsed."""
    return [m.groupdict() for m in map(LOCATED.match, output.splitlines()) if m]


class ReferenceInventory(unittest.TestCase):
    def test_reference_estate_is_valid(self):
        code, out, err = dnsctl("validate", "inventory/inventory.yaml", cwd=SOURCE_DIR)
        self.assertEqual(code, 0, out + err)
        self.assertEqual([d for d in located(out) if d["severity"] == "error"], [])
        rows = {}
        for line in out.splitlines():
            cells = re.split(r"\s{2,}", line.strip())
            if len(cells) >= 7:
                rows[cells[0]] = cells
        self.assertEqual(rows["ASN"][1:3], ["4 (required)", "AS1299, AS29075, AS199275, AS206014"])
        self.assertEqual(rows["TLD"][1:3], ["4 (required)", "com, eu, fr, net"])
        self.assertEqual(rows["datacenter"][1], "4 (required)")
        self.assertEqual(rows["cluster"][1], "4 (required)")
        self.assertEqual(rows["registrable domain"][1], "4 (required)")
        self.assertEqual(rows["IPv4 /24"][1], "4 (required)")
        self.assertEqual(rows["IPv6 /48"][1], "4 (required)")
        self.assertTrue(int(rows["server software"][1]) >= 2)
        for title in ("ASN", "datacenter", "cluster", "TLD", "registrable domain", "IPv4 /24", "IPv6 /48",
                      "server software"):
            self.assertEqual(rows[title][-1], "pass", title)
        # Losing any one ASN leaves three nameservers in each family.
        self.assertEqual(rows["ASN"][4:6], ["3", "3"])
        self.assertRegex(out.splitlines()[-1], r"^inventory/inventory.yaml: valid: policy holds \(8/8 dimensions pass\)")

    def test_reference_estate_json(self):
        code, out, _ = dnsctl("validate", os.path.join(REFERENCE_DIR, "inventory.yaml"), "--json")
        self.assertEqual(code, 0)
        doc = json.loads(out)
        self.assertEqual(list(doc)[:2], ["format_version", "inventory"])
        self.assertEqual(doc["format_version"], "1.0")
        self.assertTrue(doc["valid"])
        self.assertTrue(doc["policy"]["checked"])
        self.assertTrue(doc["policy"]["passed"])
        self.assertEqual(doc["policy"]["nameservers"], 4)
        rows = {r["dimension"]: r for r in doc["policy"]["rows"]}
        self.assertEqual(list(rows), ["asn", "datacenter", "cluster", "tld", "registrable_domain", "ipv4_prefix",
                                      "ipv6_prefix", "software"])
        self.assertEqual([v["value"] for v in rows["asn"]["values"]], ["AS1299", "AS29075", "AS199275", "AS206014"])
        self.assertEqual(rows["tld"]["distinct_count"], 4)
        self.assertEqual(rows["datacenter"]["distinct_count"], 4)
        self.assertTrue(all(r["verdict"] == "pass" for r in rows.values()))
        self.assertEqual(rows["asn"]["worst_loss"]["surviving"], {"ipv4": 3, "ipv6": 3})
        self.assertEqual([f for f in doc["policy"]["findings"] if f["severity"] == "error"], [])

    def test_logs_go_to_stderr_as_json_lines(self):
        code, out, err = dnsctl("--log-format", "json", "--log-level", "debug", "validate",
                                os.path.join(REFERENCE_DIR, "inventory.yaml"), "--json")
        self.assertEqual(code, 0)
        json.loads(out)  # standard output stays one document
        lines = [json.loads(line) for line in err.splitlines() if line.strip()]
        self.assertTrue(lines, "debug logging wrote nothing")
        self.assertTrue(all({"level", "logger", "msg"} <= set(line) for line in lines))

    def test_output_is_deterministic(self):
        first = dnsctl("validate", os.path.join(REFERENCE_DIR, "inventory.yaml"), "--json")
        second = dnsctl("validate", os.path.join(REFERENCE_DIR, "inventory.yaml"), "--json")
        self.assertEqual(first, second)


class BrokenInventories(unittest.TestCase):
    def invalid(self, estate):
        """Runs validate on an edited copy; it must exit 1. Returns (stdout, located lines)."""
        code, out, err = dnsctl("validate", estate.path)
        self.assertEqual(code, 1, out + err)
        self.assertIn("INVALID", out.splitlines()[-1])
        return out, located(out)

    def assert_error_in_block(self, estate, lines, key, *needles):
        first, last = estate.block(key)
        hits = [d for d in lines if d["severity"] == "error" and d["file"] == estate.path
                and first <= int(d["line"]) <= last and all(n in d["msg"] for n in needles)]
        self.assertTrue(hits, f"no error at lines {first}-{last} of {estate.path} naming {needles}:\n"
                        + "\n".join(f"{d['line']}: {d['msg']}" for d in lines))
        return hits[0]

    def assert_error_naming(self, lines, *needles):
        hits = [d for d in lines if d["severity"] == "error" and all(n in d["msg"] for n in needles)]
        self.assertTrue(hits, f"no located error naming {needles}:\n" + "\n".join(
            f"{d['file']}:{d['line']}: {d['msg']}" for d in lines))
        return hits[0]

    # Diversity policy

    def test_two_nameservers_in_one_asn(self):
        with EstateCopy() as estate:
            estate.edit_block("ns-rds.rdem-systems.com", "asn: 206014", "asn: 1299")
            out, lines = self.invalid(estate)
            hit = self.assert_error_in_block(estate, lines, "ns-rds.rdem-systems.com", "AS1299",
                                             "ns-arelion.rdem-systems.fr")
            self.assertIn("[distinct.asn;", hit["msg"])
            self.assertIn("CONNECTIVITY03", hit["msg"])
            self.assertRegex(out, r"ASN\s+3 \(required\)\s+AS1299, AS29075, AS199275\s+AS1299\s+2\s+2\s+FAIL \(shared\)")

    def test_two_nameserver_names_under_one_tld(self):
        with EstateCopy() as estate:
            estate.replace_everywhere("ns-rds.rdem-systems.com", "ns-rds.rdem-dns.eu")
            out, lines = self.invalid(estate)
            hit = self.assert_error_in_block(estate, lines, "ns-rds.rdem-dns.eu", "TLD eu",
                                             "ns-ipset.rdem-systems.eu")
            self.assertIn("[distinct.tld;", hit["msg"])
            self.assertRegex(out, r"TLD\s+3 \(required\)\s+eu, fr, net\s+eu\s+2\s+2\s+FAIL \(shared\)")

    def test_co_uk_and_org_uk_share_a_tld(self):
        with EstateCopy() as estate:
            estate.replace_everywhere("ns-rds.rdem-systems.com", "ns-rds.rdem-dns.co.uk")
            estate.replace_everywhere("ns-ielo.rdem-systems.net", "ns-ielo.rdem-dns.org.uk")
            out, lines = self.invalid(estate)
            self.assert_error_in_block(estate, lines, "ns-ielo.rdem-dns.org.uk", "TLD uk")
            # libpsl: co.uk and org.uk are public suffixes, so the registrable domains differ.
            self.assertNotIn("[distinct.registrable_domain;", out)

    def test_two_nameservers_under_one_registrable_domain(self):
        with EstateCopy() as estate:
            estate.replace_everywhere("ns-rds.rdem-systems.com", "ns2.rdem-systems.eu")
            out, lines = self.invalid(estate)
            hit = self.assert_error_in_block(estate, lines, "ns2.rdem-systems.eu", "rdem-systems.eu",
                                             "[distinct.registrable_domain;")
            self.assertIn("ns-ipset.rdem-systems.eu", hit["msg"])

    def test_two_nameservers_in_one_ipv4_24_and_ipv6_48(self):
        with EstateCopy() as estate:
            estate.edit_block("ns-rds.rdem-systems.com", "address: 198.18.1.53/24", "address: 198.51.100.54/24")
            estate.edit_block("ns-rds.rdem-systems.com", "gateway: 198.18.1.1", "gateway: 198.51.100.1")
            estate.edit_block("ns-rds.rdem-systems.com", "address: 2001:db8:3::53/64", "address: 2001:db8:1:5::53/64")
            estate.edit_block("ns-rds.rdem-systems.com", "gateway: 2001:db8:3::1", "gateway: 2001:db8:1:5::1")
            estate.replace_everywhere("198.18.1.53", "198.51.100.54")
            estate.replace_everywhere("2001:db8:3::53", "2001:db8:1:5::53")
            out, lines = self.invalid(estate)
            self.assert_error_in_block(estate, lines, "ns-rds.rdem-systems.com", "198.51.100.0/24",
                                       "[distinct.ipv4_prefix;")
            self.assert_error_in_block(estate, lines, "ns-rds.rdem-systems.com", "2001:db8:1::/48",
                                       "[distinct.ipv6_prefix;")

    def test_one_software_only(self):
        with EstateCopy() as estate:
            for ns in ("ns-arelion.rdem-systems.fr", "ns-rds.rdem-systems.com"):
                first, last = estate.block(ns)
                text = estate.read().splitlines(keepends=True)
                text[first - 1:last] = [re.sub(r"software: \w+", "software: knot", "".join(text[first - 1:last]))]
                estate.write("".join(text))
            out, lines = self.invalid(estate)
            self.assert_error_naming(lines, "[min-softwares;")
            self.assert_error_naming(lines, "losing server software knot", "[survive-loss.software;")
            self.assertRegex(out, r"server software\s+1\s+knot\s+knot\s+0\s+0\s+FAIL \(too few, N-1\)")

    def test_soa_expire_shorter_than_the_primary_outage(self):
        with EstateCopy() as estate:
            estate.write(estate.read("zones/rdem-systems.fr.zone").replace("1209600", "259200"),
                         "zones/rdem-systems.fr.zone")
            out, lines = self.invalid(estate)
            hit = self.assert_error_in_block(estate, lines, "rdem-systems.fr", "SOA expire 3d", "[soa-expire;")
            self.assertIn("ZONE05", hit["msg"])

    def test_signatures_refreshed_too_late(self):
        with EstateCopy() as estate:
            estate.edit_block("default", "rrsig_refresh: 14d", "rrsig_refresh: 2h")
            out, lines = self.invalid(estate)
            self.assert_error_in_block(estate, lines, "default", "[signature-validity;")

    # Loading (the loader's diagnostics, as the CLI shows them)

    def test_unknown_key(self):
        with EstateCopy() as estate:
            estate.edit_block("ns-ielo.rdem-systems.net", "asn: 29075", "asn: 29075\n    asm: 29075")
            _, lines = self.invalid(estate)
            self.assert_error_in_block(estate, lines, "ns-ielo.rdem-systems.net", "asm")

    def test_wrong_type(self):
        with EstateCopy() as estate:
            estate.edit_block("ns-ielo.rdem-systems.net", "vmid: 5304", "vmid: five")
            _, lines = self.invalid(estate)
            self.assert_error_in_block(estate, lines, "ns-ielo.rdem-systems.net", "five")

    def test_inline_secret(self):
        with EstateCopy() as estate:
            estate.edit_block("pa4", "token_secret: env:DNSCTL_PA4_TOKEN",
                              "token_secret: 5b0c6e2a-95d2-4c1e-9a4b-0f3c2d1e7a68")
            out, lines = self.invalid(estate)
            hit = self.assert_error_in_block(estate, lines, "pa4", "token_secret")
            self.assertIn("env:", hit["msg"])  # says how to fix it
            self.assertNotIn("5b0c6e2a-95d2-4c1e-9a4b-0f3c2d1e7a68", out)  # and never repeats the secret

    def test_duplicate_vmid(self):
        with EstateCopy() as estate:
            estate.edit_block("ns-rds.rdem-systems.com", "vmid: 5303", "vmid: 5300")
            _, lines = self.invalid(estate)
            self.assert_error_naming(lines, "5300")

    def test_dangling_cluster_reference(self):
        with EstateCopy() as estate:
            estate.edit_block("ns-ielo.rdem-systems.net", "cluster: pa3", "cluster: pa9")
            _, lines = self.invalid(estate)
            self.assert_error_in_block(estate, lines, "ns-ielo.rdem-systems.net", "pa9")

    def test_zone_apex_ns_differs_from_the_inventory(self):
        with EstateCopy() as estate:
            zone = estate.read("zones/rdem-systems.eu.zone")
            estate.write(zone.replace("IN NS   ns-ielo.rdem-systems.net.", "IN NS   ns-other.example.net."),
                         "zones/rdem-systems.eu.zone")
            _, lines = self.invalid(estate)
            self.assert_error_naming(lines, "ns-other.example.net")

    def test_invalid_yaml(self):
        with EstateCopy() as estate:
            estate.write(estate.read().replace("distinct: [asn,", "distinct: [asn,,\n  - ]"))
            out, lines = self.invalid(estate)
            self.assertTrue([d for d in lines if d["severity"] == "error" and d["file"] == estate.path], out)
            self.assertIn("policy not checked", out.splitlines()[-1])

    def test_every_problem_of_a_file_at_once(self):
        with EstateCopy() as estate:
            estate.edit_block("ns-rds.rdem-systems.com", "asn: 206014", "asn: 1299")
            estate.edit_block("ns-ielo.rdem-systems.net", "asn: 29075", "asn: 29075\n    asm: 29075")
            estate.edit_block("ns-ielo.rdem-systems.net", "cluster: pa3", "cluster: pa9")
            estate.edit_block("pa4", "token_secret: env:DNSCTL_PA4_TOKEN", "token_secret: hunter2hunter2")
            out, lines = self.invalid(estate)
            self.assert_error_in_block(estate, lines, "ns-ielo.rdem-systems.net", "asm")
            self.assert_error_in_block(estate, lines, "ns-ielo.rdem-systems.net", "pa9")
            self.assert_error_in_block(estate, lines, "pa4", "token_secret")
            self.assert_error_in_block(estate, lines, "ns-rds.rdem-systems.com", "[distinct.asn;")
            # Diagnostics come first, sorted by line; policy findings follow the table.
            text = out.splitlines()
            table = next(i for i, line in enumerate(text) if line.startswith("Diversity policy:"))
            diagnostics = [d for d in located("\n".join(text[:table]))]
            self.assertEqual([int(d["line"]) for d in diagnostics], sorted(int(d["line"]) for d in diagnostics))
            self.assertTrue(len(diagnostics) >= 3)

    def test_json_of_a_broken_inventory(self):
        with EstateCopy() as estate:
            estate.edit_block("ns-rds.rdem-systems.com", "asn: 206014", "asn: 1299")
            estate.edit_block("ns-ielo.rdem-systems.net", "vmid: 5304", "vmid: five")
            code, out, _ = dnsctl("validate", estate.path, "--json")
            self.assertEqual(code, 1)
            doc = json.loads(out)
            self.assertFalse(doc["valid"])
            self.assertTrue(any("five" in d["message"] for d in doc["diagnostics"]))
            first, last = estate.block("ns-rds.rdem-systems.com")
            finding = next(f for f in doc["policy"]["findings"] if f["id"] == "distinct.asn")
            self.assertEqual(finding["nameservers"], ["ns-arelion.rdem-systems.fr", "ns-rds.rdem-systems.com"])
            self.assertTrue(first <= finding["location"]["line"] <= last)
            self.assertEqual(next(r for r in doc["policy"]["rows"] if r["dimension"] == "asn")["verdict"], "fail")

if __name__ == "__main__":
    unittest.main()
