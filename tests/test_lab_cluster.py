"""The lab's view of the cluster (lab/cluster.py): a scenario starts only once the cluster has settled, with
every resource started, the rejoined node's ping instance included (crm_mon's XML, shortened)."""
from __future__ import annotations

from lab.cluster import parse_state

NODES = {"lab1", "lab2"}


def _crm_mon(ping_on_lab1: bool = True, dc: bool = True, member_failed: bool = False) -> str:
    def started(rsc: str, node: str, failed: bool = False) -> str:
        return (f'<resource id="{rsc}" role="Started" active="true" failed="{str(failed).lower()}" nodes_running_on="1">'
                f'<node name="{node}" id="{node[-1]}" cached="true"/></resource>')

    ping_lab1 = started("ping", "lab1") if ping_on_lab1 else \
        '<resource id="ping" role="Stopped" active="false" failed="false" nodes_running_on="0"/>'
    return f"""<pacemaker-result api-version="2.25" request="crm_mon -1 --output-as=xml --inactive">
  <summary><current_dc present="{str(dc).lower()}"/></summary>
  <nodes>
    <node name="lab1" id="1" online="true"/>
    <node name="lab2" id="2" online="true"/>
  </nodes>
  <resources>
    <group id="bluemind" number_resources="2">
      {started("fs-var-lib-postgresql", "lab2")}
      {started("svc-postgresql", "lab2", member_failed)}
    </group>
    {started("fence-lab1", "lab2")}
    {started("fence-lab2", "lab1")}
    <clone id="ping-clone" failed="false">{started("ping", "lab2")}{ping_lab1}</clone>
  </resources>
  <status code="0" message="OK"/>
</pacemaker-result>"""


def test_a_settled_cluster_is_healthy():
    state = parse_state(_crm_mon())
    assert state.group_nodes == {"lab2"} and state.group_complete and state.all_started
    assert state.healthy(NODES)


def test_a_rejoined_node_without_its_ping_instance_is_not_settled_yet():
    state = parse_state(_crm_mon(ping_on_lab1=False))
    assert state.online == NODES and state.group_complete
    assert not state.healthy(NODES)


def test_a_failed_member_or_no_dc():
    assert not parse_state(_crm_mon(member_failed=True)).healthy(NODES)
    assert parse_state(_crm_mon(dc=False)) is None
