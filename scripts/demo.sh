#!/bin/sh
# The main job on one machine: installs what dnsctl needs, builds it, and
# validates the reference inventory of the four-datacenter estate.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
echo
echo "== dnsctl validate inventory/inventory.yaml"
build/controller/dnsctl validate inventory/inventory.yaml
