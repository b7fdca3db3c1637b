#!/bin/sh
# Configures and builds dnsctl (and pve-sim) into ./build. Needs the packages
# of scripts/install-deps.sh.
set -eu
cd "$(dirname "$0")/.."
build_dir=${DNSCTL_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build_dir" -j "$(nproc)"
