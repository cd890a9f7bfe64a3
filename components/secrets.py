"""The stack's secrets as Pulumi secret Outputs. The settings model has already checked that each is
present and stored as a secret; here they are only read, never unwrapped."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.settings import NAMESPACE, Settings


@dataclass(frozen=True)
class Secrets:
    chap_password: pulumi.Output[str]
    corosync_authkey: pulumi.Output[str]
    subscription_url: pulumi.Output[str]  # BlueMind's apt repository of the subscription (it names its id)
    bmc_passwords: dict[str, pulumi.Output[str]]  # node name -> its BMC's password
    ssh_private_key: pulumi.Output[str] | None


def read_secrets(s: Settings) -> Secrets:
    config = pulumi.Config(NAMESPACE)
    return Secrets(
        chap_password=config.require_secret("chap_password"),
        corosync_authkey=config.require_secret("corosync_authkey"),
        subscription_url=config.require_secret("subscription_url"),
        bmc_passwords={n.name: config.require_secret(n.bmc.password_key) for n in s.nodes if n.bmc},
        ssh_private_key=config.require_secret(s.ssh_key_secret) if s.ssh_key_secret else None,
    )
