"""pve-sim's lifecycle hook: a VM that starts becomes a host, one that stops
loses its processes, one that is destroyed loses its files.

A host is
  - a network namespace dnslab-<cluster>-<vmid> with the VM's cloud-init
    addresses (ipconfig0) on eth0 (the VM's MAC), a veth into the lab bridge,
    and routes to the lab prefixes through the cloud-init gateways (held by
    the lab's router); no default route;
  - an init process, PID 1 of a PID namespace of its own, in a private mount
    namespace: /etc, /var/lib and /var/cache are overlays over the machine's
    (the packages' files, the host's own changes), /var/log, /var/tmp, /tmp,
    /root, /home and /usr/local are the host's own folders, /run and /dev are
    fresh at every boot; the repository and the lab's state are hidden;
  - at first boot: its own SSH host keys and machine-id, and the DNS units
    disabled (installed, not configured: a fresh template); at every boot
    the cloud-init user with the cloud-init keys and passwordless sudo;
  - a service manager (labkit.units) behind /usr/bin/systemctl, /usr/sbin/service
    and /usr/bin/journalctl; the boot starts every enabled unit, sshd first;
  - a syslog and journal socket whose lines go to /var/log/syslog.

Files of a host: STATE_DIR/hosts/<cluster>-<vmid>/ (overlay upper folders,
the host's own folders, console.log, host.json).
"""
import ipaddress
import json
import os
import grp
import pathlib
import pwd
import select
import shutil
import signal
import socket
import sys
import threading
import time
import datetime
import uuid

from . import kernel, plan, records, units

BOOT_TIMEOUT = 45.0
OVERLAYS = (("/etc", "etc"), ("/var/lib", "var-lib"), ("/var/cache", "var-cache"))
OWN_DIRS = (("/var/log", "var-log", 0o755), ("/var/tmp", "var-tmp", 0o1777), ("/tmp", "tmp", 0o1777),
            ("/root", "root", 0o700), ("/home", "home", 0o755), ("/usr/local", "usr-local", 0o755))
USR_LOCAL = ("bin", "etc", "games", "include", "lib", "man", "sbin", "share", "src")
DNS_UNITS = ("knot.service", "nsd.service", "named.service")
DEFAULT_USER = "debian"
USER_GROUPS = ("adm", "cdrom", "dip", "plugdev", "sudo")
SHIMS = (("systemctl", "/usr/bin/systemctl"), ("service", "/usr/sbin/service"), ("journalctl", "/usr/bin/journalctl"))


def log(message):
    print(f"lab: {message}", flush=True)


# ---------------------------------------------------------------- the VM's shape

class NoHost(Exception):
    """The VM does not have the template's shape: it runs, but as no host."""


def host_dir(state_dir, cluster, vmid):
    return pathlib.Path(state_dir) / "hosts" / f"{cluster}-{vmid}"


def _has_cloudinit_drive(config):
    for key, value in config.items():
        if key.rstrip("0123456789") in ("ide", "sata", "scsi", "virtio") and "cloudinit" in str(value):
            return True
    return False


