"""What pacemaker moves between the nodes, and in which order.

The group starts its members in list order and stops them in reverse: storage first, then the floating IP,
then PostgreSQL, then BlueMind's own services in the order of their systemd units (bm-pimp sizes the JVM
heaps before anything else starts; bm-core needs node and postgresql; eas, ysnp, ... need bm-core; milter
and lmtpd need ysnp). Source: ../shared/reference/bluemind.md section 2.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Probe:
    """How ocf:bluemind-ha:check tests a service (components/agents/check), after bm-checks' check_*.sh:
    port (TCP connect), http (any answer below 500 to method + path), elasticsearch (cluster health not
    red), core (admin0 logs in with bm-core's token)."""

    kind: str = "port"
    method: str = "GET"
    path: str = "/"


@dataclass(frozen=True)
class Service:
    unit: str
    start_timeout_s: int = 120
    stop_timeout_s: int = 120
    # What BlueMind's own bm-checks test for this service (../shared/reference/bluemind.md section 3).
    check_port: int | None = None
    check_probe: Probe = Probe()

    @property
    def rsc_id(self) -> str:
        return f"svc-{self.unit}"

    @property
    def check_id(self) -> str:
        return f"check-{self.unit}"


POSTGRESQL = Service("postgresql", 180, 180, check_port=5432)
# The group's last member: lsyncd pushes the configuration from wherever the group runs to the peer.
LSYNCD = Service("lsyncd", 60, 60)

_JVM = dict(start_timeout_s=300, stop_timeout_s=180)  # BlueMind's JVM services start slowly on a cold cache

SERVICES_4X = (
    Service("bm-pimp"),
    Service("bm-elasticsearch", **_JVM, check_port=9200, check_probe=Probe("elasticsearch")),
    Service("bm-cyrus-imapd", check_port=1143),
    Service("postfix", check_port=25),
    Service("bm-node", **_JVM, check_port=8022),
    Service("bm-tika", **_JVM, check_port=8087, check_probe=Probe("http", "GET", "/tika")),
    Service("bm-webserver", **_JVM, check_port=8080, check_probe=Probe("http", "OPTIONS", "/")),
    Service("bm-core", start_timeout_s=600, stop_timeout_s=180, check_port=8090, check_probe=Probe("core")),
    Service("bm-eas", **_JVM, check_port=8082, check_probe=Probe("http", "GET", "/Microsoft-Server-ActiveSync/")),
    Service("bm-ysnp", **_JVM, check_port=25250),
    Service("bm-hps", **_JVM, check_port=8079),
    Service("bm-xmpp", **_JVM),
    Service("bm-milter", **_JVM, check_port=2500),
    Service("bm-lmtpd", **_JVM, check_port=2400),
    Service("bm-php-fpm"),
    Service("bm-nginx", check_port=443),
)

# 5.x drops Cyrus, bm-hps and bm-xmpp and adds keydb and keycloak (5.2 "Les services").
SERVICES_5X = (
    Service("bm-pimp"),
    Service("bm-elasticsearch", **_JVM, check_port=9200, check_probe=Probe("elasticsearch")),
    Service("bm-keydb"),
    Service("postfix", check_port=25),
    Service("bm-node", **_JVM, check_port=8022),
    Service("bm-tika", **_JVM, check_port=8087, check_probe=Probe("http", "GET", "/tika")),
    Service("bm-webserver", **_JVM, check_port=8080, check_probe=Probe("http", "OPTIONS", "/")),
    Service("bm-core", start_timeout_s=600, stop_timeout_s=180, check_port=8090, check_probe=Probe("core")),
    Service("bm-keycloak", **_JVM),
    Service("bm-eas", **_JVM, check_port=8082, check_probe=Probe("http", "GET", "/Microsoft-Server-ActiveSync/")),
    Service("bm-ysnp", **_JVM, check_port=25250),
    Service("bm-milter", **_JVM, check_port=2500),
    Service("bm-lmtpd", **_JVM, check_port=2400),
    Service("bm-mapi", **_JVM, check_port=5001),
    Service("bm-nginx", check_port=443),
)


def bluemind_services(major: int) -> tuple[Service, ...]:
    return SERVICES_5X if major >= 5 else SERVICES_4X


def active_only_units(major: int) -> tuple[str, ...]:
    """Units that must run on the active node only, so never start at boot on either node."""
    return (POSTGRESQL.unit,) + tuple(s.unit for s in bluemind_services(major)) + (LSYNCD.unit,)
