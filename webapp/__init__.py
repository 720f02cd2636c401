"""Flask application of Atlas SPRO (app factory).

Views are thin: they validate parameters, call ``storage.read`` and render templates.
Nothing here logs searched places or coordinates, and the public pages set no cookie.
Every asset is served from this server (no CDN, font, tile or tracker): the Content
Security Policy says so to the browser.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, request

from settings import Settings


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application.

    Configuration: defaults, then ``Settings.from_env()`` (``DATABASE_URL``...), then
    ``test_config``. ``DATABASE_URL`` must be set (``atlas serve`` sets it to the local
    cluster when the environment does not). ``TILE_URL`` (default None: commune
    boundaries drawn as vectors, no basemap) is a Leaflet tile URL template such as
    ``/tuiles/{z}/{x}/{y}.png`` served by the deployer.
    """
    app = Flask(__name__)
    settings = Settings.from_env()
    app.config.from_mapping(
        DATABASE_URL=settings.database_url,
        REGION=settings.region,
        TILE_URL=settings.tile_url,
        POOL_MAX_SIZE=4,
        POOL_TIMEOUT_S=3.0,
        MAX_CONTENT_LENGTH=64 * 1024,
        JSON_AS_ASCII=False,
    )
    if test_config:
        app.config.update(test_config)
    if not app.config["DATABASE_URL"]:
        msg = "DATABASE_URL is not set (run `atlas serve`, which points it at the local cluster)"
        raise RuntimeError(msg)
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    from webapp import api, cache, db, errors, labels, planning, public

    db.init_app(app)
    cache.init_app(app)
    errors.init_app(app)
    labels.init_app(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(planning.bp)
    app.register_blueprint(api.bp)
    _security_headers(app)
    _log_routes_not_values(app)
    return app


def tile_origin(tile_url: str | None) -> str | None:
    """The origin a tile URL template loads from, for the CSP (None: none or this server)."""
    if not tile_url or tile_url.startswith("/"):
        return None
    parts = urlsplit(tile_url)
    host = parts.netloc.replace("{s}.", "*.")
    return f"{parts.scheme}://{host}" if parts.scheme in ("http", "https") and host else None


def _security_headers(app: Flask) -> None:
    origin = tile_origin(app.config.get("TILE_URL"))
    images = "'self' data:" + (f" {origin}" if origin else "")
    policy = (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src {images}; connect-src 'self'; font-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(), microphone=()")
        return response


def _log_routes_not_values(app: Flask) -> None:
    """Make the access log show the route, never the values in the path.

    ``atlas serve`` logs the path without query string (gunicorn ``%(U)s``, read from
    ``PATH_INFO`` once the response is sent). A path can still hold a searched place
    (``/api/communes/29189/access``): at the end of each request, ``PATH_INFO`` is
    replaced by the matched rule (``/api/communes/<code>/access``), and an unknown path
    by ``/<introuvable>``. Static files keep their path (it names no place).
    """

    @app.teardown_request
    def hide_path_values(_exc: BaseException | None) -> None:
        rule = request.url_rule
        if rule is None:
            request.environ["PATH_INFO"] = "/<introuvable>"
        elif rule.arguments and rule.endpoint != "static":
            request.environ["PATH_INFO"] = rule.rule
