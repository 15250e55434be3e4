"""Which network addresses a fetch may connect to: the one owner of the address policy.

Only globally routable unicast addresses, judged by `ipaddress`' `is_global` after unwrapping the
IPv6 forms that carry an IPv4 address the packets end up at (IPv4-mapped, 6to4, Teredo, NAT64):
otherwise 2002:7f00:1:: (6to4 around 127.0.0.1) would pass as public. Carrier-grade NAT
(100.64.0.0/10, where cloud metadata services such as 100.100.100.200 live) is not global.
"""

from __future__ import annotations

import ipaddress
import socket

from bot.core.errors import IngestError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")  # everything else is special or unassigned
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # DNS64 synthesises these for IPv4-only hosts


class AddressError(IngestError):
    """A host that cannot be resolved, or resolves to an address the policy refuses."""


def wrapped_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address embeds and routes towards (none for plain IPv6)."""
    if ip.ipv4_mapped:
        return [ip.ipv4_mapped]
    if ip.sixtofour:
        return [ip.sixtofour]
    if ip.teredo:
        return list(ip.teredo)  # (relay server, client)
    if ip in NAT64:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    return []


def is_public(ip: IPAddress) -> bool:
    """Whether a fetch may connect to `ip`: global unicast, as is every IPv4 address it wraps."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:  # the kernel connects to the IPv4 address itself
            return is_public(ip.ipv4_mapped)
        if ip not in GLOBAL_UNICAST_V6 and ip not in NAT64:
            return False
        if not all(is_public(inner) for inner in wrapped_ipv4(ip)):
            return False
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address a host name (or address literal) resolves to, in the resolver's order."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressError(f"cannot resolve host {host!r}") from exc
    found = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    return list(dict.fromkeys(found))


def allowed_addresses(host: str, port: int, allow_private: bool) -> list[IPAddress]:
    """The addresses of `host` to connect to; AddressError when any of them is not public."""
    addresses = resolve(host, port)
    if allow_private:
        return addresses
    for ip in addresses:
        if not is_public(ip):
            shown = host if host.strip("[]") == str(ip) else f"{host} ({ip})"
            raise AddressError(f"refused, {shown} is a private or local address; "
                               "set VENDORBAN_ALLOW_PRIVATE_URLS=true to allow it")
    return addresses
