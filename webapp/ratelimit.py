"""A per-client rate limit on the JSON API (``/api/...``), answered by a 429 with ``Retry-After``.

Built directly on ``limits`` (the engine of flask-limiter) rather than on flask-limiter
itself: flask-limiter re-resolves and re-parses its limits on every request, which cost
0.25 ms per request here, more than the whole cached ``/api/nearest`` answer (0.2 ms);
one fixed-window counter hit costs 5 µs. Configuration (``create_app``):

- ``RATELIMIT_API``: the limit, in ``limits`` notation (default ``300/minute``; several
  separated by ``;``), or ``off``;
- ``RATELIMIT_STORAGE_URI``: ``memory://`` (default: **each gunicorn worker counts on its
  own**, so a client may get up to ``workers`` times the limit), or ``redis://host:6379``
  (needs the ``redis`` package) to share the counts between workers and servers;
- ``RATELIMIT_STRATEGY``: ``fixed-window`` (default: one counter per client and window,
  bounded memory; up to twice the limit across a window boundary) or ``moving-window``;
- ``RATELIMIT_ENABLED``: default on, off when ``TESTING`` unless a test turns it on;
- ``RATELIMIT_HEAVY_COST``: hits counted by a large download or the report (default 10,
  :data:`HEAVY_PATHS`).

The client is ``request.remote_addr`` (behind a reverse proxy, set ``TRUSTED_PROXIES`` so
that it is the visitor's address, not the proxy's). The address is held in memory for the
window only and is never logged.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from flask import Flask, request
from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import STRATEGIES
from werkzeug.exceptions import TooManyRequests

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

API_PREFIX = "/api/"
HEAVY_PATHS = (
    "/api/gaps",
    "/api/access/communes",
    "/api/structures",
    "/api/isochrones",
    "/api/territories",
    "/api/zonings/",
    "/api/indicators",
    "/api/snapshots/",
    "/diagnostic/rapport/",
    "/carte/carte-atlas-spro.html",
)
"""Large downloads and the yearly report: each request counts ``RATELIMIT_HEAVY_COST`` hits
(default 10) against the same per-client limit, so that a client looping on them gets 30 of
them a minute, not 300, and cannot starve the finder. The report and the map file (about
3 MB) are not under ``/api`` but are counted too."""
DEFAULT_HEAVY_COST = 10


def request_cost(path: str, heavy_cost: int) -> int:
    """Hits a request to ``path`` counts: 0 when not limited, ``heavy_cost`` for a large
    download or the report, else 1."""
    if path.startswith(HEAVY_PATHS):
        return heavy_cost
    return 1 if path.startswith(API_PREFIX) else 0


class RateLimited(TooManyRequests):
    """429 with the number of seconds to wait (``Retry-After``)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__()  # the French message is the error handler's (webapp.errors)
        self.retry_after = retry_after

    def get_headers(
        self, environ: WSGIEnvironment | None = None, scope: dict[str, Any] | None = None
    ) -> list[tuple[str, str]]:
        """Werkzeug's headers, plus ``Retry-After``."""
        return [*super().get_headers(environ, scope), ("Retry-After", str(self.retry_after))]


def is_off(spec: str | None) -> bool:
    """Whether a ``RATELIMIT_API`` value disables the limit."""
    return str(spec or "").strip().lower() in ("", "off", "0", "none", "false")


def init_app(app: Flask) -> None:
    """Install the limit on ``/api`` when enabled (a malformed limit fails at start-up)."""
    spec = str(app.config.get("RATELIMIT_API") or "")
    if is_off(spec):
        app.config["RATELIMIT_ENABLED"] = False
    items = [] if is_off(spec) else parse_many(spec)
    strategy_name = app.config.get("RATELIMIT_STRATEGY", "fixed-window")
    if strategy_name not in STRATEGIES:
        msg = f"RATELIMIT_STRATEGY must be one of {sorted(STRATEGIES)}, got {strategy_name!r}"
        raise ValueError(msg)
    storage = storage_from_string(app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    limiter = STRATEGIES[strategy_name](storage)
    app.extensions["atlas_ratelimit"] = limiter
    if not items or not app.config.get("RATELIMIT_ENABLED", True):
        return
    prefix = str(app.config.get("RATELIMIT_KEY_PREFIX") or "atlas")
    heavy_cost = int(app.config.get("RATELIMIT_HEAVY_COST") or DEFAULT_HEAVY_COST)

    @app.before_request
    def rate_limit() -> None:
        cost = request_cost(request.path, heavy_cost)
        if not cost:
            return
        client = request.remote_addr or "-"
        for item in items:
            if not limiter.hit(item, prefix, client, cost=cost):
                reset = limiter.get_window_stats(item, prefix, client).reset_time
                raise RateLimited(max(1, math.ceil(reset - time.time())))
