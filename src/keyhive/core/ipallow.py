"""Per-secret IP allowlists: CIDR networks, checked against the caller's address."""

from __future__ import annotations

import functools
import ipaddress
from typing import Final

from keyhive.core.addresses import IPNetwork, parse_address, parse_networks
from keyhive.core.errors import InvalidInput

MAX_NETWORKS: Final = 100


def normalize_networks(networks: object) -> tuple[str, ...]:
    """Validate CIDRs (a bare address means a /32 or /128) and return them in canonical form."""
    if networks is None:
        return ()
    if isinstance(networks, str):
        networks = (networks,)
    result = list(dict.fromkeys(str(net) for net in parse_networks(networks, "allowed_ips")))
    if len(result) > MAX_NETWORKS:
        raise InvalidInput(f"at most {MAX_NETWORKS} allowed networks", field="allowed_ips")
    return tuple(result)


@functools.lru_cache(maxsize=4096)
def _compiled(networks: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(n) for n in networks)


def ip_allowed(networks: tuple[str, ...], ip: object) -> bool:
    """Whether ``ip`` lies in one of ``networks``; an empty list allows every caller.

    With a list, a missing or unreadable address is refused (fail closed).
    """
    if not networks:
        return True
    address = parse_address(ip)
    if address is None:
        return False
    return any(address in net for net in _compiled(networks))
