"""The real ``atlas serve`` against slow clients and odd paths: a connection that never
completes its request headers is closed (``ATLAS_HEADER_TIMEOUT_S``), and a 404 under
``/static/`` is logged by its route, not by the path the client typed."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from tests.conftest import served
from tests.web_fixtures import web_db  # noqa: F401 - fixture


def _closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closes ``sock`` (None if still open after ``seconds``)."""
    started = time.monotonic()
    sock.settimeout(0.5)
    while time.monotonic() - started < seconds:
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except OSError:
            return time.monotonic() - started
    return None


def test_partial_headers_are_cut_off_and_static_404s_logged_by_route(web_db: str, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    with served(web_db, tmp_path / "serve.out", ATLAS_ACCESS_LOG=str(log), ATLAS_HEADER_TIMEOUT_S="2") as port:
        slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
        for sock in slow:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # never finished
        # A client that sends its request in time is served on a connection of the same age.
        with socket.create_connection(("127.0.0.1", port)) as fine:
            fine.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert fine.recv(64).startswith(b"HTTP/1.1 200")
        closed = [_closed_within(sock, 15) for sock in slow]
        for sock in slow:
            sock.close()
        assert all(c is not None for c in closed), closed
        assert max(c for c in closed if c is not None) < 10
        with socket.create_connection(("127.0.0.1", port)) as probe:
            probe.sendall(b"GET /static/35238-Rennes.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert probe.recv(64).startswith(b"HTTP/1.1 404")
    text = log.read_text()
    assert "35238" not in text and "Rennes" not in text
    assert "GET /static/<path:filename>" in text
