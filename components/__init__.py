"""bluemind-ha: a two-node active/passive BlueMind cluster declared as a Pulumi program.

Pure modules (settings, sizing, services, render/*) turn stack configuration into text; the Pulumi
components (hosts, storage, cluster_node, cluster, ...) only wire that text into resources.
"""
