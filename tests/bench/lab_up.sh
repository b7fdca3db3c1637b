#!/bin/sh
# Benchmark: how long `lab up` and `lab down` take (DESIGN §10), `dnsctl
# apply` turning the lab's five VMs into hosts whose sshd answers, and `lab
# down` with those five hosts running. Needs root
# and a machine without a running lab; starts and stops the lab itself. A
# measurement, not a test: it asserts nothing about time. On a shared machine
# the figures are noisy; compare runs made on the same machine state.
#
#   tests/bench/lab_up.sh [RUNS]        (default 5; hyperfine when installed)
#
# Binaries: $PVE_SIM and $DNSCTL, else the build/ folder of this repository.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
lab=$root/examples/lab/lab
inventory=$root/examples/lab/inventory.yaml
dnsctl=${DNSCTL:-$root/build/controller/dnsctl}
runs=${1:-5}

if [ "$(id -u)" -ne 0 ]; then
    echo "lab_up.sh: run as root (the lab needs it)" >&2
    exit 1
fi
set +e
"$lab" status >/dev/null 2>&1
status=$?
set -e
if [ "$status" -ne 3 ]; then
    echo "lab_up.sh: a lab (or what is left of one) exists; run examples/lab/lab down first" >&2
    exit 1
fi
for tool in "$dnsctl"; do
    if [ ! -x "$tool" ]; then
        echo "lab_up.sh: $tool not found (build the dnsctl and pve-sim targets)" >&2
        exit 1
    fi
done
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

if command -v hyperfine >/dev/null 2>&1; then
    hyperfine --runs "$runs" --style basic \
        --prepare "$lab down >/dev/null" --cleanup "$lab down >/dev/null" \
        -n "lab up" "$lab up >/dev/null"
    hyperfine --runs "$runs" --style basic \
        --prepare "$lab up >/dev/null" \
        -n "lab down" "$lab down >/dev/null"
    hyperfine --runs "$runs" --style basic \
        --prepare "$lab down >/dev/null; $lab up >/dev/null" --cleanup "$lab down >/dev/null" \
        -n "dnsctl apply: 5 VMs become hosts" "$dnsctl apply $inventory --yes >/dev/null 2>&1"
    hyperfine --runs "$runs" --style basic \
        --prepare "$lab up >/dev/null; $dnsctl apply $inventory --yes >/dev/null 2>&1" \
        -n "lab down with 5 hosts" "$lab down >/dev/null"
else
    now() { date +%s.%N; }
    span() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
    i=0
    while [ "$i" -lt "$runs" ]; do
        a=$(now); "$lab" up >/dev/null; b=$(now)
        "$dnsctl" apply "$inventory" --yes >/dev/null 2>&1; c=$(now)
        "$lab" down >/dev/null; d=$(now)
        echo "run $i: lab up $(span "$a" "$b") s, apply $(span "$b" "$c") s, lab down with 5 hosts $(span "$c" "$d") s"
        i=$((i + 1))
    done
fi
