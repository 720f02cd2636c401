"""Error pages: a clear 503 when PostGIS does not answer, never a stack trace.

Every error is answered in French, as JSON under ``/api/`` (``error``, ``message`` and,
for a bad parameter, ``parameter``) and as an HTML page elsewhere. An unexpected
exception gives a 500 that says nothing of its cause (``AtlasFlask.log_exception`` logs
the route and the code location for the operators, without the path or the message).
"""

from __future__ import annotations

import logging

import psycopg
from flask import Flask, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from psycopg_pool import PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError

from webapp.params import BadParameter

log = logging.getLogger(__name__)

FRENCH_MESSAGES = {
    400: "Requête invalide.",
    404: "Page introuvable.",
    405: "Méthode non autorisée : seules les requêtes GET et HEAD sont acceptées.",
    413: "Requête trop volumineuse.",
    414: "Adresse (URL) trop longue.",
    429: "Trop de requêtes : réessayez dans quelques instants.",
    431: "En-têtes de requête trop volumineux.",
    500: "Erreur interne du serveur. L'incident est enregistré (sans vos paramètres de recherche) ; "
    "réessayez plus tard.",
}
"""Shown instead of werkzeug's English default descriptions (our own messages are kept)."""


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _message(exc: HTTPException) -> str:
    code = exc.code or 500
    default = type(exc).description
    if code >= 500 or not exc.description or exc.description == default:
        return FRENCH_MESSAGES.get(code, FRENCH_MESSAGES[500] if code >= 500 else FRENCH_MESSAGES[400])
    return exc.description


def init_app(app: Flask) -> None:
    """Register the error handlers."""

    @app.errorhandler(psycopg.OperationalError)
    @app.errorhandler(PoolTimeout)
    def database_unavailable(exc: Exception) -> ResponseReturnValue:
        log.warning("database unavailable: %s", type(exc).__name__)
        message = "La base de données est momentanément indisponible. Réessayez dans quelques instants."
        headers = {"Retry-After": "30"}
        if _wants_json():
            return jsonify(error="service_unavailable", message=message), 503, headers
        return render_template("errors/error.html", status=503, message=message), 503, headers

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        code = exc.code or 500
        headers = exc.get_headers()[1:]  # keeps Allow on 405, drops the HTML content type
        message = _message(exc)
        if _wants_json():
            body = {"error": exc.name, "message": message}
            if isinstance(exc, BadParameter):
                body["parameter"] = exc.parameter
            return jsonify(body), code, headers
        return render_template("errors/error.html", status=code, message=message), code, headers

    @app.errorhandler(InternalServerError)
    def internal_error(exc: InternalServerError) -> ResponseReturnValue:
        """Any unhandled exception: a generic French answer, no detail of the cause."""
        message = FRENCH_MESSAGES[500]
        if _wants_json():
            return jsonify(error="Internal Server Error", message=message), 500
        try:
            return render_template("errors/error.html", status=500, message=message), 500
        except Exception:
            return f'<!doctype html><html lang="fr"><title>Erreur</title><p>{message}</p></html>', 500
