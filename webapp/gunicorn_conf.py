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
- A **header-read timeout** (``ATLAS_HEADER_TIMEOUT_S``, default 10 s): gunicorn's asgi worker
  waits for a new connection's first request headers without any bound (the keep-alive
  timer only runs between requests), so slow clients sending a partial request line could
  hold connections for ever (150 were still open after 60 s in the review). Each worker
  closes a connection whose first request's headers are not complete within that time
  (:func:`install_header_timeout`, from ``post_worker_init``); on a kept-alive connection
  the next request's headers are bounded by ``keepalive``.
"""

from __future__ import annotations

import os
import socket
from typing import Any

DEFER_ACCEPT_S = 5
HEADER_TIMEOUT_S = float(os.environ.get("ATLAS_HEADER_TIMEOUT_S") or 10)

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


def install_header_timeout(protocol_class: Any, seconds: float) -> None:
    """Make ``protocol_class`` (gunicorn's ``ASGIProtocol``) close a connection whose first
    request's headers have not all arrived ``seconds`` after it opened. Idempotent."""
    original = protocol_class.connection_made
    if getattr(original, "atlas_header_timeout", None) is not None:
        return

    def connection_made(self: Any, transport: Any) -> None:
        original(self, transport)

        def expire() -> None:
            # req_count is 1 and no request is current until the first headers are complete.
            if not self._closed and self._current_request is None and self.req_count <= 1:
                self._close_transport()
                self._request_ready.set()  # let the connection's task leave its wait

        self.worker.loop.call_later(seconds, expire)

    connection_made.atlas_header_timeout = seconds  # type: ignore[attr-defined]
    protocol_class.connection_made = connection_made


def post_worker_init(worker: Any) -> None:
    """Install the header-read timeout in each asgi worker (other worker classes have their own ``timeout``)."""
    if HEADER_TIMEOUT_S > 0 and type(worker).__name__ == "ASGIWorker":
        from gunicorn.asgi.protocol import ASGIProtocol

        install_header_timeout(ASGIProtocol, HEADER_TIMEOUT_S)
