"""What pacemaker moves between the nodes, and in which order.

The group starts its members in list order and stops them in reverse: storage first, then the floating IP,
then the services in the order of their systemd units: bm-pimp (a oneshot that sizes the JVM heaps and
PostgreSQL's buffers from the RAM it finds; its unit is `Before=postgresql.service bm-node.service
bm-core.service ...`), PostgreSQL, then BlueMind's own services (bm-core needs node and postgresql; eas,
ysnp, ... need bm-core; milter and lmtpd need ysnp), and lsyncd last.
Source: ../shared/reference/bluemind.md section 2.
"""
from __future__ import annotations

from dataclasses import dataclass

from components.settings.model import ProbeKind


@dataclass(frozen=True)
class Probe:
    """What BlueMind's bm-checks test for a service (../shared/reference/bluemind.md section 3), as
    ocf:bluemind-ha:service probes it (components/agents/service): port (TCP connect), http (any answer
    below 500 to method + path), elasticsearch (the cluster health answers; red is logged, not failed),
    core (admin0 logs in with bm-core's token)."""

    port: int
    kind: ProbeKind = ProbeKind.PORT
    method: str = "GET"
    path: str = "/"

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ProbeKind(self.kind))  # an unknown kind fails at import


@dataclass(frozen=True)
class Service:
    unit: str
    start_timeout_s: int = 120
    stop_timeout_s: int = 120
    # None: nothing to probe, so the unit being active is all pacemaker checks (class systemd). With a
    # probe the service is run by ocf:bluemind-ha:service, whose monitor fails when the probe does, so
    # pacemaker restarts the service itself, not only a separate check.
    probe: Probe | None = None

    @property
    def rsc_id(self) -> str:
        return f"svc-{self.unit}"


BM_PIMP = Service("bm-pimp")
POSTGRESQL = Service("postgresql", 180, 180, probe=Probe(5432))
# The group's last member: lsyncd pushes the configuration from wherever the group runs to the peer.
LSYNCD = Service("lsyncd", 60, 60)

_JVM = dict(start_timeout_s=300, stop_timeout_s=180)  # BlueMind's JVM services start slowly on a cold cache
_ELASTICSEARCH = Service("bm-elasticsearch", **_JVM, probe=Probe(9200, "elasticsearch"))
_NODE = Service("bm-node", **_JVM, probe=Probe(8022))
_TIKA = Service("bm-tika", **_JVM, probe=Probe(8087, "http", "GET", "/tika"))
_WEBSERVER = Service("bm-webserver", **_JVM, probe=Probe(8080, "http", "OPTIONS", "/"))
_CORE = Service("bm-core", start_timeout_s=600, stop_timeout_s=180, probe=Probe(8090, "core"))
_EAS = Service("bm-eas", **_JVM, probe=Probe(8082, "http", "GET", "/Microsoft-Server-ActiveSync/"))
_YSNP = Service("bm-ysnp", **_JVM, probe=Probe(25250))
_MILTER = Service("bm-milter", **_JVM, probe=Probe(2500))
_LMTPD = Service("bm-lmtpd", **_JVM, probe=Probe(2400))
_POSTFIX = Service("postfix", probe=Probe(25))
_NGINX = Service("bm-nginx", probe=Probe(443))

SERVICES_4X = (
    BM_PIMP, POSTGRESQL, _ELASTICSEARCH,
    Service("bm-cyrus-imapd", probe=Probe(1143)),
    _POSTFIX, _NODE, _TIKA, _WEBSERVER, _CORE, _EAS, _YSNP,
    Service("bm-hps", **_JVM, probe=Probe(8079)),
    Service("bm-xmpp", **_JVM),
    _MILTER, _LMTPD,
    Service("bm-php-fpm"),
    _NGINX,
)

# 5.x drops Cyrus, bm-hps and bm-xmpp and adds keydb, keycloak and mapi (5.2 "Les services").
SERVICES_5X = (
    BM_PIMP, POSTGRESQL, _ELASTICSEARCH,
    Service("bm-keydb"),
    _POSTFIX, _NODE, _TIKA, _WEBSERVER, _CORE,
    Service("bm-keycloak", **_JVM),
    _EAS, _YSNP, _MILTER, _LMTPD,
    Service("bm-mapi", **_JVM, probe=Probe(5001)),
    _NGINX,
)


def group_services(major: int) -> tuple[Service, ...]:
    """The group's services in start order, for BlueMind `major`: lsyncd is the last."""
    return (SERVICES_5X if major >= 5 else SERVICES_4X) + (LSYNCD,)


def active_only_units(major: int) -> tuple[str, ...]:
    """Units that must run on the active node only, so never start at boot on either node."""
    return tuple(s.unit for s in group_services(major))
