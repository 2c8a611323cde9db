"""Name lookups for Web Push connections: a push service's name must resolve to public
addresses only (``delivery/addresses.py``), and the connection goes to an address that was
checked.

The provider's HTTP client (``client.py``) connects to the addresses this resolver returns
and keeps the name for the Host header, TLS SNI and the certificate check, so checking
inside the resolver pins the connection: a DNS answer that changes between the check and
the connection (rebinding) cannot send the worker elsewhere, because there is no second
lookup. The client's DNS cache (10 s) keeps only answers that passed. An address literal in
a URL skips the resolver; the provider checks those itself. (It is an aiohttp resolver, as
the provider posted through aiohttp before; ``client.py`` calls its ``resolve``.)
"""

import socket

from aiohttp.abc import AbstractResolver
from aiohttp.resolver import ThreadedResolver

from delivery.addresses import refusal


class RefusedAddress(OSError):
    """aiohttp hands it back as ``ClientConnectorDNSError.os_error``."""


class PublicAddressResolver(AbstractResolver):
    def __init__(self, allowed_networks=()):
        self.allowed_networks = list(allowed_networks)
        self._lookup = ThreadedResolver()  # getaddrinfo in a thread, as aiohttp does by default

    async def resolve(self, host, port=0, family=socket.AF_INET):
        found = await self._lookup.resolve(host, port, family=family)
        # Every address, not just the first: aiohttp tries the next one when a connect fails.
        for item in found:
            reason = refusal(item["host"], self.allowed_networks)
            if reason:
                raise RefusedAddress(f"{host} resolves to {item['host']}, {reason}")
        return found

    async def close(self):
        await self._lookup.close()
