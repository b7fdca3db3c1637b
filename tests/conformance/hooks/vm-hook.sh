#!/bin/sh
# Lifecycle hook of the conformance suite: keeps the VM's JSON and plays the
# guest by writing an SSH host key where the guest agent's file-read looks.
set -eu
event=$1
mkdir -p "$PVESIM_GUEST_DIR"
cat >"$PVESIM_STATE_DIR/hook-$PVESIM_VMID-$event.json"
if [ "$event" = start ]; then
    mkdir -p "$PVESIM_GUEST_DIR/etc/ssh"
    echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfVm$PVESIM_VMID root@vm$PVESIM_VMID" \
        >"$PVESIM_GUEST_DIR/etc/ssh/ssh_host_ed25519_key.pub"
fi
echo "$event $PVESIM_CLUSTER/$PVESIM_VMID" >>"$PVESIM_STATE_DIR/hook-events.log"
