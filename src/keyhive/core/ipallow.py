"""Per-secret IP allowlists: CIDR networks, checked against the caller's address."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from typing import Final

from keyhive.core.errors import InvalidInput

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_NETWORKS: Final = 100


def normalize_networks(networks: object) -> tuple[str, ...]:
    """Validate CIDRs (a bare address means a /32 or /128) and return them in canonical form."""
    if networks is None:
        return ()
    if isinstance(networks, str):
        networks = (networks,)
    if not isinstance(networks, Iterable):
        raise InvalidInput("allowed IPs must be a list of CIDR networks", field="allowed_ips")
    result: list[str] = []
    for item in networks:
        if not isinstance(item, str) or len(item) > 64:
            raise InvalidInput(
                "each allowed IP must be a CIDR such as 10.0.0.0/8", field="allowed_ips"
            )
        try:
            net = ipaddress.ip_network(item.strip(), strict=False)
        except ValueError:
            raise InvalidInput(f"not an IP network: {item[:64]!r}", field="allowed_ips") from None
        if str(net) not in result:
            result.append(str(net))
        if len(result) > MAX_NETWORKS:
            raise InvalidInput(f"at most {MAX_NETWORKS} allowed networks", field="allowed_ips")
    return tuple(result)


@functools.lru_cache(maxsize=4096)
def _compiled(networks: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(n) for n in networks)


@functools.lru_cache(maxsize=65536)
def _address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def ip_allowed(networks: tuple[str, ...], ip: object) -> bool:
    """Whether ``ip`` lies in one of ``networks``; an empty list allows every caller.

    With a list, a missing or unreadable address is refused (fail closed).
    """
    if not networks:
        return True
    if not isinstance(ip, str) or len(ip) > 64:
        return False
    address = _address(ip)
    if address is None:
        return False
    return any(address in net for net in _compiled(networks))
