"""Flask application of Atlas SPRO (app factory).

Views are thin: they validate parameters, call ``storage.read`` and render templates.
Nothing here logs searched places or coordinates, and the public pages set no cookie.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from settings import Settings


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application.

    Configuration: defaults, then ``Settings.from_env()`` (``DATABASE_URL``...), then
    ``test_config``. ``DATABASE_URL`` must be set (``atlas serve`` sets it to the local
    cluster when the environment does not).
    """
    app = Flask(__name__)
    settings = Settings.from_env()
    app.config.from_mapping(
        DATABASE_URL=settings.database_url,
        REGION=settings.region,
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

    from webapp import api, db, errors, public

    db.init_app(app)
    errors.init_app(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(api.bp)
    return app
