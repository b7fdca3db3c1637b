"""What the lab created, written down before it is created, so that `lab down`
can undo a half-made lab (a crashed or killed `lab up`) as well as a whole one.

STATE_DIR/lab.json holds the machine-level facts (owner, whether /run/netns
existed before); STATE_DIR/pids/<name> holds one process each: "PID START"
where START is the kernel's start time of that process, so a reused PID is
never mistaken for ours.
"""
import fcntl
import json
import os
import pathlib

from . import kernel, plan


def state_file(state_dir):
    return pathlib.Path(state_dir) / "lab.json"


def read_state(state_dir):
    try:
        return json.loads(state_file(state_dir).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def write_state(state_dir, state):
    path = state_file(state_dir)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def pid_dir(state_dir):
    return pathlib.Path(state_dir) / "pids"


def record_pid(state_dir, name, pid):
    """Records a process the lab started. Written atomically; the start time read now."""
    start = kernel.process_start(pid)
    folder = pid_dir(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.tmp"
    tmp.write_text(f"{pid} {start if start is not None else 0}\n")
    os.replace(tmp, folder / name)
    return start


def forget_pid(state_dir, name):
    try:
        (pid_dir(state_dir) / name).unlink()
    except FileNotFoundError:
        pass


def recorded_pids(state_dir):
    """{name: (pid, start)} of every recorded process, alive or not."""
    out = {}
    folder = pid_dir(state_dir)
    if not folder.is_dir():
        return out
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        try:
            pid, start = path.read_text().split()
            out[path.name] = (int(pid), int(start))
        except (OSError, ValueError):
            continue
    return out


class Lock:
    """An exclusive lock on the state folder (lab up/down and the hooks' router
    updates do not interleave). The lock file lives in the state folder, which
    `lab down` removes last."""

    def __init__(self, state_dir, name="lock"):
        self.path = pathlib.Path(state_dir) / name
        self.fd = None

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = None


def owner_of_bridge():
    """The state folder named in the lab bridge's alias, or None."""
    try:
        links = kernel.ip_json("link", "show", "dev", plan.BRIDGE)
    except RuntimeError:
        return None
    for link in links:
        alias = link.get("ifalias")
        if alias:
            return alias
    return ""
