"""The Flask application behind gunicorn's ``asgi`` worker, called in the event loop.

``atlas serve`` runs ``gunicorn --worker-class asgi 'webapp.asgi:create_app()'``. Why not
the ``sync`` worker: it closes the connection after every response and parses HTTP in
Python, so a search paid a TCP handshake and a slow parse on top of its 0.25 ms of
Flask. gunicorn's ``asgi`` worker keeps connections alive on an event loop (uvloop)
and parses HTTP with its C parser when ``gunicorn_h1c`` is installed; behind it, this
adapter calls the WSGI application **synchronously, inside the loop**: each worker
process serves one request at a time, exactly as a sync worker does (the database
calls block, on purpose: no thread pool, no hand-off between threads), while idle and
slow connections wait in the loop at no cost to the others. Measured with
``benchmarks/load_finder.py`` (2 workers, 2 cores): see ``benchmarks/README.md``.

The environ follows PEP 3333 and the ASGI specification's "WSGI compatibility" section:
``PATH_INFO`` is the percent-decoded request path as latin-1 characters (like gunicorn's
WSGI workers), ``SCRIPT_NAME`` the ``root_path``, headers become ``HTTP_*`` (repeated
ones joined with commas), ``REMOTE_ADDR`` / ``SERVER_NAME`` come from the connection.
The request body is never read (the application serves GET and HEAD only and reads
no body): ``wsgi.input`` is empty, ``CONTENT_LENGTH`` is passed as announced, so a body
announced over ``MAX_CONTENT_LENGTH`` gets the application's 413 at once, and gunicorn
discards an unread body or closes the connection.

**Access log.** gunicorn's own access log would print the request path, which can hold
a searched commune (``/api/communes/29189/access``). So ``atlas serve`` turns it off and
this adapter writes the access log, after the application has replaced the path by its
route (``/api/communes/<code>/access``, see ``webapp._log_routes_not_values``): time,
method, route, status, bytes, seconds. Never the client address nor the query string.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any, TextIO
from urllib.parse import unquote_to_bytes

from flask import Flask

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

SPECIAL_HEADERS = {b"content-type": "CONTENT_TYPE", b"content-length": "CONTENT_LENGTH"}
LOG_ESCAPES = {code: f"\\x{code:02x}" for code in [*range(0x20), 0x22, 0x5C, 0x7F]}
"""Control characters, quotes and backslashes of a logged path, written as ``\\xNN``
(a static file's path is logged as sent: no line or field can be forged)."""


def create_app(test_config: dict[str, Any] | None = None, *, access_log: str | None = None) -> WsgiInLoop:
    """The ASGI application for gunicorn's ``asgi`` worker (``webapp.asgi:create_app()``).

    ``access_log``: ``-`` for standard output, a file path, or None/empty for none;
    by default ``ATLAS_ACCESS_LOG`` (``atlas serve`` sets ``-``).
    """
    from settings import Settings
    from webapp import create_app as create_flask_app

    target = access_log if access_log is not None else Settings.from_env().access_log
    stream: TextIO | None = None
    if target == "-":
        stream = sys.stdout
    elif target:
        stream = open(target, "a", encoding="utf-8", buffering=1)
    return WsgiInLoop(create_flask_app(test_config), access_log=stream)


class WsgiInLoop:
    """An ASGI application that runs a WSGI application synchronously in the event loop."""

    def __init__(self, wsgi_app: Flask | Callable[..., Iterable[bytes]], *, access_log: TextIO | None = None) -> None:
        self.wsgi_app = wsgi_app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await _lifespan(receive, send)
        elif kind == "websocket":  # nothing here speaks WebSocket
            await send({"type": "websocket.close", "code": 1000})

    async def _http(self, scope: Scope, _receive: Receive, send: Send) -> None:
        started = time.monotonic()
        environ = wsgi_environ(scope)
        response: dict[str, Any] = {}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            if exc_info is not None and response.get("sent"):
                raise exc_info[1].with_traceback(exc_info[2])
            response["status"] = int(status[:3])
            response["headers"] = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
            return _no_write

        result = self.wsgi_app(environ, start_response)
        sent = 0
        try:
            pending = None
            for chunk in result:
                if not chunk:
                    continue
                if pending is not None:
                    sent += await _send_body(send, response, pending, more=True)
                pending = chunk
            sent += await _send_body(send, response, pending or b"", more=False)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if self.access_log is not None:
            self._log(environ, response.get("status", 500), sent, time.monotonic() - started)

    def _log(self, environ: dict[str, Any], status: int, sent: int, seconds: float) -> None:
        # PATH_INFO now holds the matched route, not the values (webapp._log_routes_not_values).
        stamp = time.strftime("[%d/%b/%Y:%H:%M:%S %z]")
        request = f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}".translate(LOG_ESCAPES)
        line = f'{stamp} "{request}" {status} {sent} {seconds:.6f}\n'
        log = self.access_log
        if log is None:
            return
        try:
            log.write(line)
            log.flush()
        except (OSError, ValueError):  # a closed or full log never fails a request
            pass


def _no_write(_data: bytes) -> None:
    msg = "the legacy write() callable of PEP 3333 is not supported: return the body instead"
    raise NotImplementedError(msg)


async def _send_body(send: Send, response: dict[str, Any], chunk: bytes, *, more: bool) -> int:
    if not response.get("sent"):
        if "status" not in response:
            msg = "the WSGI application returned without calling start_response"
            raise RuntimeError(msg)
        response["sent"] = True
        await send({"type": "http.response.start", "status": response["status"], "headers": response["headers"]})
    await send({"type": "http.response.body", "body": chunk, "more_body": more})
    return len(chunk)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _latin1(text: str) -> str:
    return text.encode("utf-8").decode("latin-1")


def wsgi_environ(scope: Scope) -> dict[str, Any]:
    """The PEP 3333 environ of an ASGI HTTP ``scope`` (see the module docstring; no body)."""
    raw_path = scope.get("raw_path")
    path = unquote_to_bytes(raw_path).decode("latin-1") if raw_path else _latin1(scope["path"])
    root_path = _latin1(scope.get("root_path") or "")
    if root_path and (path == root_path or path.startswith(root_path + "/")):
        path = path[len(root_path) :]
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client")
    query = scope.get("query_string") or b""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": root_path,
        "PATH_INFO": path,
        "QUERY_STRING": query.decode("latin-1"),
        "RAW_URI": (raw_path or scope["path"].encode()).decode("latin-1")
        + ("?" + query.decode("latin-1") if query else ""),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]) if server[1] is not None else "80",
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if client:
        environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = str(client[0]), str(client[1])
    for name, value in scope.get("headers", ()):
        if b"_" in name:  # ambiguous once mapped to an environ key (X-Forwarded_For): dropped, as gunicorn does
            continue
        key = SPECIAL_HEADERS.get(name) or "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
        text = value.decode("latin-1")
        if key in environ:
            text = environ[key] + ("; " if key == "HTTP_COOKIE" else ",") + text
        environ[key] = text
    return environ
