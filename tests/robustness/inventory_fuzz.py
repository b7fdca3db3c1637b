#!/usr/bin/env python3
"""Inventory fuzzer: runs the built `dnsctl validate` on mutated inventories and zone files.

Each case mutates the reference inventory (inventory/inventory.yaml and its zones) or a test fixture
(tests/data/inventories): byte flips, truncation, duplicated and removed keys and lines, huge values,
deep nesting, YAML aliases, wrong types, control characters, many entries, and mutated zone files.
For every case dnsctl must:
  - exit 0 or 1, never with a signal or another code (a sanitizer report counts as a failure);
  - finish within the time limit (10 s) and within the memory limit (256 MiB of maximum resident set,
    measured with wait4 on the child; more for a sanitizer build, see below);
  - locate every error it prints (file:line:col, or at least file:line);
  - print no raw control character (they are escaped), and with --json print one JSON document.

The run is seeded: the seed is printed, and `--seed S --case N` repeats one case exactly. A failing
case is saved (inventory and zone files) under --failures, with the command that reproduces it.

Environment: DNSCTL (the executable), DNSCTL_MEASURE (the helper that runs it and reports its own maximum
RSS and CPU time), DNSCTL_SOURCE_DIR (the repository), DNSCTL_FUZZ_SEED (a fixed
seed), DNSCTL_FUZZ_MAX_RSS_MIB (the memory limit; by default 256, or 1024 when dnsctl is built with
AddressSanitizer, whose shadow memory counts in the resident set).
"""
import argparse
import concurrent.futures
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

DNSCTL = os.environ.get("DNSCTL", "build/controller/dnsctl")
SOURCE_DIR = os.path.abspath(os.environ.get("DNSCTL_SOURCE_DIR",
                                            os.path.join(os.path.dirname(__file__), "..", "..")))

LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>[1-9]\d*)(?::(?P<col>[1-9]\d*))?: (?:error|warning): ")
OMITTED = re.compile(r"^… and [\d,]+ more ")
RAW_CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")
SANITIZER = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: UndefinedBehaviorSanitizer")

MEASURE = os.environ.get("DNSCTL_MEASURE")  # tests/robustness/measure.cpp, built beside dnsctl
MEASURE = os.path.abspath(MEASURE) if MEASURE else None
TIME_LIMIT_S = 10.0


# ---- the material ---------------------------------------------------------------------------

class Tree:
    """A folder of files (relative path -> bytes) with one inventory in it."""

    def __init__(self, name, inventory, files):
        self.name = name
        self.inventory = inventory  # relative path of the inventory
        self.files = files          # relative path -> bytes

    def zones(self):
        return [p for p in self.files if p.endswith(".zone")]


def read_tree(root, name, inventory):
    files = {}
    for folder, _, names in os.walk(root):
        for n in names:
            path = os.path.join(folder, n)
            if n.endswith((".yaml", ".zone")):
                with open(path, "rb") as f:
                    files[os.path.relpath(path, root)] = f.read()
    return Tree(name, inventory, files)


def material():
    trees = [read_tree(os.path.join(SOURCE_DIR, "inventory"), "reference", "inventory.yaml")]
    data = os.path.join(SOURCE_DIR, "tests", "data", "inventories")
    fixtures = read_tree(data, "fixtures", None)
    for rel in sorted(fixtures.files):
        if rel.endswith(".yaml"):
            trees.append(Tree("fixture " + rel, rel, fixtures.files))
    return trees


# ---- mutations ------------------------------------------------------------------------------

CONTROL = ["\x1b[2J", "\x1b]0;owned\x07", "\x07", "\x00", "\r", "\x7f", "\x9b31m", "\xc2\x9b", "\u202e", "\t"]
TOKENS = [":", ": ", "- ", "-", "&a ", "*a", "!!str ", "!!int ", "!!binary ", "{", "}", "[", "]", ",", "|", ">",
          "---\n", "...\n", "%YAML 1.2\n", "? ", "#", "'", '"', "\t", "<<: ", "~", "null", "@", "`"]
