"""The server ``atlas serve`` runs: gunicorn's ``asgi`` worker in front of the Flask
application (``webapp.asgi``), against a pilot copy where ``atlas access`` ran.

The adapter is driven as gunicorn drives it (ASGI messages) and compared with the Flask
test client; then the real ``atlas serve`` is started on a loopback port to check
keep-alive, HEAD, the refusal of oversized requests and the access log.
"""

from __future__ import annotations

import asyncio
import http.client
import io
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.conftest import served
from tests.web_fixtures import web_app, web_client, web_db  # noqa: F401
from webapp.asgi import WsgiInLoop, wsgi_environ

NEAREST = "/api/nearest?commune=35238&limit=5&mission=conseil"


def scope(
    path: str, *, method: str = "GET", headers: list[tuple[bytes, bytes]] | None = None, root_path: str = ""
) -> dict[str, Any]:
    raw, _, query = path.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": raw,
        "raw_path": raw.encode("latin-1"),
        "query_string": query.encode("latin-1"),
        "root_path": root_path,
        "headers": headers or [(b"host", b"atlas.test")],
        "server": ("127.0.0.1", 8000),
        "client": ("192.0.2.7", 51234),
    }


def call(
    app: WsgiInLoop,
    request: dict[str, Any],
    body_parts: tuple[bytes, ...] = (b"",),
    incoming: list[dict[str, Any]] | None = None,
) -> tuple[int, dict, bytes, int]:
    """Run one request through the ASGI application: status, headers, body, body messages.

    ``incoming`` (filled from ``body_parts``): the request messages; those left in it were not read.
    """
    if incoming is None:
        incoming = []
    incoming.extend(
        {"type": "http.request", "body": part, "more_body": n < len(body_parts) - 1}
        for n, part in enumerate(body_parts)
    )
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    # On a thread of its own: the browser tests' Playwright may have left an event loop
    # running in the main thread, where asyncio.run() refuses to start another.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, app(request, receive, send)).result()
    start = sent[0]
    assert start["type"] == "http.response.start"
    bodies = sent[1:]
    assert bodies and all(m["type"] == "http.response.body" for m in bodies)
    assert not bodies[-1].get("more_body", False) and all(m["more_body"] for m in bodies[:-1])
    headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in start["headers"]}
    return start["status"], headers, b"".join(m["body"] for m in bodies), len(bodies)


# ----------------------------------------------------------------- the environ
def test_environ_follows_pep_3333() -> None:
    request = scope(
        "/caf%C3%A9/x?q=Qu%C3%A9bec&limit=2",
        headers=[
            (b"host", b"atlas.test"),
            (b"accept", b"text/html"),
            (b"accept", b"application/json"),
            (b"x-forwarded_for", b"6.6.6.6"),
            (b"content-type", b"text/plain"),
            (b"content-length", b"3"),
            (b"cookie", b"a=1"),
            (b"cookie", b"b=2"),
        ],
    )
    environ = wsgi_environ(request)
    assert environ["PATH_INFO"] == "/café/x".encode().decode("latin-1")  # decoded bytes as latin-1
    assert environ["QUERY_STRING"] == "q=Qu%C3%A9bec&limit=2"
    assert environ["RAW_URI"] == "/caf%C3%A9/x?q=Qu%C3%A9bec&limit=2"
    assert environ["HTTP_ACCEPT"] == "text/html,application/json"
    assert environ["HTTP_COOKIE"] == "a=1; b=2"
    assert "HTTP_X_FORWARDED_FOR" not in environ  # an underscore makes it ambiguous: dropped
    assert (environ["CONTENT_TYPE"], environ["CONTENT_LENGTH"]) == ("text/plain", "3")
    assert "HTTP_CONTENT_TYPE" not in environ
    assert (environ["REMOTE_ADDR"], environ["SERVER_NAME"], environ["SERVER_PORT"]) == (
        "192.0.2.7",
        "127.0.0.1",
        "8000",
    )
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1" and environ["wsgi.url_scheme"] == "http"
    assert environ["wsgi.input"].read() == b""  # the body is never read


def test_environ_takes_the_root_path_off() -> None:
    environ = wsgi_environ(scope("/atlas/api/health", root_path="/atlas"))
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/atlas", "/api/health")
    other = wsgi_environ(scope("/atlasx/api", root_path="/atlas"))
    assert other["PATH_INFO"] == "/atlasx/api"


# ----------------------------------------------------------------- through the adapter = through Flask
def test_adapter_answers_as_flask_does(web_app, web_client) -> None:
    app = WsgiInLoop(web_app)
    status, headers, body, messages = call(app, scope(NEAREST))
    expected = web_client.get(NEAREST, headers={"Host": "atlas.test"})
    assert status == 200 and body == expected.get_data()
    assert messages == 1  # one body message for a body in one piece
    assert headers["content-type"] == "application/json"
    assert headers["content-security-policy"].startswith("default-src 'self'")
    assert headers["cache-control"] == expected.headers["Cache-Control"]

    status, _headers, body, _messages = call(app, scope("/api/nearest?commune=99999"))
    assert status == 404 and "inconnue" in body.decode()

    status, _headers, body, _messages = call(app, scope("/api/nearest?lat=123&lon=-3"))
    assert status == 400 and b"lat" in body


