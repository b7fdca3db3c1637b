"""The service manager inside a lab host: `systemctl`, `service` and
`journalctl` as a Debian VM has them, for the units a DNS host runs.

It reads the real unit files (/etc/systemd/system, /run/systemd/system,
/lib/systemd/system, with drop-ins) and follows their semantics: Type
(simple, exec, notify with a real NOTIFY_SOCKET, forking, oneshot), User and
Group, AmbientCapabilities, CapabilityBoundingSet and NoNewPrivileges (through
setpriv), Environment and EnvironmentFile, ExecStartPre/ExecStart/
ExecStartPost/ExecReload/ExecStop/ExecStopPost with their prefixes (- + @ !)
and $VAR/${VAR} expansion, RuntimeDirectory (removed at stop), StateDirectory,
CacheDirectory and LogsDirectory (chowned), KillMode, TimeoutStartSec and
TimeoutStopSec, ConditionPathExists, PIDFile, WantedBy/Alias for enable and
disable. Sandboxing options (ProtectSystem, PrivateTmp…), resource limits and
Restart= are not applied: a crashed daemon stays down ("failed").

State lives in the host's /run (gone at every boot, as on a VM): the main PID
of each active unit in /run/dnslab/units/<unit>.json. The host's init (PID 1
of the host's PID namespace) reaps the daemons and writes the exit status of
a unit's main process to /run/dnslab/exits/<pid>; standard output and error
of each unit go to /var/log/dnslab/<unit>.log.
"""
import datetime
import grp
import json
import os
import pathlib
import pwd
import signal
import socket
import subprocess
import sys
import time

UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system")
ETC_UNITS = "/etc/systemd/system"
RUN = pathlib.Path("/run/dnslab")
STATE = RUN / "units"
EXITS = RUN / "exits"
MAINPIDS = RUN / "mainpid"
NOTIFY = RUN / "notify"
LOGS = pathlib.Path("/var/log/dnslab")
SYSLOG = pathlib.Path("/var/log/syslog")
# What the host's boot starts when enabled; other enabled units are left alone.
BOOT_UNITS = ("ssh.service", "knot.service", "nsd.service", "named.service")
DEFAULT_TIMEOUT = 90.0
CLEAN_SIGNALS = {signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE}
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class UnitError(Exception):
    def __init__(self, message, code=1):
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------- unit files

def canonical(name):
    return name if "." in name else name + ".service"


def _parse_file(path, sections):
    current = None
    pending = ""
    for raw in pathlib.Path(path).read_text(errors="replace").splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        if current is None or "=" not in line:
            continue
        key, value = line.split("=", 1)
        current.append((key.strip(), value.strip()))


class Unit:
    def __init__(self, name, path, aliases=()):
        self.name = name
        self.path = path
        self.aliases = list(aliases)
        self.sections = {}
        _parse_file(path, self.sections)
        for folder in reversed(UNIT_DIRS):
            dropins = pathlib.Path(folder) / f"{name}.d"
            if dropins.is_dir():
                for conf in sorted(dropins.glob("*.conf")):
                    _parse_file(conf, self.sections)
        self.dropins = sorted(str(p) for f in UNIT_DIRS for p in pathlib.Path(f, f"{name}.d").glob("*.conf"))

    def values(self, key, section="Service"):
        """All values of a list setting; an empty assignment resets the list."""
        out = []
        for k, v in self.sections.get(section, []):
            if k == key:
                if v == "":
                    out = []
                else:
                    out.append(v)
        return out

    def get(self, key, default=None, section="Service"):
        values = self.values(key, section)
        return values[-1] if values else default

    def flag(self, key, default=False, section="Service"):
        value = self.get(key, None, section)
        if value is None:
            return default
        return value.lower() in ("1", "yes", "true", "on")

    @property
    def type(self):
        return self.get("Type", "simple")

    @property
    def description(self):
        return self.get("Description", self.name, "Unit")

    def install_aliases(self):
        out = []
        for value in self.values("Alias", "Install"):
            out += value.split()
        return out

    def wanted_by(self):
        out = []
        for key in ("WantedBy", "RequiredBy"):
            for value in self.values(key, "Install"):
                out += [(target, "wants" if key == "WantedBy" else "requires") for target in value.split()]
        return out


def _find_file(name):
    for folder in UNIT_DIRS:
        path = os.path.join(folder, name)
        if os.path.lexists(path):
            return path
    return None


def load(name):
    """The unit called `name` (an alias resolves to its unit)."""
    name = canonical(name)
    path = _find_file(name)
    aliases = []
    if path is not None and os.path.islink(path):
        target = os.path.realpath(path)
        if target == "/dev/null":
            raise UnitError(f"Unit {name} is masked.", 1)
        real = os.path.basename(target)
        if real != name:
            aliases.append(name)
            name, path = real, _find_file(real) or target
    if path is None:
        # An alias declared only in [Install] of a unit the lab knows.
        for candidate in BOOT_UNITS:
            cpath = _find_file(candidate)
            if cpath and name in Unit(candidate, cpath).install_aliases():
                return Unit(candidate, cpath, [name])
        raise UnitError(f"Unit {name} not found.", 5)
    return Unit(name, path, aliases)