WRONG = ["", "~", "[]", "{}", "[1, 2]", "{a: 1}", "-1", "0", "99999999999999999999", "true", "1.5e300", "0x10",
         "'  '", '""', "!!binary aGVsbG8=", "*missing", "&x", "nan", ".inf", "2001:db8::/129", "300.1.1.1/24",
         "env:", "file:", "https://", "xn--", "-" * 70, "a." * 140, "\"\\u0000\"", "\"\\e[2J\""]


def lines_of(text):
    return text.split(b"\n")


def yaml_value_lines(lines):
    """Indexes of lines of the form `key: value`."""
    return [i for i, l in enumerate(lines) if re.match(rb"^\s*[^#\s][^:]*: \S", l)]


def key_lines(lines):
    return [i for i, l in enumerate(lines) if re.match(rb"^\s*[^#\s-][^:]*:(\s|$)", l)]


def block_end(lines, i):
    indent = len(lines[i]) - len(lines[i].lstrip())
    j = i + 1
    while j < len(lines):
        s = lines[j].strip()
        if s and not s.startswith(b"#") and len(lines[j]) - len(lines[j].lstrip()) <= indent:
            break
        j += 1
    return j


def set_value(lines, i, value):
    m = re.match(rb"^(\s*[^:]*:)( .*)?$", lines[i])
    if m:
        lines[i] = m.group(1) + b" " + value


def nested(depth, rng):
    if rng.random() < 0.5:
        return b"[" * depth + b"x" + b"]" * depth
    return b"{a: " * depth + b"x" + b"}" * depth


def laughs(rng):
    width = rng.randint(2, 12)
    levels = rng.randint(2, 12)
    out = [b"x-l0: &l0 [" + b",".join([b"lol"] * width) + b"]"]
    for k in range(1, levels):
        out.append(b"x-l%d: &l%d [" % (k, k) + b",".join([b"*l%d" % (k - 1)] * width) + b"]")
    return out


