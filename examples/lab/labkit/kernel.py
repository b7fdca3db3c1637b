"""Namespaces, mounts and processes through libc (ctypes), and `ip` calls."""
import ctypes
import ctypes.util
import errno
import json
import os
import signal
import subprocess
import time

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def setns(path, nstype):
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _check(_libc.setns(fd, nstype), f"setns {path}")
    finally:
        os.close(fd)


def unshare(flags):
    _check(_libc.unshare(flags), "unshare")


def mount(source, target, fstype, flags=0, data=None):
    _check(_libc.mount(None if source is None else os.fsencode(source), os.fsencode(target),
                       None if fstype is None else os.fsencode(fstype), ctypes.c_ulong(flags),
                       None if data is None else os.fsencode(data)),
           f"mount {fstype or source} on {target}")


def umount(target, flags=MNT_DETACH):
    _check(_libc.umount2(os.fsencode(target), flags), f"umount {target}")


def sethostname(name):
    raw = name.encode()
    _check(_libc.sethostname(raw, len(raw)), "sethostname")


def prctl(option, value):
    _check(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), "prctl")


def set_comm(name):
    """The process name `ps -o comm` and /proc/PID/comm show (15 bytes at most)."""
    _libc.prctl(15, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)   # PR_SET_NAME


def netns_path(name):
    return f"/run/netns/{name}"


def enter_netns(name):
    """For preexec_fn: move the child into a named network namespace."""
    setns(netns_path(name), CLONE_NEWNET)


def in_netns(name, function):
    """Runs function() with this (single-threaded) process inside the named
    network namespace, then comes back: e.g. to write its /proc/sys/net settings."""
    home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        setns(netns_path(name), CLONE_NEWNET)
        try:
            function()
        finally:
            _check(_libc.setns(home, CLONE_NEWNET), "setns back to the original network namespace")
    finally:
        os.close(home)


def write_sysctls(settings):
    for key, value in settings:
        with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
            f.write(str(value))


def routes_get(addresses):
    """{address: output device} for each address, from one `ip -batch` run."""
    if not addresses:
        return {}
    out = run(["ip", "-j", "-batch", "-"], input="".join(f"route get {a}\n" for a in addresses)).stdout
    decoder = json.JSONDecoder()
    devices, index, position = {}, 0, 0
    text = out.strip()
    while position < len(text) and index < len(addresses):
        value, end = decoder.raw_decode(text, position)
        devices[str(addresses[index])] = value[0].get("dev") if value else None
        index += 1
        position = end
        while position < len(text) and text[position].isspace():
            position += 1
    return devices


def run(argv, check=True, input=None, **kwargs):
    """Runs a command; on failure raises with its output (never a secret: the lab has none)."""
    result = subprocess.run(argv, input=input, capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))}: exit {result.returncode}: "
                           f"{(result.stderr or result.stdout).strip()}")
    return result


def ip(*args, netns=None, check=True):
    argv = ["ip"] + (["-n", netns] if netns else []) + [str(a) for a in args]
    return run(argv, check=check)


def ip_batch(commands, netns=None, force=False):
    """Several `ip` commands in one process (much faster than one each); with
    force, every command runs even when one fails (`ip -force`)."""
    if not commands:
        return
    argv = ["ip"] + (["-n", netns] if netns else []) + (["-force"] if force else []) + ["-batch", "-"]
    run(argv, input="\n".join(commands) + "\n")


def ip_json(*args, netns=None):
    out = ip("-j", *args, netns=netns).stdout.strip()
    return json.loads(out) if out else []


def netns_list():
    try:
        return sorted(os.listdir("/run/netns"))
    except FileNotFoundError:
        return []


def is_mountpoint(path):
    try:
        with open("/proc/self/mountinfo") as f:
            return any(line.split()[4] == path for line in f)
    except OSError:
        return False


def mountinfo():
    with open("/proc/self/mountinfo") as f:
        return [line.rstrip("\n") for line in f]


def process_start(pid):
    """The start time of a process (clock ticks since boot), or None if it is gone or a zombie.
    A PID with its start time names one process for good, even after the PID is reused."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def alive(pid, start=None):
    now = process_start(pid)
    return now is not None and (start is None or now == start)


def wait_gone(pids_starts, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(alive(pid, start) for pid, start in pids_starts):
            return True
        time.sleep(0.02)
    return not any(alive(pid, start) for pid, start in pids_starts)


def kill(pid, sig, start=None):
    """Signals one process only if it is still the one recorded (same start time)."""
    if start is not None and process_start(pid) != start:
        return False
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


def stop_processes(pids_starts, grace=3.0):
    """SIGTERM, then SIGKILL after `grace` seconds, each process only if still the recorded one."""
    live = [(p, s) for p, s in pids_starts if alive(p, s)]
    for pid, start in live:
        kill(pid, signal.SIGTERM, start)
    if wait_gone(live, grace):
        return
    for pid, start in live:
        kill(pid, signal.SIGKILL, start)
    wait_gone(live, 2.0)


def netns_inode(path):
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def pids_in_netns(name):
    """Processes whose network namespace is the named one (what `ip netns pids` reports)."""
    inode = netns_inode(netns_path(name))
    if inode is None:
        return []
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}/ns/net").st_ino == inode:
                out.append(int(entry))
        except OSError:
            continue
    return out


def _ancestors():
    out, pid = set(), os.getpid()
    while pid > 1:
        out.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            pid = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError):
            break
    return out


def pids_with_env(key, value):
    """Live processes whose environment holds KEY=VALUE (this process and its ancestors excepted)."""
    wanted = f"{key}={value}".encode()
    skip = _ancestors()
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in skip:
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if wanted in f.read().split(b"\0"):
                    out.append(int(entry))
        except OSError:
            continue
    return [p for p in out if process_start(p) is not None]


def errno_is(error, *codes):
    return isinstance(error, OSError) and error.errno in codes


__all__ = [name for name in dir() if not name.startswith("_")] + ["errno"]
