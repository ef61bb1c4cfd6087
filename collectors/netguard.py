"""Fetching that stays outside: no URL Pulse fetches may point at the machine itself or its private network.

A feed, a feed item's link or a redirect could otherwise make the collector read an internal page (a router, a cloud
metadata service at 169.254.169.254, an admin panel on 127.0.0.1) and store it as a public item. Two checks:
`url_refusal` resolves a URL's host before any request (numeric forms such as 2130706433, 0x7f.1 or
[::ffff:127.0.0.1] resolve to what they mean), and `guarded_adapter` checks the address every socket really
connected to, so a name that resolves differently a moment later (DNS rebinding) is caught as well.
Named hosts can be allowed (an operator's own intranet feed; tests allow 127.0.0.1 for their loopback servers).
"""
from __future__ import annotations

import ipaddress
import socket
from collections.abc import Collection
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedAddress(OSError):
    """A connection to an internal address was refused; its message is one plain sentence."""


def normalise_hosts(hosts: Collection[str] | str | None) -> frozenset[str]:
    """Allowed host names/addresses, lower case, without brackets; a string may list them separated by commas."""
    if not hosts:
        return frozenset()
    if isinstance(hosts, str):
        hosts = hosts.split(",")
    return frozenset(h.strip().strip("[]").lower().rstrip(".") for h in hosts if h and h.strip())


def internal_reason(address: str) -> str | None:
    """Why an IP address is not a public one ('loopback', 'private', ...), or None when it is public."""
    try:
        ip: Address = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "unreadable"
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if mapped is not None:
            reason = internal_reason(str(mapped))
            if reason:
                return reason
    for name in ("unspecified", "loopback", "link_local", "multicast", "private", "reserved"):
        if getattr(ip, f"is_{name}"):
            return name.replace("_", "-")
    if not ip.is_global:  # shared address space (100.64/10), documentation ranges, NAT64 and the like
        return "non-public"
    return None


def resolve(host: str, port: int | None = None) -> list[str]:
    """Every address `host` resolves to (numeric forms included); raises OSError when it does not resolve."""
    infos = socket.getaddrinfo(host, port or 80, proto=socket.IPPROTO_TCP)
    return sorted({info[4][0] for info in infos})


def url_refusal(url: str, allowed_hosts: Collection[str] = ()) -> str | None:
    """A plain sentence saying why `url` must not be fetched (it points inside), or None when it may be.

    A host that does not resolve is not refused here: the fetch itself will fail and say so.
    """
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")  # 'localhost.' is localhost
        port = parts.port
    except ValueError:
        return f"{url!r} is not a valid address."
    if not host:
        return f"{url!r} has no host."
    allowed = normalise_hosts(allowed_hosts)
    if host in allowed:
        return None
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        return None
    for address in addresses:
        reason = internal_reason(address)
        if reason and address.lower() not in allowed:
            return (f"{url} points to an internal address ({address}, {reason}); Pulse fetches only public "
                    "addresses (allow a named internal host in the fetch settings if it is really wanted).")
    return None


def peer_refusal(host: str, peer: str, allowed_hosts: frozenset[str]) -> str | None:
    """The connect-time check: the address a socket reached must be public unless its host is allowed."""
    host = (host or "").strip("[]").lower().rstrip(".")
    if host in allowed_hosts or peer.lower() in allowed_hosts:
        return None
    reason = internal_reason(peer)
    if reason:
        return f"{host} connected to an internal address ({peer}, {reason}); refused."
    return None


def _guarded(connection_class: type, allowed: frozenset[str]) -> type:
    def _new_conn(self):
        sock = connection_class._new_conn(self)
        try:
            peer = sock.getpeername()[0]
        except OSError:
            return sock
        reason = peer_refusal(self.host, peer, allowed)
        if reason:
            sock.close()
            raise BlockedAddress(reason)
        return sock

    return type(f"Guarded{connection_class.__name__}", (connection_class,), {"_new_conn": _new_conn})


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connections refuse internal peers (checked after connect, so DNS cannot trick it)."""

    def __init__(self, allowed_hosts: Collection[str] = (), **kwargs):
        allowed = normalise_hosts(allowed_hosts)
        self._pool_classes = {
            "http": type("GuardedHTTPPool", (HTTPConnectionPool,),
                         {"ConnectionCls": _guarded(HTTPConnection, allowed)}),
            "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,),
                          {"ConnectionCls": _guarded(HTTPSConnection, allowed)}),
        }
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(self._pool_classes)


def blocked_in(exc: BaseException) -> BlockedAddress | None:
    """The BlockedAddress somewhere inside an exception that requests/urllib3 wrapped around it."""
    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, BlockedAddress):
            return current
        stack.extend([current.__cause__, current.__context__, getattr(current, "reason", None), *current.args])
    return None