# ---------------------------------------------------------------- command lines

def split_words(text):
    """systemd's word splitting: whitespace, "…" and '…' quotes, backslash escapes."""
    words, word, quote, has = [], [], None, False
    i = 0
    escapes = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", "s": " ", " ": " "}
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            word.append(escapes.get(text[i + 1], text[i + 1]))
            has = True
            i += 2
            continue
        if quote:
            if c == quote:
                quote = None
            else:
                word.append(c)
        elif c in "\"'":
            quote = c
            has = True
        elif c.isspace():
            if has or word:
                words.append("".join(word))
            word, has = [], False
        else:
            word.append(c)
        i += 1
    if has or word:
        words.append("".join(word))
    return words


def _specifiers(unit, text):
    base = unit.name.rsplit(".", 1)[0]
    table = {"n": unit.name, "N": base, "p": base.split("@")[0], "i": "", "I": "", "%": "%",
             "t": "/run", "S": "/var/lib", "C": "/var/cache", "L": "/var/log", "E": "/etc", "h": "/root"}
    out, i = [], 0
    while i < len(text):
        if text[i] == "%" and i + 1 < len(text) and text[i + 1] in table:
            out.append(table[text[i + 1]])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _expand(word, env):
    out, i = [], 0
    while i < len(word):
        if word.startswith("$$", i):
            out.append("$")
            i += 2
        elif word.startswith("${", i) and "}" in word[i:]:
            end = word.index("}", i)
            out.append(env.get(word[i + 2:end], ""))
            i = end + 1
        else:
            out.append(word[i])
            i += 1
    return "".join(out)


def command_line(unit, line, env):
    """(argv, flags) of one Exec line; flags is a set of the prefixes - + @ ! :."""
    line = line.strip()
    flags = set()
    while line and line[0] in "-+@!:":
        flags.add(line[0])
        line = line[1:]
    words = split_words(_specifiers(unit, line))
    argv = []
    for word in words:
        if ":" not in flags and word.startswith("$") and not word.startswith("${") and word[1:].replace("_", "a").isalnum():
            argv += env.get(word[1:], "").split()
        elif ":" in flags:
            argv.append(word)
        else:
            argv.append(_expand(word, env))
    if not argv:
        raise UnitError(f"{unit.name}: empty command line", 1)
    if "@" in flags:
        argv = [argv[0]] + argv[2:]      # argv[1] would be argv[0] of the process; setpriv cannot pass it
    return argv, flags


def _read_env_file(path):
    out = {}
    for raw in pathlib.Path(path).read_text(errors="replace").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;" or "=" not in line:
            continue
        if line.startswith("export "):
            line = line[len("export "):]
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out[key.strip()] = value
    return out


def environment(unit):
    env = {"PATH": PATH, "LANG": "C.UTF-8", "INVOCATION_ID": os.urandom(16).hex()}
    user = unit.get("User")
    if user:
        try:
            entry = pwd.getpwnam(user)
            env.update(USER=entry.pw_name, LOGNAME=entry.pw_name, HOME=entry.pw_dir, SHELL=entry.pw_shell)
        except KeyError:
            pass
    for value in unit.values("Environment"):
        for word in split_words(value):
            if "=" in word:
                key, val = word.split("=", 1)
                env[key] = val
    for value in unit.values("EnvironmentFile"):
        optional = value.startswith("-")
        path = value[1:] if optional else value
        try:
            env.update(_read_env_file(path))
        except OSError:
            if not optional:
                raise UnitError(f"{unit.name}: failed to load environment file {path}", 1)
    return env


def _caps(values):
    caps, inverted = [], False
    for value in values:
        if value.startswith("~"):
            inverted, value = True, value[1:]
        caps += [c.lower().removeprefix("cap_") for c in value.split()]
    return caps, inverted


def credentials(unit, flags):
    """The setpriv prefix that gives a command the unit's user, group and capabilities."""
    if "+" in flags or "!" in flags:
        return []
    args = []
    user, group = unit.get("User"), unit.get("Group")
    if user and user not in ("root", "0"):
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            raise UnitError(f"{unit.name}: user {user} does not exist", 217) from None
        args += [f"--reuid={entry.pw_uid}", f"--regid={grp.getgrnam(group).gr_gid if group else entry.pw_gid}",
                 "--init-groups"]
    elif group:
        args += [f"--regid={grp.getgrnam(group).gr_gid}", "--clear-groups"]
    ambient, _ = _caps(unit.values("AmbientCapabilities"))
    if ambient:
        joined = ",".join("+" + c for c in ambient)
        args += [f"--inh-caps={joined}", f"--ambient-caps={joined}"]
    bounding, inverted = _caps(unit.values("CapabilityBoundingSet"))
    if bounding:
        if inverted:
            args.append("--bounding-set=" + ",".join("-" + c for c in bounding))
        else:
            args.append("--bounding-set=-all," + ",".join("+" + c for c in bounding))
    if unit.flag("NoNewPrivileges"):
        args.append("--no-new-privs")
    return ["setpriv", *args, "--"] if args else []