def host_spec(vm):
    """What the host needs from the hook's JSON; NoHost says why a VM gets none."""
    config = vm.get("config") or {}
    if not _has_cloudinit_drive(config):
        raise NoHost("it has no cloud-init drive")
    nets = {n.get("id"): n for n in vm.get("nets") or []}
    if "net0" not in nets:
        raise NoHost("it has no net0")
    ipconfig = {c.get("id"): c for c in vm.get("ipconfig") or []}.get("ipconfig0")
    if not ipconfig:
        raise NoHost("it has no ipconfig0 (cloud-init network settings)")
    spec = {"cluster": vm["cluster"], "vmid": int(vm["vmid"]), "mac": nets["net0"].get("macaddr"),
            "name": str(config.get("name") or vm.get("name") or f"vm{vm['vmid']}"),
            "v4": None, "gw4": None, "v6": None, "gw6": None}
    for key, gw_key, family in (("ip", "gw", 4), ("ip6", "gw6", 6)):
        value = ipconfig.get(key)
        if not value or value in ("dhcp", "auto"):
            continue
        try:
            iface = ipaddress.ip_interface(value)
        except ValueError:
            raise NoHost(f"ipconfig0 {key}={value} is not an address with its prefix length") from None
        if iface.version != family:
            raise NoHost(f"ipconfig0 {key}={value} is not an IPv{family} address")
        if plan.forbidden(iface.network) or not plan.in_lab(iface.network):
            raise NoHost(f"{iface} is outside the lab prefixes ({', '.join(map(str, plan.LAB_PREFIXES))})")
        for reserved in plan.reserved_networks():
            if reserved.version == iface.version and reserved.overlaps(iface.network):
                raise NoHost(f"{iface} overlaps {reserved}, which the lab keeps for itself")
        gateway = ipconfig.get(gw_key)
        if gateway:
            try:
                gateway = ipaddress.ip_address(gateway)
            except ValueError:
                raise NoHost(f"ipconfig0 {gw_key}={gateway} is not an address") from None
            if gateway not in iface.network or gateway == iface.ip:
                raise NoHost(f"gateway {gateway} is not another address of {iface.network}")
        spec["v4" if family == 4 else "v6"] = str(iface)
        spec["gw4" if family == 4 else "gw6"] = str(gateway) if gateway else None
    if not spec["v4"] and not spec["v6"]:
        raise NoHost("ipconfig0 has no static address (ip=dhcp): not the template's shape")
    spec["user"] = str(vm.get("ciuser") or config.get("ciuser") or DEFAULT_USER)
    spec["keys"] = [k.strip() for k in vm.get("sshkeys") or [] if k.strip()]
    spec["nameservers"] = [str(n) for n in vm.get("nameserver") or []]
    spec["search"] = [str(s) for s in vm.get("searchdomain") or []]
    return spec


