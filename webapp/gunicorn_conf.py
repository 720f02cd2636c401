"""gunicorn settings for Atlas SPRO: ``gunicorn -c python:webapp.gunicorn_conf 'webapp.asgi:create_app()'``.

``atlas serve``, the Docker image and the load tests all use this file, so the server that
is measured is the one that is deployed. The command line adds the address, the number of
workers and, for ``atlas serve``, ``ATLAS_ACCESS_LOG=-``.

- ``worker_class = "asgi"``: gunicorn's event-loop worker (uvloop when installed, C HTTP
  parser when ``gunicorn_h1c`` is installed) with connections kept alive; the Flask
  application runs synchronously inside the loop, one request at a time per process
  (``webapp.asgi``). One worker per core.
- ``accesslog = None``: gunicorn's access log would print the request path, which can
  hold a searched commune; ``webapp.asgi`` writes the access log with the route instead.
- ``control_socket_disable``: gunicorn 27's control socket would be one file per user
  (``~/.gunicorn/gunicorn.ctl``), shared by every server the user starts.
- The listening sockets get ``TCP_DEFER_ACCEPT`` (Linux): the kernel hands a connection to a
  worker only once its request has arrived (``DEFER_ACCEPT_S`` at most), as nginx's
  ``listen ... deferred`` does, so that a client that connects and says nothing costs no
  worker wake-up.
"""

from __future__ import annotations

import socket
from typing import Any

DEFER_ACCEPT_S = 5

worker_class = "asgi"
keepalive = 65  # seconds an idle connection stays open: longer than a proxy's own idle timeout (nginx upstream: 60 s)
timeout = 30
graceful_timeout = 10
accesslog = None
control_socket_disable = True  # no gunicornc socket in $HOME: nothing here uses it, and two servers would share it


def when_ready(server: Any) -> None:
    """Set ``TCP_DEFER_ACCEPT`` on every TCP listener (no-op where the option does not exist)."""
    option = getattr(socket, "TCP_DEFER_ACCEPT", None)
    if option is None:
        return
    for listener in getattr(server, "LISTENERS", []):
        sock = getattr(listener, "sock", None)
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, option, DEFER_ACCEPT_S)
