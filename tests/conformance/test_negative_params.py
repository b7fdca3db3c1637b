"""Negative-parameter probe: every parameter of every endpoint pve-sim serves,
with values that break its schema, sent over HTTPS to a real pve-sim. Proxmox
VE answers each with 400 "Parameter verification failed." and an `errors`
object naming the parameter; so must pve-sim.

The invalid values derive from the parameter table (tests/pvesim/schema/, the
official PVE 8.4 schema reduced to what validation needs): a wrong type, one
past each bound, a value outside the enumeration, one the pattern does not
match, one over the length limit, an undefined key of a property string and,
on top of a valid property string, each of its keys broken the same way. The
schema only names some formats (pve-qm-boot, pve-vm-cpu-conf, …); for those
the probe holds values their documentation rules out, and a served format
without such values fails the probe, as does a valid value refused.

The requests go to a VM that does not exist: a value that passes verification
reaches the handler and fails there with 500, so nothing changes and a 400
can only come from verification.
"""
import json
import os
import re
import unittest
import urllib.parse

import requests

from pvesim_process import HERE, PveSim

TABLE = os.environ.get("PVESIM_SCHEMA_TABLE") or os.path.join(HERE, "..", "pvesim", "schema", "pve-8.4-params.json")
ROOT_PASSWORD = "conformance-root"
NODE = "pve1"
ABSENT_VMID = "999"
UPID = "UPID:pve1:00001234:00001234:6500AA00:qmstart:999:root@pam:"
PATH_VALUES = {"node": NODE, "vmid": ABSENT_VMID, "upid": UPID}

# Valid values for required parameters, so a request fails on the probed one only.
REQUIRED = {"newid": "150", "type": "user", "disk": "scsi0", "size": "+1G", "file": "/etc/hostname",
            "username": "root@pam", "password": "not-the-password"}

# Values the named formats refuse (the name without -list/-opt), from the
# formats' documentation in the schema descriptions and PVE's verifiers.
INVALID_BY_FORMAT = {
    "pve-vmid": ["99", "1x"],
    "pve-node": ["bad_node"],
    "dns-name": ["bad_name"],
    "pve-tag": ["-bad"],
    "urlencoded": ["a b"],
    "pve-configid": ["1bad"],
    "pve-storage-id": ["1bad"],
    "pve-bridge-id": ["bad/bridge"],
    "pve-poolid": ["bad pool"],
    "pve-realm": ["1"],
    "mac-addr": ["01:00:00:00:00:01"],
    "address": ["bad_address!"],
    "CIDR": ["10.0.0.0/99"],
    "disk-size": ["+1G", "1X"],
    "pve-volume-id": ["nope"],
    "pve-volume-id-or-qm-path": ["nope"],
    "pve-volume-id-or-absolute-path": ["nope"],
    "pve-priv": ["Probe.Nothing"],
    "storage-pair": ["1bad", "a:1bad"],
    "pve-cpuset": ["3-1", "a"],
    "pve-hotplug-features": ["gpu"],
    "pve-startup-order": ["order=x", "0"],
    "pve-task-status-type": ["running"],
    "pve-qm-bootdisk": ["efidisk0", "scsi31"],
    "pve-qm-ipconfig": ["ip=probe", "gw=probe", "probe_undefined_key=1"],
    "pve-qm-boot": ["probe_undefined_key=1", "order=efidisk0", "order=net32", "xyz"],
    "pve-qm-cicustom": ["probe_undefined_key=1", "user=nope", "local:snippets/user.yaml"],
    "pve-qm-smbios1": ["probe_undefined_key=1", "uuid=probe", "serial=a b", "base64=maybe"],
    "pve-qm-watchdog": ["probe_undefined_key=1", "explode", "action=explode"],
    "pve-qm-rng": ["probe_undefined_key=1", "/dev/zero", "max_bytes=1024", "source=/dev/random,period=soon"],
    "pve-qm-hostpci": ["probe_undefined_key=1", "zz:zz.z", "01:00.0,vendor-id=8086", "01:00.0,pcie=maybe",
                       "mapping=1bad"],
    "pve-qm-ide": ["probe_undefined_key=1", "nope", "none,media=tape"],
    "pve-vm-cpu-conf": ["probe_undefined_key=1", "probe", "custom-absent", "flags=+aes", "host,flags=+avx2",
                        "host,reported-model=host", "host,phys-bits=7", "host,hidden=maybe", "host,flags=aes"],
    "pve-qemu-sev-fmt": ["probe_undefined_key=1", "sev", "no-debug=1", "std,allow-smt=maybe"],
}