def _read_host_state(folder):
    try:
        return json.loads((folder / "host.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _write_host_state(folder, state):
    tmp = folder / ".host.json.tmp"
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, folder / "host.json")


def running_hosts(state_dir):
    """{folder: state} of the hosts whose init is alive."""
    out = {}
    root = pathlib.Path(state_dir) / "hosts"
    if not root.is_dir():
        return out
    for folder in sorted(root.iterdir()):
        state = _read_host_state(folder)
        if state and state.get("pid") and kernel.alive(state["pid"], state.get("start")):
            out[folder] = state
    return out


# ---------------------------------------------------------------- network

def _setup_network(spec, netns, link):
    kernel.ip("netns", "add", netns)
    kernel.ip_batch([f"link add {link} type veth peer name eth0 netns {netns}",
                     f"link set {link} master {plan.BRIDGE}",
                     f"link set {link} up"])
    commands = ["link set lo up"]
    if spec["mac"]:
        commands.append(f"link set eth0 address {spec['mac'].lower()}")
    commands.append("link set eth0 up")
    router = []
    for key, gw_key in (("v4", "gw4"), ("v6", "gw6")):
        if not spec[key]:
            continue
        iface = ipaddress.ip_interface(spec[key])
        commands.append(f"address add {iface} dev eth0" + (" nodad" if iface.version == 6 else ""))
        if spec[gw_key]:
            gateway = ipaddress.ip_address(spec[gw_key])
            router.append(f"address replace {gateway}/{iface.network.prefixlen} dev eth0"
                          + (" nodad" if iface.version == 6 else ""))
            for prefix in plan.LAB_PREFIXES:
                if prefix.version == iface.version and prefix != iface.network:
                    commands.append(f"route add {prefix} via {gateway} dev eth0")
    kernel.ip_batch(router, netns=plan.ROUTER_NS)
    kernel.ip_batch(commands, netns=netns)


def _teardown_network(netns, link):
    if link in {l.get("ifname") for l in kernel.ip_json("link", "show")}:
        kernel.ip("link", "del", link, check=False)
    if netns in kernel.netns_list():
        kernel.ip("netns", "del", netns, check=False)


def _check_routes(spec):
    addresses = [str(ipaddress.ip_interface(spec[k]).ip) for k in ("v4", "v6") if spec[k]]
    for address, device in kernel.routes_get(addresses).items():
        if device != plan.BRIDGE:
            raise RuntimeError(f"{address} would leave through {device}, not the lab bridge {plan.BRIDGE}")


# ---------------------------------------------------------------- the host's init (PID 1 of the host)

def _write(path, text, mode=None):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mode is not None:
        os.chmod(path, mode)


def _sysctl(key, value):
    try:
        pathlib.Path("/proc/sys", key.replace(".", "/")).write_text(str(value))
    except OSError:
        pass


def _private_dev(staging):
    """A /dev of the host's own: the usual nodes (bound from the machine's), its own devpts and shm."""
    os.makedirs(staging, exist_ok=True)
    kernel.mount("tmpfs", staging, "tmpfs", kernel.MS_NOSUID, "mode=0755,size=1m")
    for node in ("null", "zero", "full", "random", "urandom", "tty"):
        target = os.path.join(staging, node)
        open(target, "w").close()
        kernel.mount(f"/dev/{node}", target, None, kernel.MS_BIND)
    os.mkdir(os.path.join(staging, "pts"))
    kernel.mount("devpts", os.path.join(staging, "pts"), "devpts", kernel.MS_NOSUID | kernel.MS_NOEXEC,
                 "newinstance,ptmxmode=0666,mode=0620,gid=5")
    os.mkdir(os.path.join(staging, "shm"), 0o1777)
    kernel.mount("tmpfs", os.path.join(staging, "shm"), "tmpfs", kernel.MS_NOSUID | kernel.MS_NODEV, "mode=1777")
    os.mkdir(os.path.join(staging, "mqueue"))
    try:
        kernel.mount("mqueue", os.path.join(staging, "mqueue"), "mqueue", kernel.MS_NOSUID | kernel.MS_NODEV)
    except OSError:
        pass
    for name, target in (("ptmx", "pts/ptmx"), ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"),
                         ("log", "/run/systemd/journal/dev-log")):
        os.symlink(target, os.path.join(staging, name))
    kernel.mount(staging, "/dev", None, 8192)   # MS_MOVE


def _tmpfiles():
    """The tmpfiles.d entries under /run (what a Debian boot creates there)."""
    entries = {}
    for folder in ("/usr/lib/tmpfiles.d", "/etc/tmpfiles.d"):
        if os.path.isdir(folder):
            for name in sorted(os.listdir(folder)):
                if name.endswith(".conf"):
                    entries[name] = os.path.join(folder, name)
    for name in sorted(entries):
        try:
            lines = pathlib.Path(entries[name]).read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 2 or fields[0].startswith("#"):
                continue
            kind, path = fields[0].rstrip("!-"), fields[1]
            if not (path.startswith("/run/") or path.startswith("/var/run/")) or "%" in path:
                continue
            mode = fields[2] if len(fields) > 2 and fields[2] != "-" else None
            user = fields[3] if len(fields) > 3 and fields[3] != "-" else "root"
            group = fields[4] if len(fields) > 4 and fields[4] != "-" else "root"
            try:
                if kind in ("d", "D"):
                    os.makedirs(path, exist_ok=True)
                    os.chmod(path, int(mode, 8) if mode else 0o755)
                elif kind == "f" and not os.path.exists(path):
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    open(path, "w").close()
                    os.chmod(path, int(mode, 8) if mode else 0o644)
                elif kind == "L" and len(fields) > 6 and not os.path.lexists(path):
                    os.symlink(fields[6], path)
                    continue
                else:
                    continue
                shutil.chown(path, user, group)
            except (OSError, LookupError, ValueError):
                continue


def _mounts(spec, folder, state_dir):
    kernel.mount(None, "/", None, kernel.MS_REC | kernel.MS_PRIVATE)
    # The lab's other namespaces are mounted under /run/netns: a host must not pin them.
    if kernel.is_mountpoint("/run/netns"):
        kernel.umount("/run/netns")
    # A fresh /run first, and in it the two folders the rest comes from (the host's
    # own files, the lab's code): they stay reachable whatever is mounted over the
    # paths they live at (the repository may be under /home, /tmp, /root…).
    kernel.mount("tmpfs", "/run", "tmpfs", kernel.MS_NOSUID | kernel.MS_NODEV, "mode=0755,size=64m")
    for path, mode in (("/run/lock", 0o1777), ("/run/user", 0o755), ("/run/systemd/system", 0o755),
                       ("/run/systemd/journal", 0o755), ("/run/dnslab/lib/labkit", 0o755),
                       ("/run/dnslab/bin", 0o755), ("/run/dnslab/host", 0o700)):
        os.makedirs(path, exist_ok=True)
        os.chmod(path, mode)
    kernel.mount(str(folder), "/run/dnslab/host", None, kernel.MS_BIND)
    kernel.mount(str(plan.LAB_DIR / "labkit"), "/run/dnslab/lib/labkit", None, kernel.MS_BIND)
    kernel.mount(None, "/run/dnslab/lib/labkit", None, kernel.MS_BIND | kernel.MS_REMOUNT | kernel.MS_RDONLY)
    own = pathlib.Path("/run/dnslab/host")
    kernel.umount("/proc")
    kernel.mount("proc", "/proc", "proc", kernel.MS_NOSUID | kernel.MS_NODEV | kernel.MS_NOEXEC)
    kernel.umount("/sys")
    kernel.mount("sysfs", "/sys", "sysfs", kernel.MS_NOSUID | kernel.MS_NODEV | kernel.MS_NOEXEC)
    for target, name in OVERLAYS:
        upper, work = own / name / "upper", own / name / "work"
        kernel.mount("overlay", target, "overlay", 0, f"lowerdir={target},upperdir={upper},workdir={work}")
    for target, name, _mode in OWN_DIRS:
        kernel.mount(str(own / name), target, None, kernel.MS_BIND)
    _private_dev("/run/dnslab/dev")
    # The service manager: the lab's code, read-only, behind the usual commands.
    for name, target in SHIMS:
        shim = f"/run/dnslab/bin/{name}"
        _write(shim, "#!/usr/bin/python3\n# The lab's service manager (examples/lab/labkit/units.py).\n"
                     "import sys\nsys.dont_write_bytecode = True\nsys.path.insert(0, '/run/dnslab/lib')\n"
                     "from labkit import units\nsys.argv[0] = " + repr(name) + "\n"
                     "sys.exit(units.main(sys.argv))\n", 0o755)
        if os.path.exists(target):
            kernel.mount(shim, target, None, kernel.MS_BIND)
        else:
            os.symlink(shim, f"/usr/local/sbin/{name}")
    kernel.umount("/run/dnslab/host")
    os.rmdir("/run/dnslab/host")
    # What a VM would not see: the repository and the lab's state (keys, tokens, other hosts).
    for hidden in {plan.REPO_DIR, pathlib.Path(state_dir).resolve()}:
        if hidden.is_dir():
            kernel.mount("tmpfs", str(hidden), "tmpfs", kernel.MS_RDONLY | kernel.MS_NOSUID | kernel.MS_NODEV,
                         "mode=0755,size=4k")


def _first_boot(spec):
    marker = pathlib.Path("/var/lib/cloud/data/dnslab-first-boot")
    if marker.exists():
        return
    fqdn = spec["name"]
    for path in pathlib.Path("/etc/ssh").glob("ssh_host_*"):
        path.unlink()
    for kind in ("ed25519", "ecdsa"):
        kernel.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", f"root@{fqdn}",
                    "-f", f"/etc/ssh/ssh_host_{kind}_key"])
    _write("/etc/ssh/sshd_config.d/60-dnslab-host-keys.conf",
           "# The host keys generated at first boot.\nHostKey /etc/ssh/ssh_host_ed25519_key\n"
           "HostKey /etc/ssh/ssh_host_ecdsa_key\n")
    _write("/etc/ssh/sshd_config.d/50-cloud-init.conf", "PasswordAuthentication no\n")
    _write("/etc/machine-id", uuid.uuid4().hex + "\n", 0o444)
    # A fresh template: the DNS servers are installed, none is enabled.
    for name in DNS_UNITS:
        for link in pathlib.Path("/etc/systemd/system").glob(f"*.wants/{name}"):
            link.unlink()
    for alias in ("bind9.service",):
        link = pathlib.Path("/etc/systemd/system", alias)
        if link.is_symlink():
            link.unlink()
    _write(marker, datetime.datetime.now(datetime.timezone.utc).isoformat() + "\n")


