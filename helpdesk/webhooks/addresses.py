"""Where a webhook may be sent (SSRF): only http(s) URLs whose host resolves to public addresses. Loopback,
link-local (cloud metadata at 169.254.169.254), private, unique-local, multicast, reserved and unspecified
addresses are refused, in IPv4 and IPv6 alike (an IPv4-mapped or NAT64/6to4 IPv6 address is judged by the IPv4
address inside it), unless the endpoint allows private networks (admins only) or the setting
WEBHOOKS_ALLOW_PRIVATE_NETWORKS does. Checked when an endpoint is saved and again at every send, where the
sender connects to the address checked here, never resolving the name a second time (DNS rebinding)."""
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

SCHEMES = {"http": 80, "https": 443}


class UnsafeAddress(ValueError):
    """The URL may not be called; ``reason`` says why in words an endpoint's owner understands (no secret)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (``ip``, ``port``) and what to call it (``host`` for Host and TLS)."""

    url: str
    scheme: str
    host: str
    port: int
    ip: str


def parse(url: str):
    """(scheme, host, port) of an http(s) URL; UnsafeAddress for anything else."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError:
        raise UnsafeAddress("not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UnsafeAddress("only http and https URLs can receive webhooks")
    if not parts.hostname:
        raise UnsafeAddress("the URL names no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeAddress("the URL may not carry a user name or password")
    return scheme, parts.hostname.rstrip(".").lower(), port or SCHEMES[scheme]


def _embedded_ipv4(address: ipaddress.IPv6Address):
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in ipaddress.ip_network("64:ff9b::/96"):  # NAT64 well-known prefix
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.teredo is not None:
        return address.teredo[1]
    return None


def is_public(ip) -> bool:
    """Whether ``ip`` (text or address) is an ordinary address on the internet."""
    address = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return False
        inner = _embedded_ipv4(address)
        if inner is not None:
            return is_public(inner)
        if address.is_site_local:
            return False
    refused = (address.is_loopback, address.is_link_local, address.is_private, address.is_multicast,
               address.is_reserved, address.is_unspecified)
    return not any(refused) and address.is_global


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (an IP literal is itself); UnsafeAddress when it does not resolve."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise UnsafeAddress("the host name does not resolve") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def check(url: str, *, allow_private: bool = False) -> Target:
    """The address to send ``url``'s requests to; UnsafeAddress when it may not be called. Every address the
    host resolves to must be public (one private answer among public ones is refused too: the next lookup
    might return it first)."""
    scheme, host, port = parse(url)
    ips = resolve(host, port)
    if not ips:
        raise UnsafeAddress("the host name does not resolve")
    if not allow_private:
        for ip in ips:
            if not is_public(ip.split("%")[0]):
                raise UnsafeAddress("the URL points to a private, loopback or reserved network address")
    return Target(url=url.strip(), scheme=scheme, host=host, port=port, ip=ips[0].split("%")[0])