def mutate_inventory(text, rng):
    """Returns (mutated text, description)."""
    lines = lines_of(text)
    kind = rng.randrange(16)
    if kind == 0 and text:
        data = bytearray(text)
        n = rng.randint(1, 8)
        for _ in range(n):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        return bytes(data), f"{n} bit flips"
    if kind == 1 and text:
        data = bytearray(text)
        n = rng.randint(1, 8)
        for _ in range(n):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data), f"{n} random bytes"
    if kind == 2:
        cut = rng.randrange(len(text) + 1)
        return text[:cut], f"truncated at byte {cut}"
    if kind == 3 and lines:
        i = rng.randrange(len(lines))
        n = rng.choice([1, 1, 2, 50])
        lines[i + 1:i + 1] = [lines[i]] * n
        return b"\n".join(lines), f"line {i + 1} repeated {n} more times"
    if kind == 4 and lines:
        i = rng.randrange(len(lines))
        del lines[i]
        return b"\n".join(lines), f"line {i + 1} removed"
    keys = key_lines(lines)
    values = yaml_value_lines(lines)
    if kind == 5 and keys:
        i = rng.choice(keys)
        end = block_end(lines, i)
        if rng.random() < 0.5:
            del lines[i:end]
            return b"\n".join(lines), f"block at line {i + 1} removed"
        lines[end:end] = lines[i:end]
        return b"\n".join(lines), f"block at line {i + 1} duplicated"
    if kind == 6 and values:
        i = rng.choice(values)
        size = rng.choice([100, 4097, 70_000, 1_000_000, 5_000_000])
        set_value(lines, i, b"x" * size)
        return b"\n".join(lines), f"value at line {i + 1} is {size} bytes"
    if kind == 7 and values:
        i = rng.choice(values)
        depth = rng.choice([10, 63, 65, 200, 1999, 2001, 10_000])
        set_value(lines, i, nested(depth, rng))
        return b"\n".join(lines), f"value at line {i + 1} nested {depth} deep"
    if kind == 8:
        choice = rng.randrange(4)
        if choice == 0:
            block = laughs(rng)
            at = rng.randrange(len(lines) + 1)
            lines[at:at] = block
            return b"\n".join(lines), f"nested aliases ({len(block)} levels) at line {at + 1}"
        if choice == 1 and values:
            i = rng.choice(values)
            set_value(lines, i, b"&r [*r]" if rng.random() < 0.5 else b"*nowhere")
            return b"\n".join(lines), f"recursive or unknown alias at line {i + 1}"
        if keys:
            # An anchor on a block and an alias to it elsewhere, as a value or as a key.
            i = rng.choice(keys)
            lines[i] = lines[i].rstrip() + b" &blk"
            j = rng.choice(values) if values else i
            if choice == 2:
                set_value(lines, j, b"*blk")
            else:
                lines.insert(j, b"*blk : 1")
            return b"\n".join(lines), f"anchor at line {i + 1}, alias at line {j + 1}"
    if kind == 9 and values:
        i = rng.choice(values)
        value = rng.choice(WRONG).encode()
        set_value(lines, i, value)
        return b"\n".join(lines), f"value at line {i + 1} replaced by {value!r}"
    if kind == 10 and keys:
        i = rng.choice(keys)
        end = block_end(lines, i)
        if end > i + 1:  # a map becomes a scalar, a list, nothing
            lines[i + 1:end] = []
            set_value(lines, i, rng.choice([b"1", b"[a]", b"x", b"", b"{}"]))
            return b"\n".join(lines), f"block at line {i + 1} replaced by a scalar"
    if kind == 11:
        control = rng.choice(CONTROL).encode("utf-8", "surrogateescape") if rng.random() < 0.8 else bytes(
            [rng.choice([0x80, 0xc3, 0xff, 0xfe, 0xed])])
        target = rng.choice(values or keys or [0]) if lines else 0
        if lines:
            line = lines[target]
            at = rng.randrange(len(line) + 1)
            quoted = rng.random() < 0.5
            if quoted:
                escaped = rng.choice([b"\\e[31m", b"\\a", b"\\x1b]2;t\\x07", b"\\u202e", b"\\x9b", b"\\0"])
                m = re.match(rb"^(\s*[^:]*: )(.*)$", line)
                if m:
                    lines[target] = m.group(1) + b'"' + m.group(2).replace(b'"', b"") + escaped + b'"'
                    return b"\n".join(lines), f"escaped control character in the value at line {target + 1}"
            lines[target] = line[:at] + control + line[at:]
        return b"\n".join(lines), f"control character {control!r} at line {target + 1}"
    if kind == 12:
        # Many entries: a long list, a long map, many keys.
        n = rng.choice([1_000, 20_001, 60_000, 120_000])
        shape = rng.randrange(3)
        if shape == 0:
            extra = b"x-list: [" + b",".join([b"198.51.100.1"] * n) + b"]"
        elif shape == 1:
            extra = b"x-map: {" + b",".join(b"k%d: 1" % k for k in range(n)) + b"}"
        else:
            extra = b"\n".join(b"  - 2001:db8::%x" % k for k in range(min(n, 200_000)))
            extra = b"resolvers:\n" + extra
        at = rng.randrange(len(lines) + 1)
        lines[at:at] = [extra]
        return b"\n".join(lines), f"{n} entries ({['flow list', 'flow map', 'block list'][shape]}) at line {at + 1}"
    if kind == 13 and lines:
        i = rng.randrange(len(lines))
        token = rng.choice(TOKENS).encode()
        line = lines[i]
        at = rng.randrange(len(line) + 1)
        lines[i] = line[:at] + token + line[at:]
        return b"\n".join(lines), f"{token!r} inserted at line {i + 1}"
    if kind == 14 and values:
        # A file reference that is not a regular file.
        targets = [l for l in range(len(lines)) if re.match(rb"^\s*(file|ca_file|fingerprint_file|key_file|"
                                                             rb"known_hosts|path|state_dir): ", lines[l])]
        i = rng.choice(targets or values)
        special = rng.choice([b"/dev/zero", b"/dev/null", b"/dev/urandom", b"fifo.zone", b"/", b".", b"/proc/self/mem",
                              b"inventory.yaml", b"loop.zone", b"/nonexistent/zone"])
        set_value(lines, i, special)
        return b"\n".join(lines), f"value at line {i + 1} names {special.decode()}"
    if kind == 15 and lines:
        # Indentation damage and tabs.
        i = rng.randrange(len(lines))
        lines[i] = rng.choice([b"\t", b" ", b"   ", b""]) + lines[i].lstrip()
        return b"\n".join(lines), f"indentation of line {i + 1} changed"
    return mutate_inventory(text, rng) if rng.random() < 0.9 else (text, "unchanged")


