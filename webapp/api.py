"""JSON API (first endpoints; issue 5 documents the full API with OpenAPI)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from storage import read
from webapp.db import connection

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/health")
def health():  # noqa: ANN201
    """Liveness and database readiness."""
    with connection() as conn:
        summary = read.database_summary(conn)
    return jsonify(status="ok", database=summary)


@bp.get("/structures")
def structures():  # noqa: ANN201
    """All structures as GeoJSON (WGS84)."""
    with connection() as conn:
        collection = read.structures_geojson(conn)
    response = jsonify(collection)
    response.mimetype = "application/geo+json"
    return response
