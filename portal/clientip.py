"""The client's address: the one rule the throttles, the lockout and the reset limits all use.

`X-Forwarded-For` is written by whoever sends the request, so it is believed only as far as
`BIZI_TRUSTED_PROXIES` says: with N proxies of ours in front, each appending the address it
saw, the Nth entry from the right is the one our outermost proxy wrote (DRF's `NUM_PROXIES`
rule, which is set from the same setting). With no proxy (the default) the header is ignored
and the address is the TCP peer, `REMOTE_ADDR`: a new header on every request changes nothing.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings


def client_ip(request: Any) -> str:
    """The address to count a request against (a Django or a DRF request)."""
    meta = request.META
    peer = meta.get("REMOTE_ADDR", "") or ""
    proxies = int(getattr(settings, "BIZI_TRUSTED_PROXIES", 0) or 0)
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "") if proxies > 0 else ""
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if hops:
        candidate = hops[-min(proxies, len(hops))]
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            pass  # not what a proxy of ours writes: the peer is all we know
    return peer
