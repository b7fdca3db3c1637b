"""The lab: pve-sim's VMs become hosts in network and mount namespaces of one
machine, beside a mini-internet (root, TLD and ASN-lookup servers). The entry
point is examples/lab/lab; README.md beside it explains the whole.

Modules:
  plan      names, the address plan, the inventory's view of the estate
  kernel    namespaces, mounts and processes (ctypes over libc), `ip` calls
  records   what the lab created: the state file and PID records
  dnsquery  a minimal DNS client for readiness polls
  internet  the mini-internet: zones, Knot configurations, the registry
  hosts     pve-sim's lifecycle hook and each host's init
  units     the service manager inside the hosts (systemctl, service, journalctl)
  labctl    lab up / down / status / publish-ds / exec
"""
