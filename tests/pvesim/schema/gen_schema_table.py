#!/usr/bin/env python3
"""Derives pve-sim's parameter table from the official Proxmox VE API schema.

Reads apidata.js (pve-docs api-viewer, PVE 8.4), keeps only the endpoints that
pve-sim implements and only what parameter validation and response typing need
(types, formats, enums, patterns, ranges, optional, permissions), and writes a
deterministic JSON table. Property-string formats that appear several times
(the drive formats) are stored once under "formats" and referenced by name.

    gen_schema_table.py APIDATA_JS [-o OUT.json]

The checked-in table is tests/pvesim/schema/pve-8.4-params.json; the
pvesim-schema test regenerates it from the reference schema and compares.
"""
import argparse
import hashlib
import json
import re
import sys

# (method, path) pairs pve-sim serves. Keep in sync with src/routes.cpp; the
# pvesim-schema test checks that both lists agree.
ENDPOINTS = [
    ("GET", "/version"),
    ("GET", "/nodes"),
    ("GET", "/nodes/{node}"),
    ("GET", "/cluster/resources"),
    ("GET", "/cluster/nextid"),
    ("GET", "/cluster/tasks"),
    ("GET", "/access/ticket"),
    ("POST", "/access/ticket"),
    ("GET", "/access/permissions"),
    ("GET", "/pools"),
    ("GET", "/nodes/{node}/qemu"),
    ("GET", "/nodes/{node}/qemu/{vmid}"),
    ("DELETE", "/nodes/{node}/qemu/{vmid}"),
    ("POST", "/nodes/{node}/qemu/{vmid}/clone"),
    ("GET", "/nodes/{node}/qemu/{vmid}/config"),
    ("POST", "/nodes/{node}/qemu/{vmid}/config"),
    ("PUT", "/nodes/{node}/qemu/{vmid}/config"),
    ("GET", "/nodes/{node}/qemu/{vmid}/pending"),
    ("GET", "/nodes/{node}/qemu/{vmid}/cloudinit"),
    ("PUT", "/nodes/{node}/qemu/{vmid}/cloudinit"),
    ("GET", "/nodes/{node}/qemu/{vmid}/cloudinit/dump"),
    ("PUT", "/nodes/{node}/qemu/{vmid}/resize"),
    ("GET", "/nodes/{node}/qemu/{vmid}/status/current"),
    ("POST", "/nodes/{node}/qemu/{vmid}/status/start"),
    ("POST", "/nodes/{node}/qemu/{vmid}/status/stop"),
    ("POST", "/nodes/{node}/qemu/{vmid}/status/shutdown"),
    ("POST", "/nodes/{node}/qemu/{vmid}/status/reboot"),
    ("POST", "/nodes/{node}/qemu/{vmid}/agent/ping"),
    ("GET", "/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces"),
    ("GET", "/nodes/{node}/qemu/{vmid}/agent/file-read"),
    ("GET", "/nodes/{node}/tasks"),
    ("GET", "/nodes/{node}/tasks/{upid}"),
    ("DELETE", "/nodes/{node}/tasks/{upid}"),
    ("GET", "/nodes/{node}/tasks/{upid}/status"),
    ("GET", "/nodes/{node}/tasks/{upid}/log"),
]

# Highest index + 1 of the "name[n]" options when the description does not say
# it ("(n is 0 to 30)"); values are qemu-server's MAX_* constants.
INDEX_COUNT_FALLBACK = {
    "net": 32, "ipconfig": 32, "unused": 256, "hostpci": 16, "numa": 8,
    "usb": 14, "virtiofs": 10, "serial": 4, "parallel": 3,
}

# Schema keys that validation or typing needs; descriptions are dropped.
PROPERTY_KEYS = ("type", "format", "enum", "pattern", "minimum", "maximum", "minLength",
                 "maxLength", "optional", "default_key", "alias", "keyAlias", "requires")


