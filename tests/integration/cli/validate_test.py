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


if __name__ == "__main__":
    unittest.main()