def timespan(value, default):
    if value is None:
        return default
    value = value.strip()
    if value in ("infinity", "0"):
        return None if value == "infinity" else default
    units = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "": 1}
    total, number, unit = 0.0, "", ""
    for part in value.split():
        number = "".join(ch for ch in part if ch.isdigit() or ch == ".")
        unit = part[len(number):]
        if not number or unit not in units:
            return default
        total += float(number) * units[unit]
    return total


# ---------------------------------------------------------------- state

def _state_path(unit):
    return STATE / f"{unit.name}.json"


def read_state(unit):
    try:
        return json.loads(_state_path(unit).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def write_state(unit, state):
    STATE.mkdir(parents=True, exist_ok=True)
    tmp = STATE / f".{unit.name}.tmp"
    tmp.write_text(json.dumps(state))
    os.replace(tmp, _state_path(unit))


def clear_state(unit):
    try:
        _state_path(unit).unlink()
    except FileNotFoundError:
        pass


def _start_time(pid):
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def _alive(pid, start):
    return pid > 0 and _start_time(pid) == start


def exit_status(pid):
    try:
        return int((EXITS / str(pid)).read_text())
    except (OSError, ValueError):
        return None


def _clean(status):
    if status is None:
        return False
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status) == 0
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) in CLEAN_SIGNALS


def active_state(unit):
    """(ActiveState, SubState, main PID)."""
    state = read_state(unit)
    if state is None:
        return "inactive", "dead", 0
    if state.get("result") == "failed":
        return "failed", "failed", 0
    pid = state.get("pid", 0)
    if _alive(pid, state.get("start")):
        return "active", "running", pid
    if state.get("type") == "oneshot" and state.get("remain"):
        return "active", "exited", 0
    if _clean(exit_status(pid)):
        return "inactive", "dead", 0
    return "failed", "failed", 0


def is_active(unit):
    return active_state(unit)[0] == "active"


def enabled_links(unit):
    names = [unit.name] + unit.aliases + unit.install_aliases()
    out = []
    for target, kind in unit.wanted_by():
        link = os.path.join(ETC_UNITS, f"{target}.{kind}", unit.name)
        if os.path.lexists(link):
            out.append(link)
    for name in names[1:]:
        link = os.path.join(ETC_UNITS, name)
        if os.path.islink(link):
            out.append(link)
    return out


def enabled_state(unit):
    if not unit.wanted_by() and not unit.install_aliases():
        return "static"
    for target, kind in unit.wanted_by():
        if os.path.lexists(os.path.join(ETC_UNITS, f"{target}.{kind}", unit.name)):
            return "enabled"
    return "disabled"


# ---------------------------------------------------------------- actions

def _log_file(unit):
    LOGS.mkdir(parents=True, exist_ok=True)
    return open(LOGS / f"{unit.name.rsplit('.', 1)[0]}.log", "ab")


def _journal(unit, message):
    stamp = datetime.datetime.now().strftime("%b %d %H:%M:%S")
    try:
        with open(SYSLOG, "a") as f:
            f.write(f"{stamp} {socket.gethostname()} systemd[1]: {message}\n")
    except OSError:
        pass


def _run_sync(unit, line, env, timeout):
    argv, flags = command_line(unit, line, env)
    argv = credentials(unit, flags) + argv
    with _log_file(unit) as log:
        try:
            result = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    cwd=unit.get("WorkingDirectory", "/").lstrip("-") or "/", timeout=timeout)
            ok = result.returncode == 0
        except subprocess.TimeoutExpired:
            ok = False
        except OSError as error:
            log.write(f"{argv[0]}: {error}\n".encode())
            ok = False
    return ok or "-" in flags


def _directories(unit, create):
    user, group = unit.get("User"), unit.get("Group")
    uid = gid = 0
    if user and user not in ("root", "0"):
        entry = pwd.getpwnam(user)
        uid, gid = entry.pw_uid, entry.pw_gid
    if group:
        gid = grp.getgrnam(group).gr_gid
    bases = {"RuntimeDirectory": "/run", "StateDirectory": "/var/lib", "CacheDirectory": "/var/cache",
             "LogsDirectory": "/var/log", "ConfigurationDirectory": "/etc"}
    out = []
    for key, base in bases.items():
        mode = int(unit.get(f"{key}Mode", "0755"), 8)
        for value in unit.values(key):
            for name in value.split():
                path = pathlib.Path(base) / name
                out.append((key, path))
                if not create:
                    continue
                if not path.exists():
                    path.mkdir(parents=True, mode=mode)
                    os.chmod(path, mode)
                if key == "ConfigurationDirectory":
                    continue
                if key == "RuntimeDirectory":
                    os.chmod(path, mode)
                if (path.stat().st_uid, path.stat().st_gid) != (uid, gid):
                    for root, dirs, files in os.walk(path):
                        for entry in [root] + [os.path.join(root, n) for n in dirs + files]:
                            os.lchown(entry, uid, gid)
    return out


