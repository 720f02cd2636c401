"""Flask application of Atlas SPRO (app factory).

Views are thin: they validate parameters, call ``storage.read`` and render templates.
Nothing here logs searched places or coordinates, and the public pages set no cookie.
Every asset is served from this server (no CDN, font, tile or tracker): the Content
Security Policy says so to the browser.

Hardening (``SECURITY.md``, tested in ``tests/test_security.py``): security headers on
every response, GET/HEAD only, bounded request size and URL length, a per-client rate
limit on ``/api`` (``webapp.ratelimit``), no stack trace or exception message ever shown to a
user or written with a searched value to the log.
"""

from __future__ import annotations

import gc
import logging
import traceback
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, request
from werkzeug.exceptions import (
    MethodNotAllowed,
    RequestEntityTooLarge,
    RequestURITooLarge,
)

from settings import Settings

log = logging.getLogger(__name__)

MAX_URL_LENGTH = 2048
"""Longest path + query string accepted (414 beyond); gunicorn refuses request lines over 4094 bytes itself."""
ALLOWED_METHODS = ("GET", "HEAD")
HSTS = "max-age=31536000"


class AtlasFlask(Flask):
    """Flask whose error log names the route, never the requested path or the exception's message.

    Flask's default logs ``Exception on /api/communes/29189/access [GET]`` with the full
    traceback: the path can hold a searched place and an exception message can quote a
    value. Here the log says which route failed and where in the code, nothing more.
    """

    def log_exception(self, exc_info: tuple[type, BaseException, TracebackType] | tuple[None, None, None]) -> None:
        _kind, exc, tb = exc_info
        rule = request.url_rule.rule if request.url_rule is not None else "<introuvable>"
        frames = "".join(traceback.format_tb(tb)) if tb is not None else ""
        self.logger.error("Unhandled %s on %s [%s]\n%s", type(exc).__name__, rule, request.method, frames)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application.

    Configuration: defaults, then ``Settings.from_env()`` (``DATABASE_URL``...), then
    ``test_config``. ``DATABASE_URL`` must be set (``atlas serve`` sets it to the local
    cluster when the environment does not). ``TILE_URL`` (default None: commune
    boundaries drawn as vectors, no basemap) is a Leaflet tile URL template such as
    ``/tuiles/{z}/{x}/{y}.png`` served by the deployer.

    Other keys: ``CACHE_CHECK_S``, ``RESULT_CACHE_SIZE``, ``RESULT_CACHE_MB`` and ``CACHE_WARM``
    (fill the finder's caches at start-up; default on, except when ``TESTING``) (``webapp.cache``);
    ``RATELIMIT_API`` (per client on ``/api``, default 300/minute; ``off`` disables it),
    ``RATELIMIT_STORAGE_URI`` (``memory://``: counted per worker process; ``redis://...``
    to share the counts), ``RATELIMIT_ENABLED`` (default: on, except when ``TESTING``);
    ``TRUSTED_PROXIES`` (number of reverse proxies in front whose ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` are trusted; 0 by default); ``MAX_URL_LENGTH``.
    """
    app = AtlasFlask(__name__)
    settings = Settings.from_env()
    app.config.from_mapping(
        DATABASE_URL=settings.database_url,
        TILE_URL=settings.tile_url,
        POOL_MAX_SIZE=4,
        POOL_TIMEOUT_S=3.0,
        MAX_CONTENT_LENGTH=64 * 1024,
        MAX_FORM_MEMORY_SIZE=64 * 1024,
        MAX_FORM_PARTS=100,
        MAX_URL_LENGTH=MAX_URL_LENGTH,
        JSON_AS_ASCII=False,
        PROVIDE_AUTOMATIC_OPTIONS=False,
        CACHE_CHECK_S=1.0,
        RESULT_CACHE_SIZE=8192,
        RESULT_CACHE_MB=32.0,
        RATELIMIT_API=settings.ratelimit,
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage,
        RATELIMIT_STRATEGY="fixed-window",
        RATELIMIT_KEY_PREFIX="atlas",
        TRUSTED_PROXIES=settings.trusted_proxies,
    )
    if test_config:
        app.config.update(test_config)
    if not app.config["DATABASE_URL"]:
        msg = "DATABASE_URL is not set (run `atlas serve`, which points it at the local cluster)"
        raise RuntimeError(msg)
    app.config.setdefault("RATELIMIT_ENABLED", not app.testing)

    from webapp import (
        api,
        cache,
        db,
        errors,
        formats,
        labels,
        planning,
        public,
        ratelimit,
        snapshot_api,
    )

    app.json = formats.OrjsonProvider(app)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    db.init_app(app)
    cache.init_app(app)
    errors.init_app(app)
    labels.init_app(app)
    _request_limits(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(planning.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(snapshot_api.bp)
    ratelimit.init_app(app)
    _security_headers(app)
    _log_routes_not_values(app)
    _trust_proxies(app)
    if app.config.get("CACHE_WARM", not app.testing):
        cache.warm(app)
        # Long-lived objects (app, reference data, warmed caches) leave the garbage
        # collector's generations: fewer and shorter collection pauses while serving.
        gc.freeze()
    return app


def tile_origin(tile_url: str | None) -> str | None:
    """The origin a tile URL template loads from, for the CSP (None: none or this server)."""
    if not tile_url or tile_url.startswith("/"):
        return None
    parts = urlsplit(tile_url)
    host = parts.netloc.replace("{s}.", "*.")
    return f"{parts.scheme}://{host}" if parts.scheme in ("http", "https") and host else None


def _security_headers(app: Flask) -> None:
    """Security headers on every response (a small hook rather than flask-talisman: see SECURITY.md).

    The CSP allows nothing but this server (``default-src 'self'``, no inline script or
    style, no framing); HSTS is sent only on requests that arrived over HTTPS (directly or
    through a trusted proxy), since the application is also served over plain HTTP on
    loopback.
    """
    origin = tile_origin(app.config.get("TILE_URL"))
    images = "'self' data:" + (f" {origin}" if origin else "")
    policy = (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src {images}; connect-src 'self'; font-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
    fixed = (
        ("Content-Security-Policy", policy),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Permissions-Policy", "geolocation=(self), camera=(), microphone=(), payment=(), usb=()"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
    )

    @app.after_request
    def headers(response: Response) -> Response:
        present = response.headers
        names = {name.lower() for name, _value in present.items()}
        present.extend([(name, value) for name, value in fixed if name.lower() not in names])
        if request.is_secure and "strict-transport-security" not in names:
            present["Strict-Transport-Security"] = HSTS
        return response


def _request_limits(app: Flask) -> None:
    """GET and HEAD only (405); no URL longer than ``MAX_URL_LENGTH`` (414); no body over
    ``MAX_CONTENT_LENGTH`` (413, announced by ``Content-Length``; nothing here reads a body)."""
    max_url = int(app.config["MAX_URL_LENGTH"])
    max_body = int(app.config["MAX_CONTENT_LENGTH"] or 0)

    @app.before_request
    def limits() -> None:
        if request.method not in ALLOWED_METHODS and (
            request.url_rule is not None or isinstance(request.routing_exception, MethodNotAllowed)
        ):
            raise MethodNotAllowed(valid_methods=list(ALLOWED_METHODS))
        environ = request.environ
        if len(environ.get("PATH_INFO", "")) + len(environ.get("QUERY_STRING", "")) > max_url:
            raise RequestURITooLarge
        if max_body and (request.content_length or 0) > max_body:
            raise RequestEntityTooLarge


def _trust_proxies(app: Flask) -> None:
    """Behind ``TRUSTED_PROXIES`` reverse proxies, take the client address and scheme from them."""
    count = int(app.config.get("TRUSTED_PROXIES") or 0)
    if count > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Flask documents wrapping the WSGI callable this way; mypy sees a method replaced.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=0)  # type: ignore[method-assign]


def _log_routes_not_values(app: Flask) -> None:
    """Make the access log show the route, never the values in the path.

    ``atlas serve``'s access log (written by ``webapp.asgi`` once the response is sent)
    shows ``PATH_INFO``, without query string. A path can still hold a searched place
    (``/api/communes/29189/access``): at the end of each request, ``PATH_INFO`` is
    replaced by the matched rule (``/api/communes/<code>/access``), and an unknown path
    by ``/<introuvable>``. Static files that exist keep their path (it names no place); a
    404 under ``/static/`` is logged by its route (``/static/<path:filename>``), since its
    path is whatever the client typed.
    """

    @app.after_request
    def remember_status(response: Response) -> Response:
        request.environ["atlas.status"] = response.status_code
        return response

    @app.teardown_request
    def hide_path_values(_exc: BaseException | None) -> None:
        rule = request.url_rule
        if rule is None:
            request.environ["PATH_INFO"] = "/<introuvable>"
        elif rule.arguments and (rule.endpoint != "static" or request.environ.get("atlas.status") != 200):
            request.environ["PATH_INFO"] = rule.rule
