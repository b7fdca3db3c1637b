#!/bin/sh
# Installs what only the tests and the lab need (DNS servers, sshd, sudo for
# the lab's hosts, Proxmox client, Zonemaster), then stops and disables the
# system services those packages start on a systemd Debian: knot, nsd and
# bind9 would otherwise all claim port 53 on the operator's machine. The tests
# and the lab start their own daemons, each with its own configuration.
# Idempotent.
set -eu
if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-deps.sh: run as root (it calls apt-get)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive

# sshd is stopped afterwards only if this script is what installed it: an
# operator's own sshd is never touched.
had_sshd=no
if dpkg-query -W -f='${Status}' openssh-server 2>/dev/null | grep -q 'install ok installed'; then
    had_sshd=yes
fi

apt-get update
apt-get install -y --no-install-recommends \
    python3 python3-proxmoxer python3-requests python3-yaml \
    openssh-server openssh-client \
    knot knot-dnsutils nsd bind9 bind9-utils ldnsutils \
    iproute2 procps util-linux sudo \
    zonemaster-cli dnsperf hyperfine

# Services the packages above may have started. Stop them and keep them from
# coming back at boot; tests never rely on them.
units="knot.service nsd.service named.service bind9.service"
if [ "$had_sshd" = no ]; then
    units="$units ssh.service"
fi
for unit in $units; do
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        if systemctl list-unit-files "$unit" >/dev/null 2>&1; then
            systemctl disable --now "$unit" >/dev/null 2>&1 || true
        fi
    fi
done