def _remove_runtime(unit):
    if unit.flag("RuntimeDirectoryPreserve"):
        return
    for key, path in _directories(unit, create=False):
        if key == "RuntimeDirectory":
            subprocess.run(["rm", "-rf", "--", str(path)], check=False)


def _conditions(unit):
    for key in ("ConditionPathExists", "AssertPathExists"):
        for value in unit.values(key, "Unit"):
            negate = value.startswith("!")
            path = value[1:] if negate else value
            if os.path.exists(path) == negate:
                if key.startswith("Assert"):
                    raise UnitError(f"Assertion failed on job for {unit.name}.", 1)
                return False
    return True


def _fail(unit, reason):
    write_state(unit, {"result": "failed", "reason": reason, "since": time.time()})
    _remove_runtime(unit)
    _journal(unit, f"{unit.name}: Failed with result '{reason}'.")
    raise UnitError(f"Job for {unit.name} failed because {_REASONS.get(reason, reason)}.\n"
                    f"See \"systemctl status {unit.name}\" and \"journalctl -xeu {unit.name}\" for details.", 1)


_REASONS = {"exit-code": "the control process exited with error code",
            "timeout": "a timeout was exceeded",
            "signal": "a fatal signal was delivered to the control process",
            "resources": "of unavailable resources or another system error",
            "protocol": "the service did not take the steps required by its unit configuration"}


class _Starting:
    def __init__(self, unit, process, sock, sock_path, env):
        self.unit, self.process, self.sock, self.sock_path, self.env = unit, process, sock, sock_path, env


def _spawn(unit):
    """Runs ExecStartPre and spawns ExecStart; returns what to wait for, or None when nothing to do."""
    if is_active(unit):
        return None
    if not _conditions(unit):
        _journal(unit, f"{unit.name} was skipped because of an unmet condition check.")
        clear_state(unit)
        return None
    try:
        env = environment(unit)
        _directories(unit, create=True)
    except (UnitError, KeyError, OSError) as error:
        _fail(unit, "resources")
        raise error
    timeout = timespan(unit.get("TimeoutStartSec", unit.get("TimeoutSec")), DEFAULT_TIMEOUT)
    for line in unit.values("ExecStartPre"):
        if not _run_sync(unit, line, env, timeout):
            _fail(unit, "exit-code")
    starts = unit.values("ExecStart")
    if not starts:
        _fail(unit, "protocol")
    argv, flags = command_line(unit, starts[-1] if unit.type != "oneshot" else starts[0], env)
    argv = credentials(unit, flags) + argv
    sock = sock_path = None
    if unit.type == "notify":
        NOTIFY.mkdir(parents=True, exist_ok=True)
        sock_path = NOTIFY / f"{unit.name}-{os.getpid()}"
        try:
            sock_path.unlink()
        except FileNotFoundError:
            pass
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(sock_path))
        os.chmod(sock_path, 0o666)
        env = dict(env, NOTIFY_SOCKET=str(sock_path))
    with _log_file(unit) as log:
        try:
            process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                       start_new_session=True, close_fds=True,
                                       cwd=unit.get("WorkingDirectory", "/").lstrip("-") or "/")
        except OSError as error:
            log.write(f"{argv[0]}: {error}\n".encode())
            _fail(unit, "resources")
    MAINPIDS.mkdir(parents=True, exist_ok=True)
    (MAINPIDS / str(process.pid)).write_text(unit.name)
    write_state(unit, {"pid": process.pid, "start": _start_time(process.pid), "type": unit.type,
                       "since": time.time(), "remain": unit.flag("RemainAfterExit")})
    _journal(unit, f"Starting {unit.description}...")
    return _Starting(unit, process, sock, sock_path, env)


def _set_main(unit, pid, remain=False):
    MAINPIDS.mkdir(parents=True, exist_ok=True)
    (MAINPIDS / str(pid)).write_text(unit.name)
    state = read_state(unit) or {}
    state.update(pid=pid, start=_start_time(pid), remain=remain)
    write_state(unit, state)


