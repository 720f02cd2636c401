"""Error pages: a clear 503 when PostGIS does not answer, never a stack trace."""

from __future__ import annotations

import logging

import psycopg
from flask import Flask, jsonify, render_template, request
from psycopg_pool import PoolTimeout
from werkzeug.exceptions import HTTPException

from webapp.params import BadParameter

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    """Register the error handlers."""

    @app.errorhandler(psycopg.OperationalError)
    @app.errorhandler(PoolTimeout)
    def database_unavailable(exc: Exception):  # noqa: ANN202 - Flask response tuple
        log.warning("database unavailable: %s", type(exc).__name__)
        message = "La base de données est momentanément indisponible. Réessayez dans quelques instants."
        headers = {"Retry-After": "30"}
        if _wants_json():
            return jsonify(error="service_unavailable", message=message), 503, headers
        return render_template("errors/error.html", status=503, message=message), 503, headers

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):  # noqa: ANN202
        headers = exc.get_headers()[1:]  # keeps Allow on 405, drops the HTML content type
        if _wants_json():
            body = {"error": exc.name, "message": exc.description}
            if isinstance(exc, BadParameter):
                body["parameter"] = exc.parameter
            return jsonify(body), exc.code, headers
        return render_template("errors/error.html", status=exc.code, message=exc.description), exc.code, headers