# A value each named format accepts: refusing it would be a false 400.
VALID_BY_FORMAT = {
    "pve-qm-boot": "order=scsi0;net0",
    "pve-qm-bootdisk": "scsi0",
    "pve-qm-cicustom": "user=local:snippets/user.yaml",
    "pve-qm-smbios1": "uuid=7d1c4f3e-2b8a-4c61-9e0f-5a6b7c8d9e01,manufacturer=UHJveG1veA==,base64=1",
    "pve-qm-watchdog": "i6300esb,action=reset",
    "pve-qm-rng": "source=/dev/urandom,max_bytes=1024,period=1000",
    "pve-qm-hostpci": "0000:01:00.0,pcie=1",
    "pve-qm-ide": "none",
    "pve-vm-cpu-conf": "x86-64-v2-AES,flags=+aes;-pcid,phys-bits=host",
    "pve-qemu-sev-fmt": "type=std,no-debug=1",
    "pve-startup-order": "order=1,up=30",
    "pve-task-status-type-list": "ok,error",
    "pve-hotplug-features": "network,disk",
    "pve-cpuset": "0,5,8-11",
    "pve-priv-list": "VM.Audit",
    "storage-pair-list": "local-lvm",
    "pve-qm-ipconfig": "ip=198.51.100.10/24,gw=198.51.100.1",
}

# A valid value of each table property-string format ($ref), as key -> value;
# the probe breaks one key at a time on top of it.
VALID_PROPERTY_STRINGS = {
    "agent": {"enabled": "1"},
    "audio0": {"device": "ich9-intel-hda"},
    "efidisk0": {"file": "local-lvm:vm-999-disk-1"},
    "ide": {"file": "local-lvm:vm-999-disk-0"},
    "ivshmem": {"size": "1"},
    "machine": {"type": "q35"},
    "memory": {"current": "1024"},
    "net": {"model": "virtio", "bridge": "vmbr0"},
    "numa": {"cpus": "0"},
    "sata": {"file": "local-lvm:vm-999-disk-0"},
    "scsi": {"file": "local-lvm:vm-999-disk-0"},
    "spice_enhancements": {"foldersharing": "1"},
    "tpmstate0": {"file": "local-lvm:vm-999-disk-2"},
    "unused": {"file": "local-lvm:vm-999-disk-3"},
    "usb": {"host": "1234:5678"},
    "vga": {"type": "std"},
    "virtio": {"file": "local-lvm:vm-999-disk-0"},
    "virtiofs": {"dirid": "share"},
}


def strip_suffix(fmt):
    for suffix in ("-list", "-opt"):
        if fmt.endswith(suffix):
            return fmt[: -len(suffix)]
    return fmt


def python_regex(pattern):
    """Perl's `(?^:…)` and `(?^i:…)` in Python's syntax; PVE anchors patterns."""
    return re.compile(pattern.replace("(?^i:", "(?i:").replace("(?^:", "(?:"))


def errors_of(answer):
    if not answer.content:
        return {}
    return answer.json().get("errors") or {}


def number(value):
    return str(int(value)) if float(value).is_integer() else str(value)


class Probe:
    def __init__(self, table):
        self.formats = table["formats"]
        self.missing_formats = set()

    def invalid_values(self, prop, top_level=True):
        """(what, value) pairs that break `prop` (a parameter, or a key of a
        property string, where 'true'/'on'/'yes' are booleans too)."""
        out = []
        kind = prop.get("type", "string")
        if kind == "boolean":
            out.append(("type", "probe"))
            if top_level:
                out.append(("type", "true"))
        elif kind in ("integer", "number"):
            out.append(("type", "probe"))
            if kind == "integer":
                out.append(("type", "1.5"))
            if "minimum" in prop:
                out.append(("minimum", number(float(prop["minimum"]) - 1)))
            if "maximum" in prop:
                out.append(("maximum", number(float(prop["maximum"]) + 1)))
        if "enum" in prop:
            out.append(("enum", "probe_invalid_enum"))
        if "pattern" in prop:
            regex = python_regex(prop["pattern"])
            for candidate in ("probe invalid!", "!", "-", "0", "a" * 300):
                if not regex.fullmatch(candidate):
                    out.append(("pattern", candidate))
                    break
        if "maxLength" in prop:
            out.append(("maxLength", "a" * (int(prop["maxLength"]) + 1)))
        fmt = prop.get("format")
        if isinstance(fmt, dict):
            ref = fmt["$ref"]
            out.append(("format %s" % ref, "probe_undefined_key=1"))
            base = VALID_PROPERTY_STRINGS.get(ref)
            if base is None:
                self.missing_formats.add("$ref:" + ref)
            else:
                for key, sub in sorted(self.formats[ref].items()):
                    if "alias" in sub:
                        continue
                    for what, value in self.invalid_values(sub, top_level=False):
                        values = dict(base, **{key: value})
                        out.append(("format %s.%s %s" % (ref, key, what),
                                    ",".join("%s=%s" % (k, v) for k, v in values.items())))
        elif isinstance(fmt, str):
            name = strip_suffix(fmt)
            if name not in INVALID_BY_FORMAT:
                self.missing_formats.add(fmt)
            for value in INVALID_BY_FORMAT.get(name, []):
                out.append(("format %s" % fmt, value))
        return out


class NegativeParameterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(TABLE, encoding="utf-8") as f:
            cls.table = json.load(f)
        cls.sim = PveSim().start()
        try:
            cls.log_in()
        except BaseException:
            cls.sim.cleanup()  # tearDownClass does not run when setUpClass fails
            raise

    @classmethod
    def log_in(cls):
        cluster = cls.sim.cluster()
        cls.base = cluster["url"] + "/api2/json"
        cls.http = requests.Session()
        # per request: a `verify` set on the requests.Session loses to REQUESTS_CA_BUNDLE
        cls.certificate = cluster["certificate_file"]
        login = cls.http.post(cls.base + "/access/ticket", data={"username": "root@pam", "password": ROOT_PASSWORD},
                              verify=cls.certificate, timeout=10)
        login.raise_for_status()
        ticket = login.json()["data"]
        cls.http.cookies.set("PVEAuthCookie", ticket["ticket"])
        cls.http.headers["CSRFPreventionToken"] = ticket["CSRFPreventionToken"]

    @classmethod
    def tearDownClass(cls):
        cls.http.close()
        cls.sim.cleanup()

    def send(self, method, path, params):
        url = self.base + "/".join(urllib.parse.quote(PATH_VALUES.get(part[1:-1], part), safe=":@!")
                                   if part.startswith("{") else part for part in path.split("/"))
        if method in ("GET", "DELETE"):
            return self.http.request(method, url, params=params, verify=self.certificate, timeout=10)
        return self.http.request(method, url, data=params, verify=self.certificate, timeout=10)

    @staticmethod
    def endpoint_params(path, spec):
        in_path = set(re.findall(r"\{(\w+)\}", path))
        return {name: prop for name, prop in spec["parameters"].items() if name not in in_path}

    @staticmethod
    def concrete(name):
        return name[:-3] + "0" if name.endswith("[n]") else name

    def test_every_invalid_value_is_400_naming_the_parameter(self):
        probe = Probe(self.table)
        failures = []
        cases = 0
        unconstrained = []
        for key, spec in sorted(self.table["endpoints"].items()):
            method, path = key.split(" ", 1)
            params = self.endpoint_params(path, spec)
            required = {n: REQUIRED[n] for n, p in params.items() if not p.get("optional")}
            baseline = self.send(method, path, required)
            if set(errors_of(baseline)) - set(PATH_VALUES):
                failures.append("%s: the valid request is refused: %s" % (key, baseline.text))
            for name, prop in sorted(params.items()):
                values = probe.invalid_values(prop)
                if not values:
                    unconstrained.append("%s %s" % (key, name))
                param = self.concrete(name)
                for what, value in values:
                    cases += 1
                    answer = self.send(method, path, dict(required, **{param: value}))
                    errors = errors_of(answer)
                    if answer.status_code != 400 or param not in errors:
                        failures.append("%s %s=%r (%s): %d %s %s" % (key, param, value, what, answer.status_code,
                                                                     answer.reason, answer.text.strip()))
                    elif answer.reason != "Parameter verification failed.":
                        failures.append("%s %s=%r: reason %r" % (key, param, value, answer.reason))
        print("\n%d invalid values over %d endpoints; %d parameters have no constraint to break"
              % (cases, len(self.table["endpoints"]), len(unconstrained)))
        self.assertGreater(cases, 400)
        self.assertEqual(sorted(probe.missing_formats), [], "formats the probe has no invalid values for")
        self.assertEqual(failures, [], "%d of %d invalid values not refused as PVE does:\n%s"
                         % (len(failures), cases, "\n".join(failures)))

    def test_valid_values_pass(self):
        failures = []
        checked = 0
        for key, spec in sorted(self.table["endpoints"].items()):
            method, path = key.split(" ", 1)
            params = self.endpoint_params(path, spec)
            required = {n: REQUIRED[n] for n, p in params.items() if not p.get("optional")}
            for name, prop in sorted(params.items()):
                fmt = prop.get("format")
                if isinstance(fmt, dict) and fmt["$ref"] in VALID_PROPERTY_STRINGS:
                    # the base the probe breaks key by key must itself be valid
                    value = ",".join("%s=%s" % kv for kv in VALID_PROPERTY_STRINGS[fmt["$ref"]].items())
                elif isinstance(fmt, str) and fmt in VALID_BY_FORMAT:
                    value = VALID_BY_FORMAT[fmt]
                else:
                    continue
                checked += 1
                param = self.concrete(name)
                answer = self.send(method, path, dict(required, **{param: value}))
                errors = errors_of(answer)
                if answer.status_code == 400 and param in errors:
                    failures.append("%s %s=%r: %s" % (key, param, value, errors[param]))
        self.assertGreater(checked, 40)
        self.assertEqual(failures, [], "valid values refused:\n" + "\n".join(failures))


if __name__ == "__main__":
    unittest.main()
