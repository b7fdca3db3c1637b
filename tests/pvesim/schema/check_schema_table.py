#!/usr/bin/env python3
"""Cross-checks pve-sim against the official PVE 8.4 API schema.

1. The routes pve-sim serves (`pve-sim --list-endpoints`) are exactly the
   endpoints of the checked-in parameter table and of the generator's list.
2. When the reference folder (../shared/reference/proxmox) is present: the
   checked-in table is byte-for-byte what the generator derives from
   apidata.js, and every endpoint also listed in apidata-subset-8.4.json has
   the same parameters, permissions and token flag there.

Exit status: 0 pass, 1 fail, 77 reference absent (route check passed).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--table", required=True)
    parser.add_argument("--generator", required=True)
    parser.add_argument("--reference", required=True)
    parser.add_argument("--pve-sim", required=True)
    args = parser.parse_args()

    failures = []
    table = json.load(open(args.table, encoding="utf-8"))
    table_endpoints = sorted(table["endpoints"])
    routes = sorted(subprocess.run([args.pve_sim, "--list-endpoints"], check=True, capture_output=True,
                                   text=True).stdout.split("\n"))
    routes = [r for r in routes if r]
    generator_list = sorted(l for l in subprocess.run([sys.executable, args.generator, "--list-endpoints", "-"],
                                                     check=True, capture_output=True, text=True).stdout.split("\n") if l)
    if routes != table_endpoints:
        failures.append("pve-sim routes and table differ: only routes %s, only table %s" % (
            sorted(set(routes) - set(table_endpoints)), sorted(set(table_endpoints) - set(routes))))
    if generator_list != table_endpoints:
        failures.append("generator list and table differ: %s" % sorted(set(generator_list) ^ set(table_endpoints)))

    apidata = os.path.join(args.reference, "apidata.js")
    if not os.path.exists(apidata):
        for f in failures:
            print("FAIL:", f)
        if failures:
            return 1
        print("SKIP: %s not found; routes and table agree (%d endpoints)" % (apidata, len(routes)))
        return 77

    with tempfile.TemporaryDirectory() as tmp:
        regenerated = os.path.join(tmp, "table.json")
        subprocess.run([sys.executable, args.generator, apidata, "-o", regenerated], check=True)
        if open(regenerated, encoding="utf-8").read() != open(args.table, encoding="utf-8").read():
            failures.append("the checked-in table is not what gen_schema_table.py derives from %s; regenerate it" % apidata)

    subset_path = os.path.join(args.reference, "apidata-subset-8.4.json")
    if os.path.exists(subset_path):
        subset = json.load(open(subset_path, encoding="utf-8"))["paths"]
        checked = 0
        for key, entry in table["endpoints"].items():
            method, path = key.split(" ", 1)
            info = subset.get(path, {}).get("info", {}).get(method)
            if info is None:
                continue
            checked += 1
            names = sorted(info.get("parameters", {}).get("properties", {}))
            if names != sorted(entry["parameters"]):
                failures.append("%s: parameters differ from the subset" % key)
            if info.get("allowtoken", 1) != entry["allowtoken"]:
                failures.append("%s: allowtoken differs from the subset" % key)
            if info.get("permissions", {}) != entry["permissions"]:
                failures.append("%s: permissions differ from the subset" % key)
        missing = sorted("%s %s" % (m, p) for p, v in subset.items() for m in v.get("info", {})
                         if "%s %s" % (m, p) not in table["endpoints"])
        print("checked %d endpoints against the subset; not simulated: %s" % (checked, ", ".join(missing) or "none"))

    for f in failures:
        print("FAIL:", f)
    if failures:
        return 1
    print("OK: %d endpoints, table matches %s" % (len(routes), apidata))
    return 0


if __name__ == "__main__":
    sys.exit(main())