def load_schema(path):
    text = open(path, encoding="utf-8").read()
    start = text.index("[")
    end = text.rstrip().rstrip(";").rstrip().rfind("]") + 1
    nodes = json.loads(text[start:end])
    index = {}

    def walk(node):
        index[node["path"]] = node
        for child in node.get("children", []):
            walk(child)

    for node in nodes:
        walk(node)
    return index, hashlib.sha256(text.encode("utf-8")).hexdigest()


class Formats:
    """Property-string formats stored once, named after their first user."""

    def __init__(self):
        self.by_key = {}
        self.table = {}

    def intern(self, name, fmt):
        sub = {key: slim(value, self) for key, value in sorted(fmt.items())}
        key = json.dumps(sub, sort_keys=True)
        if key not in self.by_key:
            base = re.sub(r"\[n\]$", "", name)
            ref = base
            counter = 2
            while ref in self.table:
                ref = f"{base}-{counter}"
                counter += 1
            self.by_key[key] = ref
            self.table[ref] = sub
        return self.by_key[key]


def slim(prop, formats, name=None):
    out = {}
    for key in PROPERTY_KEYS:
        if key not in prop:
            continue
        value = prop[key]
        if key == "format" and isinstance(value, dict):
            value = {"$ref": formats.intern(name or "anon", value)}
        out[key] = value
    return out


def index_count(name, prop):
    match = re.search(r"\(n is 0 to (\d+)\)", prop.get("description", ""))
    if match:
        return int(match.group(1)) + 1
    base = name[:-3]
    if base not in INDEX_COUNT_FALLBACK:
        raise SystemExit(f"no index range known for {name}")
    return INDEX_COUNT_FALLBACK[base]


def slim_returns(returns):
    out = {"type": returns.get("type", "null")}
    if out["type"] == "object" and "properties" in returns:
        out["properties"] = {k: v.get("type", "string") for k, v in sorted(returns["properties"].items())}
    if out["type"] == "array" and "properties" in returns.get("items", {}):
        out["items"] = {k: v.get("type", "string") for k, v in sorted(returns["items"]["properties"].items())}
    return out


def build(index, digest):
    formats = Formats()
    endpoints = {}
    for method, path in ENDPOINTS:
        node = index.get(path)
        if node is None or method not in node.get("info", {}):
            raise SystemExit(f"{method} {path} is not in the schema")
        info = node["info"][method]
        params_schema = info.get("parameters", {})
        params = {}
        for name, prop in sorted(params_schema.get("properties", {}).items()):
            entry = slim(prop, formats, name)
            if name.endswith("[n]"):
                entry["index_count"] = index_count(name, prop)
            params[name] = entry
        endpoints[f"{method} {path}"] = {
            "allowtoken": info.get("allowtoken", 1),
            "protected": info.get("protected", 0),
            "proxyto": info.get("proxyto"),
            "permissions": info.get("permissions", {}),
            "additionalProperties": params_schema.get("additionalProperties", 0),
            "parameters": params,
            "returns": slim_returns(info.get("returns", {})),
        }
    return {
        "generated_by": "tests/pvesim/schema/gen_schema_table.py",
        "source": "pve-docs api-viewer/apidata.js (Proxmox VE 8.4)",
        "source_sha256": digest,
        "formats": dict(sorted(formats.table.items())),
        "endpoints": endpoints,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("apidata", help="path to apidata.js ('-' with --list-endpoints)")
    parser.add_argument("-o", "--output", help="output file (default: stdout)")
    parser.add_argument("--list-endpoints", action="store_true", help="print the endpoint list and exit")
    args = parser.parse_args()
    if args.list_endpoints:
        for method, path in ENDPOINTS:
            print(f"{method} {path}")
        return 0
    index, digest = load_schema(args.apidata)
    text = json.dumps(build(index, digest), indent=1, sort_keys=False) + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
