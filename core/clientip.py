"""Who is on the other end of a request: the one place that answers it.

Behind a reverse proxy REMOTE_ADDR is the proxy, the same for every visitor,
so anything counted per address (login rate limits, throttles) would count
everyone together. Each trusted proxy appends the address it received the
request from to X-Forwarded-For; with TRUSTED_PROXY_COUNT proxies in front of
the portal, the client is the entry the outermost of them wrote, i.e. the
count-th from the right. Entries to the left of it were written by the client
itself and can say anything. With no trusted proxy the header is ignored.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _address(value: str) -> str | None:
    """A clean IP address out of `value` (which may carry a port), or None."""
    value = value.strip()
    if value.startswith("["):
        # "[2001:db8::1]:4711"
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:
        # "198.51.100.7:4711"; an IPv6 address has more than one colon.
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as the trusted proxies report it, else REMOTE_ADDR."""
    remote = _address(request.META.get("REMOTE_ADDR", ""))
    trusted = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if trusted <= 0:
        return remote
    entries = [
        entry for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if entry.strip()
    ]
    if not entries:
        # The proxy did not say (or the request bypassed it): the peer we see.
        return remote
    # Fewer entries than proxies: the left-most one was still written by a
    # trusted proxy (the request entered the chain further in).
    reported = _address(entries[-min(trusted, len(entries))])
    return reported or remote