ZONE_EXTRA = [b"$INCLUDE /etc/passwd", b"$ORIGIN .", b"$ORIGIN \x1b[2J.", b"$TTL -1", b"$TTL 99999999999",
              b"$GENERATE 1-100000 host$ A 198.51.100.$", b"@ IN SOA a. b. 1 2 3 4 5", b"@ IN NS ns.example.org.",
              b"outside.example. IN A 198.51.100.1", b"( ( ( (", b") ) )", b"@ IN TXT \"" + b"x" * 70_000 + b"\"",
              b"x" * 300 + b" IN A 198.51.100.1", (b"a" * 64 + b".") * 4 + b" IN A 198.51.100.1",
              b"@ IN TYPE65534 \\# 3 abcdef", b"@ IN A \\# 999999999 00", b"@ 1 IN CAA 0 issue \"\x00\"",
              b"\x00\x00\x00", b"\xff\xfe\xfd", b"@ IN NS \x1b]0;x\x07.", b"@ IN DS 1 8 2 zz",
              b"@ IN NSEC3PARAM 1 0 65535 -", b"@ CLASS99 A 1.2.3.4", b"; comment \x1b[2J"]


def mutate_zone(text, rng):
    lines = lines_of(text)
    kind = rng.randrange(8)
    if kind == 0 and text:
        data = bytearray(text)
        n = rng.randint(1, 8)
        for _ in range(n):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data), f"{n} random bytes"
    if kind == 1:
        cut = rng.randrange(len(text) + 1)
        return text[:cut], f"truncated at byte {cut}"
    if kind == 2 and lines:
        i = rng.randrange(len(lines))
        del lines[i]
        return b"\n".join(lines), f"line {i + 1} removed"
    if kind == 3 and lines:
        i = rng.randrange(len(lines))
        n = rng.choice([1, 2, 1000])
        lines[i + 1:i + 1] = [lines[i]] * n
        return b"\n".join(lines), f"line {i + 1} repeated {n} more times"
    if kind == 4:
        extra = rng.choice(ZONE_EXTRA)
        at = rng.randrange(len(lines) + 1)
        lines.insert(at, extra)
        return b"\n".join(lines), f"{extra[:40]!r} inserted at line {at + 1}"
    if kind == 5:
        # Only some record types survive (no SOA, no NS, nothing).
        drop = rng.choice([b"SOA", b"NS", b"IN", b"$"])
        return b"\n".join(l for l in lines if drop not in l), f"lines with {drop!r} removed"
    if kind == 6:
        n = rng.choice([10_000, 100_000])
        body = b"\n".join(b"h%d IN A 198.51.100.%d" % (k, k % 250 + 1) for k in range(n))
        return text + b"\n" + body, f"{n} records appended"
    if kind == 7 and lines:
        i = rng.randrange(len(lines))
        line = lines[i]
        at = rng.randrange(len(line) + 1)
        token = rng.choice([b"(", b")", b";", b"\"", b"\\", b"\\0", b"\t", b"\r", b"\x1b[31m", b"@", b"*", b"."])
        lines[i] = line[:at] + token + line[at:]
        return b"\n".join(lines), f"{token!r} inserted at line {i + 1}"
    return mutate_zone(text, rng)


