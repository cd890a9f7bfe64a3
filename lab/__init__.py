"""The failover lab of `make lab`: the `lab` stack's rendered corosync.conf and CIB, run by the real Debian
daemons in two node namespaces on this machine, fenced through simulated BMCs, measured by a client.
See lab/README.md."""