def test_head_has_the_headers_and_no_body(web_app) -> None:
    app = WsgiInLoop(web_app)
    get_status, get_headers, get_body, _ = call(app, scope("/a-propos"))
    status, headers, body, _ = call(app, scope("/a-propos", method="HEAD"))
    assert get_status == status == 200 and get_body and body == b""
    assert headers["content-type"] == get_headers["content-type"]


def test_a_body_announced_over_the_limit_gets_413_without_being_read(web_app) -> None:
    """Nothing reads a body: the announced length alone gets the application's 413."""
    app = WsgiInLoop(web_app)
    limit = web_app.config["MAX_CONTENT_LENGTH"]
    unread: list[dict[str, Any]] = []
    headers = [(b"host", b"atlas.test"), (b"content-length", str(limit + 1).encode())]
    status, answer, _body, _ = call(app, scope("/api/health", headers=headers), (b"x" * 100, b"x" * 100), unread)
    assert status == 413 and answer["content-type"].startswith("application/json")
    assert len(unread) == 2  # not a byte of the body was read


def test_streamed_responses_are_sent_piece_by_piece() -> None:
    def streaming(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/csv")])
        yield b"a;b\n"
        yield b""
        yield b"1;2\n"

    status, headers, body, messages = call(WsgiInLoop(streaming), scope("/export.csv"))
    assert (status, headers["content-type"], body, messages) == (200, "text/csv", b"a;b\n1;2\n", 2)


def test_access_log_holds_the_route_not_the_place_nor_the_client(web_app) -> None:
    log = io.StringIO()
    app = WsgiInLoop(web_app, access_log=log)
    call(app, scope("/api/communes/29189/access"))
    call(app, scope("/api/nearest?commune=29189&mission=conseil"))
    call(app, scope("/Plougastel-Daoulas"))
    call(app, scope("/static/x%22%20200%20-%5Cy"))  # a missing static file forging a field: logged by route
    lines = log.getvalue().splitlines()
    assert len(lines) == 4
    assert '"GET /api/communes/<code>/access" 200 ' in lines[0]
    assert '"GET /api/nearest" 200 ' in lines[1]
    assert '"GET /<introuvable>" 404 ' in lines[2]
    assert lines[3].count('"') == 2 and '"GET /static/<path:filename>" 404 ' in lines[3]
    for secret in ("29189", "conseil", "Plougastel", "192.0.2.7"):
        assert secret not in log.getvalue()


# ----------------------------------------------------------------- the real server (atlas serve)
def _status_line(port: int, request: bytes) -> bytes:
    """The status code of the answer to a raw ``request`` (within 5 s)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        while b"\r\n" not in received:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
    return received.split(b" ", 2)[1] if received.startswith(b"HTTP/") else received


def test_atlas_serve_keeps_connections_alive(web_db: str, tmp_path: Path) -> None:
    """The real ``atlas serve`` (gunicorn with ``webapp/gunicorn_conf.py``): several requests on
    one connection, GET and HEAD, and the adapter's access log in the file asked for."""
    log = tmp_path / "access.log"
    with served(web_db, tmp_path / "serve.out", ATLAS_ACCESS_LOG=str(log)) as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.connect()
        local = connection.sock.getsockname()
        bodies = []
        for path in (NEAREST, "/api/nearest?commune=29019&limit=3", "/a-propos"):
            connection.request("GET", path)
            response = connection.getresponse()
            bodies.append(response.read())
            assert response.status == 200, path
            assert response.getheader("Connection", "").lower() != "close"
        connection.request("HEAD", "/a-propos")
        response = connection.getresponse()
        assert response.status == 200 and response.read() == b""
        assert int(response.getheader("Content-Length")) == len(bodies[2])
        assert connection.sock.getsockname() == local  # the same connection all along
        connection.close()
        assert b'"ranked_by"' in bodies[0] and b"<html" in bodies[2].lower()
        # Oversized requests are refused by gunicorn or the application, at once.
        assert _status_line(port, b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n") == b"414"
        assert _status_line(port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n") == b"431"
        announced = b"GET /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000
        assert _status_line(port, announced) == b"413"
        assert _status_line(port, b"POST /api/nearest HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n") == b"405"
    lines = log.read_text().splitlines()
    assert [line.split('"')[1] for line in lines] == [
        "GET /api/nearest",
        "GET /api/nearest",
        "GET /a-propos",
        "HEAD /a-propos",
        "GET /api/health",
        "POST /<introuvable>",
    ]
    assert [line.split('"')[2].split()[0] for line in lines[-2:]] == ["413", "405"]
    assert "35238" not in log.read_text() and "127.0.0.1" not in log.read_text()