# ---- running a case ---------------------------------------------------------------------------

class Case:
    def __init__(self, index, tree, files, inventory, description, json_output):
        self.index = index
        self.tree = tree
        self.files = files              # relative path -> bytes (the whole folder)
        self.inventory = inventory
        self.description = description
        self.json_output = json_output


FIXED = [
    ("primary with nothing but resources", b"primary:\n  resources: {}\n"),
    ("readonly_token without its secret", None),
]


def make_case(index, seed, trees, zone_case):
    rng = random.Random(f"{seed}:{index}")
    tree = rng.choice([t for t in trees if t.zones()]) if zone_case else (
        trees[0] if rng.random() < 0.6 else rng.choice(trees))
    files = dict(tree.files)
    inventory = tree.inventory
    if index < len(FIXED):
        name, text = FIXED[index]
        if text is None:
            reference = files[trees[0].inventory] if tree is trees[0] else trees[0].files[trees[0].inventory]
            files = dict(trees[0].files)
            inventory = trees[0].inventory
            text = reference.replace(b"      secret: env:DNSCTL_TH2_READONLY_TOKEN\n", b"")
            tree = trees[0]
        files[inventory] = text
        return Case(index, tree, files, inventory, name, False)
    if zone_case:
        zone = rng.choice(tree.zones())
        mutated, description = mutate_zone(files[zone], rng)
        if rng.random() < 0.2:
            mutated, more = mutate_zone(mutated, rng)
            description += "; " + more
        files[zone] = mutated
        description = f"zone {zone}: {description}"
    else:
        mutated, description = mutate_inventory(files[inventory], rng)
        if rng.random() < 0.25:
            mutated, more = mutate_inventory(mutated, rng)
            description += "; " + more
        files[inventory] = mutated
    return Case(index, tree, files, inventory, f"{tree.name}: {description}", rng.random() < 0.25)


def write_folder(root, files):
    for rel, data in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    # The special files that mutations may name.
    for folder in {os.path.dirname(os.path.join(root, rel)) for rel in files}:
        fifo = os.path.join(folder, "fifo.zone")
        if not os.path.exists(fifo):
            os.mkfifo(fifo)
        loop = os.path.join(folder, "loop.zone")
        if not os.path.lexists(loop):
            os.symlink("loop.zone", loop)