def _group_exists(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def _cloud_init(spec):
    """The user, its keys and sudo, the host name and resolvers, as cloud-init sets them."""
    fqdn = spec["name"]
    short = fqdn.split(".", 1)[0]
    kernel.sethostname(short)
    _write("/etc/hostname", short + "\n")
    _write("/etc/hosts", f"127.0.0.1 localhost\n127.0.1.1 {fqdn} {short}\n\n"
                         "::1 localhost ip6-localhost ip6-loopback\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n")
    if spec["nameservers"]:
        text = "".join(f"nameserver {n}\n" for n in spec["nameservers"])
        if spec["search"]:
            text += "search " + " ".join(spec["search"]) + "\n"
        if os.path.islink("/etc/resolv.conf"):
            os.unlink("/etc/resolv.conf")
        _write("/etc/resolv.conf", text)
    user = spec["user"]
    if user != "root":
        try:
            pwd.getpwnam(user)
        except KeyError:
            groups = [g for g in USER_GROUPS if _group_exists(g)]
            kernel.run(["useradd", "--create-home", "--shell", "/bin/bash", "--user-group"]
                       + (["--groups", ",".join(groups)] if groups else []) + [user])
        _write("/etc/sudoers.d/90-cloud-init-users", f"# Created by cloud-init\n{user} ALL=(ALL) NOPASSWD:ALL\n",
               0o440)
    entry = pwd.getpwnam(user)
    ssh_dir = pathlib.Path(entry.pw_dir) / ".ssh"
    ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    keys = ssh_dir / "authorized_keys"
    keys.write_text("".join(k + "\n" for k in spec["keys"]))
    os.chmod(keys, 0o600)
    for path in (ssh_dir, keys):
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _syslog_line(data, native):
    """One line for /var/log/syslog from a syslog(3) or a native journal datagram."""
    stamp = datetime.datetime.now().strftime("%b %d %H:%M:%S")
    host = socket.gethostname()
    if native:
        fields = {}
        rest = data
        while rest:
            line, sep, tail = rest.partition(b"\n")
            if b"=" in line:
                key, value = line.split(b"=", 1)
                fields[key] = value
                rest = tail
            else:   # binary-safe field: NAME\n<le64 length><data>\n
                size = int.from_bytes(tail[:8], "little")
                fields[line] = tail[8:8 + size]
                rest = tail[8 + size + 1:]
        ident = fields.get(b"SYSLOG_IDENTIFIER", b"?").decode(errors="replace")
        pid = fields.get(b"SYSLOG_PID", b"").decode(errors="replace")
        message = fields.get(b"MESSAGE", b"").decode(errors="replace")
        return f"{stamp} {host} {ident}{'[' + pid + ']' if pid else ''}: {message}"
    text = data.decode(errors="replace").rstrip("\n")
    if text.startswith("<") and ">" in text:
        text = text[text.index(">") + 1:]
    if len(text) > 16 and text[3] == " " and text[6] == " " and text[9] == ":":
        text = text[16:]
    return f"{stamp} {host} {text}"


def _journal_sink(sockets):
    """Appends what the host's programs send to syslog or the journal to /var/log/syslog."""
    with open("/var/log/syslog", "a", buffering=1) as syslog:
        while True:
            readable, _, _ = select.select([s for s, _ in sockets], [], [])
            for sock, native in sockets:
                if sock in readable:
                    try:
                        syslog.write(_syslog_line(sock.recv(65536), native) + "\n")
                    except (OSError, ValueError):
                        continue


def _others_alive():
    """True while a process other than this init lives in the host's PID namespace."""
    for entry in os.listdir("/proc"):
        if entry.isdigit() and entry != "1" and kernel.process_start(int(entry)) is not None:
            return True
    return False


def host_init(spec, folder, state_dir, report):
    """PID 1 of the host. Boots, reports "ok" or the error on `report`, then
    reaps, collects syslog lines, and shuts down on SIGTERM."""
    kernel.set_comm("init")
    # An init of a PID namespace only receives the signals it handles: install them first.
    stopping = []
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    signal.signal(signal.SIGCHLD, lambda *_: None)
    try:
        for key in ("ipv6.conf.all.accept_ra", "ipv6.conf.default.accept_ra", "ipv6.conf.eth0.accept_ra",
                    "ipv6.conf.all.accept_redirects", "ipv6.conf.default.accept_redirects",
                    "ipv6.conf.eth0.accept_redirects", "ipv4.conf.all.accept_redirects",
                    "ipv4.conf.default.accept_redirects", "ipv4.conf.eth0.accept_redirects"):
            _sysctl("net." + key, 0)
        _mounts(spec, folder, state_dir)
        os.chdir("/")
        _tmpfiles()
        sockets = []
        for path, native in (("/run/systemd/journal/dev-log", False), ("/run/systemd/journal/socket", True)):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(path)
            os.chmod(path, 0o666)
            sockets.append((sock, native))
        # Drained from the start: a datagram socket nobody reads blocks its senders
        # (syslog(3) in useradd, sshd…) once a few messages are queued.
        threading.Thread(target=_journal_sink, args=(sockets,), daemon=True).start()
        _first_boot(spec)
        _cloud_init(spec)
        errors = units.boot()
        ssh_failed = [e for e in errors if "ssh.service" in e]
        for error in errors:
            log(f"boot: {error}")
        if ssh_failed:
            raise RuntimeError("sshd did not start: " + ssh_failed[0].splitlines()[0])
    except Exception as error:  # the hook reports it and removes the host
        os.write(report, f"error: {error}\n".encode())
        os._exit(1)
    os.write(report, b"ok\n")
    os.close(report)
    log(f"{spec['name']} is up")

    def reap():
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            units.record_exit(pid, status)

    while not stopping:
        readable, _, _ = select.select([wake_r], [], [], 1.0)
        if wake_r in readable:
            try:
                os.read(wake_r, 512)
            except BlockingIOError:
                pass
        reap()
    log("shutting down")
    units.shutdown(time.monotonic() + 5.0)
    for sig, grace in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 1.0)):
        try:
            os.kill(-1, sig)
        except ProcessLookupError:
            break
        end = time.monotonic() + grace
        while time.monotonic() < end:
            reap()
            if not _others_alive():
                break
            time.sleep(0.02)
    os.sync()
    os._exit(0)


