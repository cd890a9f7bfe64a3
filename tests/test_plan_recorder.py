"""The offline plan's recorder stands in for the engine: it must refuse what the engine refuses, and name
resources as the engine does."""
from __future__ import annotations

import pulumi
import pytest
from pulumi_command import local

from tools.plan import DuplicateUrnError, run_program


class Box(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("test:index:Box", name, None, opts)
        self.inner = Inner(f"{name}-inner", opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


class Inner(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("test:index:Inner", name, None, opts)
        local.Command("step", create="true", opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


def test_two_resources_with_one_urn_stop_the_plan_as_they_stop_the_engine():
    def program():
        local.Command("same", create="true")
        local.Command("same", create="false")

    with pytest.raises(DuplicateUrnError, match=r"Duplicate resource URN "
                       r"'urn:pulumi:dev::bluemind-ha::command:local:Command::same'"):
        run_program("dev", {}, set(), program)


def test_the_same_name_under_another_type_is_no_clash():
    def program():
        local.Command("same", create="true")
        Box("same")

    names = [d.name for d in run_program("dev", {}, set(), program).declared]
    assert names.count("same") == 2


def test_urns_carry_the_whole_parent_type_chain_as_the_engine_builds_them():
    declared = {d.name: d.urn for d in run_program("dev", {}, set(), lambda: Box("b")).declared}
    assert declared == {
        "b": "urn:pulumi:dev::bluemind-ha::test:index:Box::b",
        "b-inner": "urn:pulumi:dev::bluemind-ha::test:index:Box$test:index:Inner::b-inner",
        "step": "urn:pulumi:dev::bluemind-ha::test:index:Box$test:index:Inner$command:local:Command::step",
    }