def run(case, root, max_rss_kib):
    """Runs dnsctl on one case in folder `root`; returns a list of problems (empty: passed) and figures."""
    inventory = os.path.join(root, case.inventory)
    cmd = [os.path.abspath(DNSCTL), "validate", inventory] + (["--json"] if case.json_output else [])
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":exitcode=86").lstrip(":")
    env["UBSAN_OPTIONS"] = (env.get("UBSAN_OPTIONS", "") + ":exitcode=87:print_stacktrace=1").lstrip(":")
    out_path = os.path.join(root, ".stdout")
    err_path = os.path.join(root, ".stderr")
    measured_path = os.path.join(root, ".measured")
    start = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        if MEASURE:
            # Through the small helper: the child's figures are dnsctl's own.
            subprocess.run([MEASURE, str(TIME_LIMIT_S), measured_path] + cmd, stdout=out, stderr=err,
                           stdin=subprocess.DEVNULL, cwd=root, env=env, check=True)
            with open(measured_path) as f:
                how, value, rss, cpu = f.read().split()
            timed_out = how == "timeout"
            signal_number = int(value) if how == "signaled" else None
            code = int(value) if how == "exited" else -1
            max_rss = int(rss)
            cpu = float(cpu)
        else:
            # Without the helper the maximum RSS also counts this script's own
            # (a child's ru_maxrss includes its parent's pages before the exec).
            timed_out = False
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=root, env=env)
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid != 0:
                    break
                if time.monotonic() - start > TIME_LIMIT_S:
                    timed_out = True
                    proc.kill()
                    pid, status, usage = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.002)
            proc.returncode = os.waitstatus_to_exitcode(status)
            signal_number = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
            code = proc.returncode
            max_rss = usage.ru_maxrss
            cpu = usage.ru_utime + usage.ru_stime
    elapsed = time.monotonic() - start
    with open(out_path, "rb") as f:
        stdout = f.read()
    with open(err_path, "rb") as f:
        stderr = f.read()

    problems = []
    if timed_out:
        problems.append(f"still running after {TIME_LIMIT_S:.0f} s (killed)")
    elif signal_number is not None:
        problems.append(f"killed by signal {signal_number}")
    elif code not in (0, 1):
        problems.append(f"exit code {code}")
    if max_rss > max_rss_kib:
        problems.append(f"maximum resident set {max_rss // 1024} MiB, over {max_rss_kib // 1024} MiB")
    text_err = stderr.decode("utf-8", "replace")
    if SANITIZER.search(text_err):
        problems.append("sanitizer report: " + SANITIZER.search(text_err).group(0))
    if not timed_out and signal_number is None:
        if RAW_CONTROL.search(stdout):
            problems.append(f"raw control character in the output: {RAW_CONTROL.search(stdout).group(0)!r}")
        text = stdout.decode("utf-8", "replace")
        if case.json_output:
            try:
                doc = json.loads(stdout)
                if doc.get("valid") != (code == 0):
                    problems.append("--json: `valid` disagrees with the exit code")
                for d in doc.get("diagnostics", []):
                    if d["severity"] == "error" and not d["location"].get("line"):
                        problems.append(f"--json: an error without a line: {d['message'][:200]}")
                        break
            except (ValueError, KeyError, TypeError) as e:
                problems.append(f"--json output is not the expected JSON document: {e}")
        else:
            for line in text.splitlines():
                if (": error: " in line or ": warning: " in line) and not LOCATED.match(line):
                    problems.append(f"an error without file:line: {line[:300]}")
                    break
            if code == 1 and "INVALID" not in (text.splitlines() or [""])[-1]:
                problems.append("exit 1, but the last line does not say INVALID")
    return problems, elapsed, max_rss, code, stdout, stderr, cpu


def save_failure(case, failures_dir, seed, problems, stdout, stderr):
    folder = os.path.join(failures_dir, f"case-{seed}-{case.index}")
    shutil.rmtree(folder, ignore_errors=True)
    write_folder(folder, case.files)
    with open(os.path.join(folder, "output.txt"), "wb") as f:
        f.write(b"# " + case.description.encode("utf-8", "replace") + b"\n")
        for p in problems:
            f.write(b"# " + p.encode("utf-8", "replace") + b"\n")
        f.write(b"## stdout\n" + stdout[:100_000] + b"\n## stderr\n" + stderr[:100_000])
    return folder


