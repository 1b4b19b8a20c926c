"""Caller addresses: parsing them once, and the one rule for which address a request
comes from.

Forwarding headers (``X-Real-IP``, ``X-Forwarded-For``) are believed only from a trusted
proxy (``KEYHIVE_TRUSTED_PROXIES``; loopback by default, like uvicorn's
``--forwarded-allow-ips``). A caller that reaches keyhive directly is known by its socket
address, whatever it claims, so IP allowlists and per-address throttling cannot be
forged. Behind a chain of proxies, ``X-Forwarded-For`` is read from the right and the
first hop that is not a trusted proxy is the client.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from typing import Final

from keyhive.core.echo import excerpt
from keyhive.core.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: No textual IP address is longer (an IPv6 address with a zone index aside).
MAX_ADDRESS: Final = 64
#: Hops of X-Forwarded-For looked at, from the right: enough for any real chain.
_MAX_HOPS: Final = 16
LOOPBACK: Final = ("127.0.0.0/8", "::1/128")


@functools.lru_cache(maxsize=4096)
def _parsed(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse_address(text: object) -> IPAddress | None:
    """An IP address (IPv4-mapped IPv6 as IPv4), or None for anything else.

    Memoised, because callers' addresses recur; only short strings reach the memo, so
    its size in bytes is bounded whatever callers send.
    """
    if not isinstance(text, str) or not 0 < len(text) <= MAX_ADDRESS:
        return None
    return _parsed(text.strip())


def canonical(text: object) -> str | None:
    """The canonical text of an IP address, or None (memoised like :func:`parse_address`)."""
    if not isinstance(text, str) or not 0 < len(text) <= MAX_ADDRESS:
        return None
    return _canonical(text)


@functools.lru_cache(maxsize=4096)
def _canonical(text: str) -> str | None:
    address = _parsed(text.strip())
    return str(address) if address is not None else None


def parse_networks(networks: object, field: str = "trusted_proxies") -> tuple[IPNetwork, ...]:
    """CIDR networks (a bare address is a /32 or /128); InvalidInput naming ``field``."""
    if isinstance(networks, str):
        networks = [part for part in networks.split(",") if part.strip()]
    if not isinstance(networks, Iterable):
        raise InvalidInput(f"{field} must be a list of CIDR networks", field=field)
    result: list[IPNetwork] = []
    for item in networks:
        if not isinstance(item, str) or len(item) > MAX_ADDRESS:
            raise InvalidInput(f"each of {field} must be a CIDR such as 10.0.0.0/8", field=field)
        try:
            result.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise InvalidInput(
                f"not an IP network in {field}: {excerpt(item)}", field=field
            ) from None
    return tuple(result)


#: Distinct peer addresses whose answer :class:`TrustedProxies` remembers.
_PEERS_REMEMBERED: Final = 4096


class TrustedProxies:
    """The peers whose forwarding headers are believed."""

    __slots__ = ("_networks", "_peers")

    def __init__(self, networks: Iterable[str] = LOOPBACK) -> None:
        self._networks = parse_networks(list(networks))
        #: Socket peer text -> (canonical text or None, trusted?). This runs for every
        #: request and a peer recurs (the proxy, or a client's connection), while testing
        #: an address against networks costs more than the whole cache-hit verification.
        #: Only socket peers are remembered (not header values a caller chose), and at
        #: most a bounded number: once full, new peers are worked out each time.
        self._peers: dict[str, tuple[str | None, bool]] = {}

    def trusts(self, address: IPAddress) -> bool:
        return any(address in net for net in self._networks)

    def _peer(self, text: str) -> tuple[str | None, bool]:
        """The canonical text of an address and whether it is a trusted proxy."""
        found = self._peers.get(text)
        if found is None:
            address = parse_address(text)
            found = (None, False) if address is None else (str(address), self.trusts(address))
            if len(text) <= MAX_ADDRESS and len(self._peers) < _PEERS_REMEMBERED:
                self._peers[text] = found
        return found

    def client(
        self, peer: str | None, real_ip: str | None = None, forwarded_for: str | None = None
    ) -> str | None:
        """The address a request comes from: the socket peer, unless it is a trusted proxy
        that says whom it forwards for. None when that cannot be told (a trusted proxy
        forwarding garbage): IP allowlists then refuse, as they do without an address."""
        if not isinstance(peer, str):
            return None
        address, trusted = self._peer(peer)
        if not trusted:
            return address
        if real_ip:
            return canonical(real_ip)
        if forwarded_for:
            hops = forwarded_for.rsplit(",", _MAX_HOPS)[-_MAX_HOPS:]
            for hop in reversed(hops):
                claimed = parse_address(hop)  # not remembered: a header, not a socket peer
                if claimed is None:
                    return None  # garbage where an address belongs: the caller is unknown
                address = str(claimed)
                if not self.trusts(claimed):
                    break
        return address