def _wait_ready(job):
    unit, process = job.unit, job.process
    timeout = timespan(unit.get("TimeoutStartSec", unit.get("TimeoutSec")), DEFAULT_TIMEOUT)
    deadline = time.monotonic() + (timeout or 3600)
    try:
        if unit.type == "notify":
            main = process.pid
            job.sock.settimeout(0.05)
            while True:
                try:
                    data = job.sock.recv(4096).decode(errors="replace")
                except socket.timeout:
                    data = ""
                for field in data.split("\n"):
                    if field.startswith("MAINPID="):
                        main = int(field[len("MAINPID="):])
                if "READY=1" in data.split("\n"):
                    if main != process.pid:
                        _set_main(unit, main)
                    break
                if process.poll() is not None:
                    _fail(unit, "exit-code" if process.returncode >= 0 else "signal")
                if time.monotonic() > deadline:
                    _kill_unit(unit, process.pid, signal.SIGKILL)
                    _fail(unit, "timeout")
        elif unit.type in ("forking", "oneshot"):
            try:
                code = process.wait(timeout=None if timeout is None else max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _kill_unit(unit, process.pid, signal.SIGKILL)
                _fail(unit, "timeout")
            if code != 0:
                _fail(unit, "exit-code")
            if unit.type == "forking":
                pidfile = unit.get("PIDFile")
                main = 0
                while pidfile and time.monotonic() < deadline:
                    try:
                        main = int(pathlib.Path(pidfile).read_text().split()[0])
                        break
                    except (OSError, ValueError, IndexError):
                        time.sleep(0.02)
                if main:
                    _set_main(unit, main)
            else:
                state = read_state(unit) or {}
                if state.get("remain"):
                    write_state(unit, {"type": "oneshot", "remain": True, "pid": 0, "since": time.time()})
                else:
                    clear_state(unit)
        else:
            time.sleep(0.01)
            if process.poll() is not None and process.returncode != 0:
                _fail(unit, "exit-code")
    finally:
        if job.sock is not None:
            job.sock.close()
            try:
                job.sock_path.unlink()
            except FileNotFoundError:
                pass
    for line in unit.values("ExecStartPost"):
        env = dict(job.env, MAINPID=str(active_state(unit)[2]))
        if not _run_sync(unit, line, env, timeout):
            stop(unit)
            _fail(unit, "exit-code")
    _journal(unit, f"Started {unit.description}.")


def start(units):
    """Starts several units at once (their daemons come up in parallel)."""
    jobs, errors = [], []
    for unit in units:
        try:
            job = _spawn(unit)
            if job:
                jobs.append(job)
        except UnitError as error:
            errors.append(error)
    for job in jobs:
        try:
            _wait_ready(job)
        except UnitError as error:
            errors.append(error)
    if errors:
        raise UnitError("\n".join(str(e) for e in errors), errors[0].code)


def _session_members(pid):
    """Processes of the same session as `pid` (the unit's "control group": start_new_session made
    the main process a session leader, and its children stay in that session)."""
    out = []
    try:
        sid = os.getsid(pid)
    except OSError:
        return out
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in (me, 1):
            continue
        try:
            if os.getsid(int(entry)) == sid:
                out.append(int(entry))
        except OSError:
            continue
    return out


def _kill_unit(unit, pid, sig, mode=None):
    mode = mode or unit.get("KillMode", "control-group")
    targets = [pid] if mode in ("process", "mixed") or pid <= 0 else _session_members(pid) or [pid]
    for target in targets:
        try:
            os.kill(target, sig)
        except OSError:
            pass


def stop(unit, deadline=None):
    state = read_state(unit)
    if state is None:
        return
    kind, _sub, pid = active_state(unit)
    timeout = timespan(unit.get("TimeoutStopSec", unit.get("TimeoutSec")), DEFAULT_TIMEOUT) or DEFAULT_TIMEOUT
    end = time.monotonic() + timeout
    if deadline is not None:
        end = min(end, deadline)
    if kind == "active":
        _journal(unit, f"Stopping {unit.description}...")
        env = dict(environment(unit), MAINPID=str(pid))
        for line in unit.values("ExecStop"):
            _run_sync(unit, line, env, max(0.1, end - time.monotonic()))
        start_time = state.get("start")
        if pid and _alive(pid, start_time):
            sig = getattr(signal, unit.get("KillSignal", "SIGTERM"), signal.SIGTERM)
            _kill_unit(unit, pid, sig)
        while pid and _alive(pid, start_time) and time.monotonic() < end:
            time.sleep(0.02)
        if pid:
            mode = unit.get("KillMode", "control-group")
            if mode != "process":
                members = _session_members(pid) if _alive(pid, start_time) else []
                if _alive(pid, start_time):
                    members.append(pid)
                for member in members:
                    try:
                        os.kill(member, signal.SIGKILL)
                    except OSError:
                        pass
            elif _alive(pid, start_time):
                os.kill(pid, signal.SIGKILL)
        for line in unit.values("ExecStopPost"):
            _run_sync(unit, line, env, max(0.1, end - time.monotonic()))
        _journal(unit, f"Stopped {unit.description}.")
    clear_state(unit)
    _remove_runtime(unit)


def reload(unit):
    lines = unit.values("ExecReload")
    if not lines:
        raise UnitError(f"Failed to reload {unit.name}: Job type reload is not applicable for unit {unit.name}.", 1)
    kind, _sub, pid = active_state(unit)
    if kind != "active":
        raise UnitError(f"{unit.name} is not active, cannot reload.", 1)
    env = dict(environment(unit), MAINPID=str(pid))
    timeout = timespan(unit.get("TimeoutStartSec", unit.get("TimeoutSec")), DEFAULT_TIMEOUT)
    _journal(unit, f"Reloading {unit.description}...")
    for line in lines:
        if not _run_sync(unit, line, env, timeout):
            raise UnitError(f"Job for {unit.name} failed.\nSee \"systemctl status {unit.name}\" and "
                            f"\"journalctl -xeu {unit.name}\" for details.", 1)
    _journal(unit, f"Reloaded {unit.description}.")


def enable(unit, quiet=False):
    if not unit.wanted_by() and not unit.install_aliases():
        if not quiet:
            print("The unit files have no installation config (WantedBy=, RequiredBy=, Alias=),\n"
                  "so they are not meant to be enabled using systemctl.", file=sys.stderr)
        return
    target_path = os.path.join("/lib/systemd/system", unit.name) if unit.path.startswith("/lib") else unit.path
    links = [os.path.join(ETC_UNITS, f"{t}.{k}", unit.name) for t, k in unit.wanted_by()]
    links += [os.path.join(ETC_UNITS, a) for a in unit.install_aliases()]
    for link in links:
        if os.path.lexists(link):
            continue
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(target_path, link)
        if not quiet:
            print(f"Created symlink {link} \u2192 {target_path}.", file=sys.stderr)


def disable(unit, quiet=False):
    links = [os.path.join(ETC_UNITS, f"{t}.{k}", unit.name) for t, k in unit.wanted_by()]
    links += [os.path.join(ETC_UNITS, a) for a in unit.install_aliases()]
    for link in links:
        if os.path.islink(link):
            os.unlink(link)
            if not quiet:
                print(f"Removed \"{link}\".", file=sys.stderr)


def status_text(unit, lines=10):
    kind, sub, pid = active_state(unit)
    state = read_state(unit) or {}
    dot = {"active": "\u25cf", "failed": "\u00d7"}.get(kind, "\u25cb")
    out = [f"{dot} {unit.name} - {unit.description}",
           f"     Loaded: loaded ({unit.path}; {enabled_state(unit)}; preset: enabled)"]
    if unit.dropins:
        out.append(f"    Drop-In: {', '.join(unit.dropins)}")
    since = ""
    if state.get("since"):
        stamp = datetime.datetime.fromtimestamp(state["since"])
        since = f" since {stamp.strftime('%a %Y-%m-%d %H:%M:%S')} {time.strftime('%Z')}"
    if kind == "failed" and state.get("reason"):
        out.append(f"     Active: failed (Result: {state['reason']}){since}")
    else:
        out.append(f"     Active: {kind} ({sub}){since if kind != 'inactive' else ''}")
    if pid:
        try:
            comm = pathlib.Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            comm = "?"
        out.append(f"   Main PID: {pid} ({comm})")
    tail = journal_lines([unit], lines)
    if tail:
        out.append("")
        out += tail
    return "\n".join(out)


def show(unit, properties):
    kind, sub, pid = active_state(unit)
    values = {"Id": unit.name, "Names": " ".join([unit.name] + unit.aliases + unit.install_aliases()),
              "Description": unit.description, "LoadState": "loaded", "ActiveState": kind, "SubState": sub,
              "MainPID": str(pid), "ExecMainPID": str(pid), "UnitFileState": enabled_state(unit),
              "FragmentPath": unit.path, "CanReload": "yes" if unit.values("ExecReload") else "no",
              "Type": unit.type}
    keys = properties or list(values)
    return [(key, values.get(key, "")) for key in keys]


# ---------------------------------------------------------------- journal

def _identifiers(unit):
    out = set()
    for line in unit.values("ExecStart"):
        try:
            argv, _ = command_line(unit, line, {})
            out.add(os.path.basename(argv[0]))
        except UnitError:
            pass
    return out


def journal_lines(units, count=None):
    out = []
    for unit in units:
        log = LOGS / f"{unit.name.rsplit('.', 1)[0]}.log"
        try:
            out += log.read_text(errors="replace").splitlines()
        except OSError:
            pass
    idents = set()
    for unit in units:
        idents |= _identifiers(unit)
    names = {u.name for u in units}
    try:
        for line in SYSLOG.read_text(errors="replace").splitlines():
            head = line.split(": ", 1)[0]
            ident = head.rsplit(" ", 1)[-1].split("[", 1)[0]
            if ident in idents or (ident == "systemd" and any(n in line for n in names)):
                out.append(line)
    except OSError:
        pass
    return out[-count:] if count else out


# ---------------------------------------------------------------- boot and shutdown

def boot():
    """Starts the enabled units among BOOT_UNITS (sshd first), as a VM's boot would."""
    wants = pathlib.Path(ETC_UNITS) / "multi-user.target.wants"
    enabled = [u for u in BOOT_UNITS if (wants / u).exists()]
    errors = []
    if "ssh.service" in enabled:
        try:
            start([load("ssh.service")])
        except UnitError as error:
            errors.append(str(error))
    others = []
    for name in enabled:
        if name == "ssh.service":
            continue
        try:
            others.append(load(name))
        except UnitError as error:
            errors.append(str(error))
    try:
        start(others)
    except UnitError as error:
        errors.append(str(error))
    return errors


def shutdown(deadline):
    """Stops every active unit (ExecStop, then signals), within the deadline."""
    if not STATE.is_dir():
        return
    for path in sorted(STATE.glob("*.json")):
        try:
            unit = load(path.name[:-len(".json")])
        except UnitError:
            continue
        if is_active(unit):
            try:
                stop(unit, deadline)
            except (UnitError, OSError):
                pass


def record_exit(pid, status):
    """Called by the host's init for every process it reaps."""
    marker = MAINPIDS / str(pid)
    if marker.exists():
        EXITS.mkdir(parents=True, exist_ok=True)
        (EXITS / str(pid)).write_text(str(status))
        try:
            marker.unlink()
        except FileNotFoundError:
            pass


# ---------------------------------------------------------------- command line front ends

VERBS = ("start", "stop", "restart", "reload", "try-restart", "reload-or-restart", "try-reload-or-restart",
         "enable", "disable", "reenable", "is-active", "is-enabled", "is-failed", "status", "show", "kill",
         "daemon-reload", "daemon-reexec", "reset-failed", "is-system-running", "list-units", "cat")


def _units(names):
    if not names:
        raise UnitError("Too few arguments.", 1)
    return [load(n) for n in names]


def systemctl(argv):
    quiet = now = value = False
    properties, lines, sig = [], 10, "SIGTERM"
    words = []
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("-q", "--quiet"):
            quiet = True
        elif arg == "--now":
            now = True
        elif arg == "--value":
            value = True
        elif arg in ("--no-pager", "--no-block", "--system", "--full", "-l", "--no-legend", "--plain",
                     "--no-reload", "--no-ask-password", "-a", "--all"):
            pass
        elif arg in ("-p", "--property"):
            properties += args.pop(0).split(",") if args else []
        elif arg.startswith("--property="):
            properties += arg.split("=", 1)[1].split(",")
        elif arg in ("-n", "--lines"):
            lines = int(args.pop(0)) if args else 10
        elif arg.startswith("--lines="):
            lines = int(arg.split("=", 1)[1])
        elif arg in ("-s", "--signal"):
            sig = args.pop(0) if args else sig
        elif arg.startswith("--signal="):
            sig = arg.split("=", 1)[1]
        elif arg.startswith("--type=") or arg.startswith("--state=") or arg.startswith("--kill-whom="):
            pass
        elif arg.startswith("-") and arg != "-":
            raise UnitError(f"systemctl: unrecognized option '{arg}'", 1)
        else:
            words.append(arg)
    if not words:
        words = ["list-units"]
    verb, names = words[0], words[1:]
    if verb not in VERBS:
        raise UnitError(f"Unknown command verb '{verb}'.", 1)

    if verb in ("daemon-reload", "daemon-reexec"):
        return 0
    if verb == "is-system-running":
        if not quiet:
            print("running")
        return 0
    if verb == "list-units":
        for name in BOOT_UNITS:
            try:
                unit = load(name)
            except UnitError:
                continue
            kind, sub, _ = active_state(unit)
            print(f"  {unit.name:<20} loaded {kind:<8} {sub:<8} {unit.description}")
        return 0
    if verb == "start":
        start(_units(names))
        return 0
    if verb == "stop":
        for unit in _units(names):
            stop(unit)
        return 0
    if verb in ("restart", "try-restart"):
        units = _units(names)
        if verb == "try-restart":
            units = [u for u in units if is_active(u)]
        for unit in units:
            stop(unit)
        start(units)
        return 0
    if verb == "reload":
        for unit in _units(names):
            reload(unit)
        return 0
    if verb in ("reload-or-restart", "try-reload-or-restart"):
        for unit in _units(names):
            if is_active(unit) and unit.values("ExecReload"):
                reload(unit)
            elif verb == "reload-or-restart" or is_active(unit):
                stop(unit)
                start([unit])
        return 0
    if verb in ("enable", "disable", "reenable"):
        units = _units(names)
        for unit in units:
            if verb in ("disable", "reenable"):
                disable(unit, quiet)
            if verb in ("enable", "reenable"):
                enable(unit, quiet)
        if now:
            if verb == "disable":
                for unit in units:
                    stop(unit)
            else:
                start(units)
        return 0
    if verb == "is-active":
        # As systemd: 0 when at least one of the units is active.
        states = []
        for name in names:
            try:
                states.append(active_state(load(name))[0])
            except UnitError:
                states.append("inactive")
            if not quiet:
                print(states[-1])
        return 0 if any(s == "active" for s in states) else 3
    if verb == "is-failed":
        states = []
        for name in names:
            try:
                states.append(active_state(load(name))[0])
            except UnitError:
                states.append("inactive")
            if not quiet:
                print(states[-1])
        return 0 if any(s == "failed" for s in states) else 1
    if verb == "is-enabled":
        results = []
        for name in names:
            try:
                unit = load(name)
                result = enabled_state(unit)
            except UnitError as error:
                if error.code == 5:
                    print(f"Failed to get unit file state for {canonical(name)}: No such file or directory",
                          file=sys.stderr)
                    return 1
                result = "masked"
            results.append(result)
            if not quiet:
                print(result)
        return 0 if results and all(r in ("enabled", "static", "alias") for r in results) else 1
    if verb == "status":
        code = 0
        blocks = []
        for name in names:
            try:
                unit = load(name)
            except UnitError:
                print(f"Unit {canonical(name)} could not be found.", file=sys.stderr)
                code = 4
                continue
            blocks.append(status_text(unit, lines))
            if active_state(unit)[0] != "active" and code == 0:
                code = 3
        print("\n\n".join(blocks))
        return code
    if verb == "show":
        for index, unit in enumerate(_units(names)):
            if index:
                print()
            for key, val in show(unit, properties):
                print(val if value else f"{key}={val}")
        return 0
    if verb == "kill":
        number = getattr(signal, sig if sig.startswith("SIG") else "SIG" + sig, None)
        if number is None:
            number = int(sig)
        for unit in _units(names):
            kind, _sub, pid = active_state(unit)
            if pid:
                _kill_unit(unit, pid, number)
        return 0
    if verb == "reset-failed":
        for unit in ([load(n) for n in names] if names else []):
            if active_state(unit)[0] == "failed":
                clear_state(unit)
        return 0
    if verb == "cat":
        for unit in _units(names):
            print(f"# {unit.path}")
            print(pathlib.Path(unit.path).read_text())
        return 0
    return 1


def service(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print("Usage: service < option > | --status-all | [ service_name [ command | --full-restart ] ]",
              file=sys.stderr)
        return 1
    if argv[0] == "--status-all":
        for name in BOOT_UNITS:
            try:
                unit = load(name)
            except UnitError:
                continue
            mark = "+" if is_active(unit) else "-"
            print(f" [ {mark} ]  {unit.name.rsplit('.', 1)[0]}")
        return 0
    if len(argv) < 2:
        print(f"Usage: service {argv[0]} {{start|stop|restart|reload|status}}", file=sys.stderr)
        return 1
    name, action = argv[0], argv[1]
    if action == "--full-restart":
        action = "restart"
    if action == "force-reload":
        action = "reload-or-restart"
    return systemctl([action, name])


def journalctl(argv):
    units, count = [], None
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("-u", "--unit"):
            units.append(load(args.pop(0)))
        elif arg.startswith("--unit="):
            units.append(load(arg.split("=", 1)[1]))
        elif arg in ("-n", "--lines"):
            count = int(args.pop(0))
        elif arg.startswith("--lines="):
            count = int(arg.split("=", 1)[1])
        elif arg in ("-f", "--follow"):
            raise UnitError("journalctl: --follow is not available in the lab; read /var/log/syslog", 1)
        elif arg.startswith("--since") or arg.startswith("--until") or arg in ("-S", "-U"):
            if "=" not in arg:
                args.pop(0)
        elif arg.startswith("-"):
            continue
    if units:
        lines = journal_lines(units, count)
    else:
        try:
            lines = SYSLOG.read_text(errors="replace").splitlines()
        except OSError:
            lines = []
        lines = lines[-count:] if count else lines
    if not lines:
        print("-- No entries --")
    for line in lines:
        print(line)
    return 0


def main(argv):
    program = os.path.basename(argv[0])
    handler = {"service": service, "journalctl": journalctl}.get(program, systemctl)
    if os.geteuid() != 0 and handler is not journalctl:
        verb = next((a for a in argv[1:] if not a.startswith("-")), "")
        if handler is systemctl and verb not in ("status", "is-active", "is-enabled", "is-failed", "show",
                                                 "list-units", "is-system-running", "cat", ""):
            print(f"Failed to {verb} unit: Access denied (run it as root, e.g. with sudo)", file=sys.stderr)
            return 4
    try:
        return handler(argv[1:])
    except UnitError as error:
        print(str(error), file=sys.stderr)
        return error.code
    except BrokenPipeError:
        return 0
