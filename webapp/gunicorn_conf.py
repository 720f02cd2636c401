"""gunicorn settings for Atlas SPRO (``gunicorn -c python:webapp.gunicorn_conf``; ``atlas serve``).

Only what the command line cannot say: the listening sockets get ``TCP_DEFER_ACCEPT``
(Linux), so that a worker is only handed a connection once its request has arrived. A
sync worker serves one connection at a time: without it, a client that connects and
waits (a slow or idle client, or a keep-alive pool opening connections in advance) holds
a worker blocked in ``recv`` and every other request queues behind it; nginx's
``listen ... deferred`` does the same. A connection that sends nothing within
``DEFER_ACCEPT_S`` is then handed over as usual (gunicorn's ``--timeout`` ends it).
"""

from __future__ import annotations

import socket
from typing import Any

DEFER_ACCEPT_S = 5


def when_ready(server: Any) -> None:
    """Set ``TCP_DEFER_ACCEPT`` on every TCP listener (no-op where the option does not exist)."""
    option = getattr(socket, "TCP_DEFER_ACCEPT", None)
    if option is None:
        return
    for listener in getattr(server, "LISTENERS", []):
        sock = getattr(listener, "sock", None)
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, option, DEFER_ACCEPT_S)
