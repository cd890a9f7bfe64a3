"""ocf:bluemind-ha:service, run the way pacemaker runs it (OCF_RESKEY_* environment, resource-agents' own
ocf-shellfuncs), against real services on loopback answering real curl and TCP probes.

systemd does not run on this machine, so the unit side is played by `STAND_IN_SYSTEMCTL`: a "unit" is a
command run in the background, active while that process lives. Everything the agent decides (OCF exit
codes, what counts as healthy, when start returns, whose listener it may probe) is the agent's own.

What systemd says of a unit's processes (`systemctl show -p ControlGroup|MainPID --value`) comes in the
`CGROUP_MODES` a node can be in: a readable cgroup, a unit whose ControlGroup is empty, or one whose cgroup
cannot be read here. For the first, a directory in the test stands in for /sys/fs/cgroup in the agent's
sandbox, and the stand-in plays the kernel: the unit's cgroup.procs holds the unit's process tree.
"""