def is_sanitized(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
        return b"libasan.so" in data or b"__asan_init" in data
    except OSError:
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=None, help="seed (default: DNSCTL_FUZZ_SEED, else random)")
    parser.add_argument("--cases", type=int, default=1000, help="inventory cases (default 1000)")
    parser.add_argument("--zone-cases", type=int, default=300, help="zone-file cases (default 300)")
    parser.add_argument("--case", type=int, default=None, help="run only this case number")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--budget", type=float, default=600.0,
                        help="wall-clock seconds for the whole run, a cap against hangs; past it the run fails "
                             "(default 600; an idle 2-core machine takes about 30, a busy one several times that)")
    parser.add_argument("--cpu-budget", type=float, default=None,
                        help="CPU seconds all cases may take together, independent of the machine's load; past "
                             "it the run fails (default 120, 600 for a sanitizer build; a run takes about 50)")
    parser.add_argument("--failures", default=os.path.join(tempfile.gettempdir(), "dnsctl-fuzz-failures"))
    args = parser.parse_args()

    seed = args.seed if args.seed is not None else int(os.environ.get("DNSCTL_FUZZ_SEED") or
                                                       random.SystemRandom().randrange(1, 2**31))
    sanitized = is_sanitized(os.path.abspath(DNSCTL))
    max_rss_mib = int(os.environ.get("DNSCTL_FUZZ_MAX_RSS_MIB") or (1024 if sanitized else 256))
    cpu_budget = args.cpu_budget if args.cpu_budget is not None else (600.0 if sanitized else 120.0)
    total = args.cases + args.zone_cases
    indexes = [args.case] if args.case is not None else list(range(total))
    print(f"inventory fuzz: seed {seed}, {len(indexes)} cases ({args.cases} inventory, {args.zone_cases} zone file), "
          f"limits {TIME_LIMIT_S:.0f} s and {max_rss_mib} MiB per case{' (sanitizer build)' if sanitized else ''}; "
          f"repeat with: {sys.argv[0]} --seed {seed}", flush=True)

    trees = material()
    work = tempfile.mkdtemp(prefix="dnsctl-fuzz-")
    started = time.monotonic()
    failures = []
    slowest = (0.0, None)
    largest = (0, None)
    exits = {}
    cpu_total = 0.0
    try:
        def one(index):
            """Runs one case; returns only small figures (a failing case is saved here)."""
            case = make_case(index, seed, trees, index >= args.cases)
            root = os.path.join(work, f"case-{index}")
            write_folder(root, case.files)
            try:
                problems, elapsed, rss, code, stdout, stderr, cpu = run(case, root, max_rss_mib * 1024)
            finally:
                shutil.rmtree(root, ignore_errors=True)
            folder = save_failure(case, args.failures, seed, problems, stdout, stderr) if problems else None
            return (index, case.description, case.inventory, case.json_output, problems, elapsed, rss, code, cpu,
                    folder)

        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(one, i) for i in indexes]
            for future in concurrent.futures.as_completed(futures):
                index, description, inventory, json_output, problems, elapsed, rss, code, cpu, folder = \
                    future.result()
                cpu_total += cpu
                exits[code] = exits.get(code, 0) + 1
                if elapsed > slowest[0]:
                    slowest = (elapsed, index)
                if rss > largest[0]:
                    largest = (rss, index)
                if problems:
                    failures.append(index)
                    print(f"FAIL case {index} ({description}): {'; '.join(problems)}\n"
                          f"  saved in {folder}\n"
                          f"  reproduce: {DNSCTL} validate {os.path.join(folder, inventory)}"
                          f"{' --json' if json_output else ''}\n"
                          f"  or: {sys.argv[0]} --seed {seed} --case {index}", flush=True)
                if time.monotonic() - started > args.budget:
                    for f in futures:
                        f.cancel()
                    print(f"FAIL: the run took more than its budget of {args.budget:.0f} s", flush=True)
                    failures.append("budget")
                    break
    finally:
        shutil.rmtree(work, ignore_errors=True)

    elapsed = time.monotonic() - started
    ran = sum(exits.values())
    print(f"inventory fuzz: seed {seed}: {ran} cases in {elapsed:.1f} s ({cpu_total:.1f} s of CPU), exit codes "
          f"{dict(sorted(exits.items()))}, slowest {slowest[0]:.2f} s (case {slowest[1]}), "
          f"largest {largest[0] // 1024} MiB (case {largest[1]})")
    if cpu_total > cpu_budget:
        print(f"FAIL: the cases took {cpu_total:.1f} s of CPU, more than the budget of {cpu_budget:.0f} s")
        failures.append("cpu budget")
    passed = ran - len([f for f in failures if isinstance(f, int)])
    print(f"{passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
