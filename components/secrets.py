"""The stack's secrets as Pulumi secret Outputs. The settings model has already checked that each is
present and stored as a secret; here they are read, and the CHAP secrets' values checked (length, characters,
the two different) before anything is declared: a bad one stops the program with the key named, never its value."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi.runtime import config as runtime_config

from components.settings import NAMESPACE, Settings, checks
from components.settings import schema as sc


@dataclass(frozen=True)
class Secrets:
    chap_password: pulumi.Output[str]          # the nodes prove themselves to the target with it
    chap_mutual_password: pulumi.Output[str]   # the target proves itself to the nodes with it (mutual CHAP)
    corosync_authkey: pulumi.Output[str]
    subscription_url: pulumi.Output[str]  # BlueMind's apt repository of the subscription (it names its id)
    bmc_passwords: dict[str, pulumi.Output[str]]  # node name -> its BMC's password
    ssh_private_key: pulumi.Output[str] | None


def read_secrets(s: Settings) -> Secrets:
    """Raises a SettingsError naming the key when a CHAP secret's value is unfit."""
    # Configuration values are plain in the program's process (Pulumi decrypts them before it starts): read
    # here only to be checked, and dropped.
    checks.chap_secrets({key: runtime_config.get_config(f"{NAMESPACE}:{key}") or "" for key in sc.CHAP_SECRETS})
    config = pulumi.Config(NAMESPACE)
    return Secrets(
        chap_password=config.require_secret("chap_password"),
        chap_mutual_password=config.require_secret("chap_mutual_password"),
        corosync_authkey=config.require_secret("corosync_authkey"),
        subscription_url=config.require_secret("subscription_url"),
        bmc_passwords={n.name: config.require_secret(n.bmc.password_key) for n in s.nodes if n.bmc},
        ssh_private_key=config.require_secret(s.ssh_key_secret) if s.ssh_key_secret else None,
    )
