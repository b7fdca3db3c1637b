#!/bin/sh
# The main job on one machine: installs what dnsctl needs, builds it, starts
# pve-sim with the four example clusters (examples/sim), lets dnsctl create
# the estate's five VMs there (`apply --yes`: validate, observe, plan, apply,
# verify), shows that planning again finds nothing to do, and stops pve-sim
# by its recorded PID.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh

dnsctl=build/controller/dnsctl
inventory=examples/sim/inventory.yaml
sim_state=examples/sim/.pve-sim

# dnsctl's SSH key pair: the public half goes on every VM it creates.
if [ ! -f examples/sim/.dnsctl/id_ed25519.pub ]; then
    mkdir -p examples/sim/.dnsctl
    ssh-keygen -q -t ed25519 -N '' -C dnsctl@sim -f examples/sim/.dnsctl/id_ed25519
fi

# Empty clusters every time (--fresh), so the demo always starts from nothing.
pid=$(examples/sim/run.sh "$sim_state" --fresh)
stop_sim() {
    kill "$pid" 2>/dev/null || return 0
    tries=0
    while kill -0 "$pid" 2>/dev/null && [ "$tries" -lt 100 ]; do
        sleep 0.1
        tries=$((tries + 1))
    done
}
trap stop_sim EXIT INT TERM
echo "pve-sim is running (PID $pid): four clusters on https://127.0.0.1:18006-18009"

echo
echo "== dnsctl apply $inventory --yes"
"$dnsctl" apply "$inventory" --yes

echo
echo "== dnsctl plan $inventory"
"$dnsctl" plan "$inventory"

stop_sim
trap - EXIT INT TERM
echo
echo "pve-sim (PID $pid) stopped."