def _spawn_init(spec, folder, state_dir, netns):
    """Forks the host's init into the host's namespaces; returns (outer PID, report fd)."""
    report_r, report_w = os.pipe()
    pid_r, pid_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    child = os.fork()
    if child == 0:
        try:
            os.close(report_r)
            os.close(pid_r)
            kernel.setns(kernel.netns_path(netns), kernel.CLONE_NEWNET)
            kernel.unshare(kernel.CLONE_NEWNS | kernel.CLONE_NEWUTS | kernel.CLONE_NEWIPC | kernel.CLONE_NEWPID)
            init = os.fork()
            if init == 0:
                os.close(pid_w)
                os.setsid()
                console = os.open(folder / "console.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
                null = os.open("/dev/null", os.O_RDONLY)
                os.dup2(null, 0)
                os.dup2(console, 1)
                os.dup2(console, 2)
                os.closerange(3, report_w)
                os.closerange(report_w + 1, 65536)
                signal.signal(signal.SIGPIPE, signal.SIG_DFL)
                host_init(spec, folder, state_dir, report_w)
                os._exit(0)
            os.write(pid_w, f"{init}\n".encode())
            os._exit(0)
        except BaseException as error:  # never return into the hook's code in the child
            try:
                os.write(report_w, f"error: {error}\n".encode())
            finally:
                os._exit(1)
    os.close(report_w)
    os.close(pid_w)
    os.waitpid(child, 0)
    text = os.read(pid_r, 64).decode().strip()
    os.close(pid_r)
    return (int(text) if text else 0), report_r


def _wait_report(report, deadline):
    text = b""
    while b"\n" not in text:
        left = deadline - time.monotonic()
        if left <= 0:
            raise RuntimeError(f"the host did not finish booting in {BOOT_TIMEOUT:.0f} s")
        readable, _, _ = select.select([report], [], [], left)
        if readable:
            chunk = os.read(report, 4096)
            if not chunk:
                break
            text += chunk
    os.close(report)
    line = text.decode(errors="replace").strip()
    if line != "ok":
        raise RuntimeError(line.removeprefix("error: ") or "the host's init exited during boot")


def _listening(pid, port):
    """True when the host (seen through its init's /proc) listens on TCP `port`."""
    for name in ("tcp", "tcp6"):
        try:
            lines = pathlib.Path(f"/proc/{pid}/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                return True
    return False


def _fill_guest_dir(pid, guest_dir):
    """What the guest agent's file-read answers: copies of the host's files."""
    root = pathlib.Path(f"/proc/{pid}/root")
    guest = pathlib.Path(guest_dir)
    wanted = ["etc/hostname", "etc/machine-id", "etc/os-release"]
    wanted += [str(p.relative_to(root)) for p in (root / "etc/ssh").glob("ssh_host_*_key.pub")]
    for relative in wanted:
        source = root / relative
        try:
            data = source.read_bytes()
        except OSError:
            continue
        target = guest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)


_PARENT = [None]     # pve-sim, which ran this hook


def _check_parent():
    """A hook whose pve-sim died (killed, or `lab down`) stops before making more."""
    if _PARENT[0] is not None and os.getppid() != _PARENT[0]:
        log("pve-sim is gone: stopping here")
        raise SystemExit(1)


def start_host(vm, state_dir):
    began = time.monotonic()
    cluster, vmid = vm["cluster"], int(vm["vmid"])
    try:
        spec = host_spec(vm)
    except NoHost as why:
        log(f"{cluster}/{vmid} gets no host: {why}")
        return
    folder = host_dir(state_dir, cluster, vmid)
    netns, link = plan.host_netns(cluster, vmid), plan.host_link(cluster, vmid)
    with records.Lock(state_dir, "hosts.lock"):
        _check_parent()
        mine = {str(ipaddress.ip_interface(spec[k]).ip) for k in ("v4", "v6") if spec[k]}
        for other, state in running_hosts(state_dir).items():
            if other == folder:
                log(f"{cluster}/{vmid}: its host was still running; stopping it first")
                stop_host(cluster, vmid, state_dir)
                continue
            clash = mine & set(state.get("addresses", []))
            if clash:
                log(f"{cluster}/{vmid} gets no host: {', '.join(sorted(clash))} is already used by {other.name}")
                return
        first = not folder.exists()
        for _target, name in OVERLAYS:
            for sub in ("upper", "work"):
                (folder / name / sub).mkdir(parents=True, exist_ok=True)
        for _target, name, mode in OWN_DIRS:
            path = folder / name
            if not path.exists():
                path.mkdir(parents=True)
                os.chmod(path, mode)
        for sub in USR_LOCAL:
            (folder / "usr-local" / sub).mkdir(exist_ok=True)
        _write_host_state(folder, {"cluster": cluster, "vmid": vmid, "name": spec["name"], "netns": netns,
                                   "link": link, "addresses": sorted(mine), "pid": 0, "start": None})
        _teardown_network(netns, link)
        _setup_network(spec, netns, link)
    log(f"{cluster}/{vmid} ({spec['name']}): {'first boot' if first else 'boot'} in {netns}")
    _check_parent()
    pid, report = _spawn_init(spec, folder, state_dir, netns)
    start = records.record_pid(state_dir, f"host-{cluster}-{vmid}", pid) if pid else None
    state = _read_host_state(folder)
    state.update(pid=pid, start=start)
    _write_host_state(folder, state)
    try:
        deadline = time.monotonic() + BOOT_TIMEOUT
        _wait_report(report, deadline)
        while not _listening(pid, 22):
            if time.monotonic() > deadline:
                raise RuntimeError("sshd does not listen on port 22")
            time.sleep(0.02)
        _check_routes(spec)
    except Exception as error:
        log(f"{cluster}/{vmid}: boot failed: {error} (see {folder / 'console.log'})")
        stop_host(cluster, vmid, state_dir)
        raise SystemExit(1)
    guest_dir = vm.get("guest_dir") or os.environ.get("PVESIM_GUEST_DIR")
    if guest_dir:
        _fill_guest_dir(pid, guest_dir)
    log(f"{cluster}/{vmid} ({spec['name']}) is up in {time.monotonic() - began:.1f} s: init PID {pid}, "
        f"{', '.join(sorted(mine))}, sshd listening")


def stop_host(cluster, vmid, state_dir):
    folder = host_dir(state_dir, cluster, vmid)
    state = _read_host_state(folder)
    if state is None:
        return False
    pid, start = state.get("pid") or 0, state.get("start")
    if pid and kernel.alive(pid, start):
        kernel.kill(pid, signal.SIGTERM, start)
        if not kernel.wait_gone([(pid, start)], 10.0):
            kernel.kill(pid, signal.SIGKILL, start)
            kernel.wait_gone([(pid, start)], 3.0)
    _teardown_network(state.get("netns") or plan.host_netns(cluster, vmid),
                      state.get("link") or plan.host_link(cluster, vmid))
    records.forget_pid(state_dir, f"host-{cluster}-{vmid}")
    state.update(pid=0, start=None)
    _write_host_state(folder, state)
    return True


def delete_host(cluster, vmid, state_dir):
    folder = host_dir(state_dir, cluster, vmid)
    if not folder.exists():
        return
    stop_host(cluster, vmid, state_dir)
    shutil.rmtree(folder)
    log(f"{cluster}/{vmid}: host removed with its files")


def hook_main(argv):
    """pve-sim runs this as `hooks/vm EVENT` with the VM's JSON on stdin."""
    event = argv[1] if len(argv) > 1 else ""
    _PARENT[0] = os.getppid()
    vm = json.load(sys.stdin)
    state_dir = os.environ.get("DNSCTL_LAB_STATE")
    if not state_dir:
        log("DNSCTL_LAB_STATE is not set: this pve-sim was not started by `lab up`; no host")
        return 0
    cluster, vmid = vm.get("cluster") or os.environ.get("PVESIM_CLUSTER"), vm.get("vmid")
    vm["cluster"], vm["vmid"] = cluster, vmid
    if event == "start":
        start_host(vm, state_dir)
    elif event == "stop":
        if stop_host(cluster, vmid, state_dir):
            log(f"{cluster}/{vmid}: host stopped")
    elif event == "reboot":
        stop_host(cluster, vmid, state_dir)
        start_host(vm, state_dir)
    elif event == "delete":
        delete_host(cluster, vmid, state_dir)
    else:
        log(f"unknown event '{event}'")
        return 2
    return 0
