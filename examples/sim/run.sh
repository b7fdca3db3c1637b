#!/bin/sh
# Starts pve-sim in the background with the four-cluster configuration of this
# folder, waits until it listens (the ready file appears) and prints its PID.
#
#   examples/sim/run.sh STATE_DIR [pve-sim options…]
#
# STATE_DIR keeps certificates, <cluster>.fingerprint, state.json, logs and
# ready.json (each cluster's URL and fingerprint). Stop it with `kill PID`.
# The pve-sim binary: $PVE_SIM, else build/tests/pvesim/pve-sim of this repository.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ]; then
    echo "usage: $0 STATE_DIR [pve-sim options...]" >&2
    exit 2
fi
state_dir=$1
shift
pve_sim=${PVE_SIM:-$here/../../build/tests/pvesim/pve-sim}
if [ ! -x "$pve_sim" ]; then
    echo "run.sh: pve-sim not found at $pve_sim (build it, or set PVE_SIM)" >&2
    exit 1
fi
mkdir -p "$state_dir"
ready=$state_dir/ready.json
rm -f "$ready"
"$pve_sim" --config "$here/pve-sim.yaml" --state-dir "$state_dir" "$@" >"$state_dir/pve-sim.out" 2>&1 &
pid=$!
tries=0
while [ ! -s "$ready" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "run.sh: pve-sim exited early; see $state_dir/pve-sim.out" >&2
        cat "$state_dir/pve-sim.out" >&2
        exit 1
    fi
    tries=$((tries + 1))
    if [ "$tries" -gt 300 ]; then
        echo "run.sh: pve-sim not ready after 30 s; stopping it" >&2
        kill "$pid"
        exit 1
    fi
    sleep 0.1
done
echo "$pid"
