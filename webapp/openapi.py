"""OpenAPI 3.1 description of the JSON API, written by hand.

``tests/test_web_api.py`` checks that every ``/api`` rule registered in Flask is
documented here (and nothing else), so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from geo.french import APPROXIMATE_TIMES as APPROXIMATE_FR
from geo.vocabulary import COMMUNE_CODE_PATTERN, MISSIONS, MODES, SEARCHABLE_PUBLICS, WEEKDAYS
from webapp.params import MAX_LIMIT

LEVEL_PATTERN = "^(region|departement|arrondissement|epci|zone:[a-z0-9][a-z0-9_-]{0,62})$"


def _query(name: str, description: str, schema: dict[str, Any], *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


def _path(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": schema}


MODE = _query("mode", "drive (voiture) ou walk (à pied).", {"type": "string", "enum": list(MODES), "default": "drive"})
MISSION = _query("mission", "Mission du SPRO.", {"type": "string", "enum": list(MISSIONS)})
PUBLIC = _query(
    "public",
    "Public accueilli (un lieu « tout public » les accueille tous).",
    {"type": "string", "enum": list(SEARCHABLE_PUBLICS)},
)
DAY = _query("day", "Ouvert ce jour de la semaine (horaires connus).", {"type": "string", "enum": list(WEEKDAYS)})
CATEGORY = _query(
    "category",
    "Catégorie de lieux (codes de GET /api/categories : any, mission:conseil, public:jeunes...).",
    {"type": "string", "default": "any"},
)
GEO_FORMAT = _query("format", "geojson (défaut) ou csv.", {"type": "string", "enum": ["geojson", "csv"]})
COMMUNE_CODE = _path(
    "code", "Code INSEE de la commune (5 caractères).", {"type": "string", "pattern": f"^{COMMUNE_CODE_PATTERN}$"}
)

ERROR = {"$ref": "#/components/responses/Error"}
NOT_FOUND = {"$ref": "#/components/responses/NotFound"}
UNAVAILABLE = {"$ref": "#/components/responses/Unavailable"}
TOO_MANY = {"$ref": "#/components/responses/TooManyRequests"}


def _ok(
    description: str, schema_ref: str | None = None, *, media: str = "application/json", csv: bool = False
) -> dict[str, Any]:
    content: dict[str, Any] = {media: {"schema": {"$ref": schema_ref} if schema_ref else {"type": "object"}}}
    if csv:
        content["text/csv"] = {"schema": {"type": "string"}}
    return {"description": description, "content": content}


def _get(
    summary: str,
    parameters: list[dict[str, Any]],
    ok: dict[str, Any],
    *,
    tags: list[str],
    not_found: bool = False,
    description: str | None = None,
) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": ok, "400": ERROR, "429": TOO_MANY, "503": UNAVAILABLE}
    if not_found:
        responses["404"] = NOT_FOUND
    operation: dict[str, Any] = {"summary": summary, "tags": tags, "parameters": parameters, "responses": responses}
    if description:
        operation["description"] = description
    return {"get": operation}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (a fresh dict on each call)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Atlas SPRO",
            "version": "1.0.0",
            "summary": "Lieux du service public régional de l'orientation, temps d'accès et diagnostics.",
            "description": (
                "API en lecture seule. Géométries en WGS84 (RFC 7946), simplifiées côté serveur. "
                "Toute réponse contenant des temps de trajet porte « approximate » : true quand ils ont été "
                f"calculés sans réseau routier OpenStreetMap ({APPROXIMATE_FR}). À temps égal, "
                "l'ordre suit l'identifiant du lieu, jamais l'organisme. Les paramètres inconnus sont refusés "
                "(400). Aucune requête n'est journalisée avec ses paramètres. Limite par défaut : 300 requêtes "
                "par minute et par client (429 avec Retry-After au-delà)."
            ),
            "license": {"name": "EUPL-1.2", "identifier": "EUPL-1.2"},
        },
        "servers": [{"url": "/"}],
        "paths": {
            "/api/health": _get("État du service et de la base", [], _ok("Résumé de la base."), tags=["service"]),
            "/api/structures": _get(
                "Lieux du réseau (points)",
                [
                    _query("partner_type", "Type de partenaire (france_services, cio...).", {"type": "string"}),
                    MISSION,
                    PUBLIC,
                    DAY,
                    GEO_FORMAT,
                ],
                _ok(
                    "Lieux en GeoJSON (ou CSV).",
                    "#/components/schemas/FeatureCollection",
                    media="application/geo+json",
                    csv=True,
                ),
                tags=["lieux"],
            ),
            "/api/nearest": _get(
                "Lieux les plus proches en temps de trajet",
                [
                    _query("commune", "Code INSEE de la commune de départ.", {"type": "string"}),
                    _query(
                        "lat",
                        "Latitude WGS84 (avec lon, à la place de commune).",
                        {"type": "number", "minimum": -90, "maximum": 90},
                    ),
                    _query("lon", "Longitude WGS84.", {"type": "number", "minimum": -180, "maximum": 180}),
                    MISSION,
                    PUBLIC,
                    DAY,
                    MODE,
                    _query(
                        "limit",
                        f"Nombre de lieux (1 à {MAX_LIMIT}).",
                        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 10},
                    ),
                ],
                _ok(
                    "Lieux classés par temps, puis à vol d'oiseau au-delà de la borne de calcul.",
                    "#/components/schemas/Nearest",
                ),
                tags=["recherche"],
                not_found=True,
                description=(
                    "Soit « commune », soit « lat » et « lon » (le point est rattaché à la commune qui le "
                    "contient, sinon à la plus proche). Les temps partent de la commune ; la distance à vol "
                    "d'oiseau part du point donné. Les coordonnées ne sont ni renvoyées ni journalisées."
                ),
            ),
            "/api/communes": _get(
                "Recherche de communes (nom sans accents ni casse, ou code postal)",
                [
                    _query(
                        "q",
                        "Nom ou code postal (2 à 80 caractères).",
                        {"type": "string", "minLength": 2, "maxLength": 80},
                        required=True,
                    ),
                    _query("limit", f"1 à {MAX_LIMIT}.", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
                ],
                _ok("Communes trouvées."),
                tags=["recherche"],
            ),
            "/api/communes/{code}": _get(
                "Une commune (polygone simplifié)",
                [COMMUNE_CODE],
                _ok("Feature GeoJSON.", media="application/geo+json"),
                tags=["territoires"],
                not_found=True,
            ),
            "/api/communes/{code}/access": _get(
                "Temps d'accès d'une commune, par mode et catégorie de lieux",
                [COMMUNE_CODE],
                _ok("Chiffres de la commune.", "#/components/schemas/CommuneAccess"),
                tags=["accès"],
                not_found=True,
            ),
            "/api/categories": _get(
                "Catégories de lieux, calculs disponibles (approximatifs ou non), isochrones",
                [],
                _ok("Catégories et calculs."),
                tags=["accès"],
            ),
            "/api/access/communes": _get(
                "Temps d'accès de chaque commune (carte choroplèthe)",
                [MODE, CATEGORY, GEO_FORMAT],
                _ok(
                    "Communes en GeoJSON avec minutes et classe (0-10, 10-20, 20-30, 30-45, 45+ min) ; "
                    "ferry : vrai quand le temps comprend une traversée en bateau.",
                    "#/components/schemas/FeatureCollection",
                    media="application/geo+json",
                    csv=True,
                ),
                tags=["accès"],
            ),
            "/api/indicators": _get(
                "Indicateurs d'accès par territoire ou zone",
                [
                    _query(
                        "level",
                        "region, departement, arrondissement, epci ou zone:<zonage>.",
                        {"type": "string", "pattern": LEVEL_PATTERN, "default": "region"},
                    ),
                    MODE,
                    CATEGORY,
                    _query("format", "json (défaut) ou csv.", {"type": "string", "enum": ["json", "csv"]}),
                ],
                _ok(
                    "Indicateurs. Chaque ligne porte inventory_incomplete (vrai quand un type de partenaire que "
                    "la catégorie compte a un inventaire incomplet : chiffre à publier avec la mention "
                    "« inventaire incomplet ») et incomplete_types.",
                    csv=True,
                ),
                tags=["diagnostic"],
            ),
            "/api/inventory": _get(
                "Complétude de l'inventaire des lieux, par type de partenaire",
                [],
                _ok(
                    "Par type : lieux chargés accueillant du public (n_sites), sans accueil du public, attendus "
                    "selon le recensement de la Région (expected, null si inconnu), complete (au moins "
                    "complete_share des attendus), parts positionnées au bâtiment et avec horaires, millésimes "
                    "(vintage_min, vintage_max) ; rejected_rows : lignes écartées par le dernier chargement."
                ),
                tags=["diagnostic"],
            ),
            "/api/territories": _get(
                "Contours des territoires (simplifiés)",
                [
                    _query(
                        "level",
                        "Échelon.",
                        {
                            "type": "string",
                            "enum": ["region", "departement", "arrondissement", "epci"],
                            "default": "departement",
                        },
                    )
                ],
                _ok("Polygones.", "#/components/schemas/FeatureCollection", media="application/geo+json"),
                tags=["territoires"],
            ),
            "/api/zonings": _get("Zonages infrarégionaux enregistrés", [], _ok("Zonages."), tags=["zonages"]),
            "/api/zonings/{zoning_id}": _get(
                "Zones d'un zonage (polygones simplifiés)",
                [
                    _path(
                        "zoning_id",
                        "Identifiant du zonage.",
                        {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,62}$"},
                    )
                ],
                _ok("Zones.", "#/components/schemas/FeatureCollection", media="application/geo+json"),
                tags=["zonages"],
                not_found=True,
            ),
            "/api/isochrones": _get(
                "Isochrones des lieux",
                [
                    MODE,
                    _query(
                        "minutes",
                        "Limite en minutes (valeurs calculées : 15, 30, 45).",
                        {"type": "integer", "minimum": 1, "maximum": 240, "default": 30},
                    ),
                    _query("structure_id", "Un seul lieu.", {"type": "string"}),
                ],
                _ok("Polygones.", "#/components/schemas/FeatureCollection", media="application/geo+json"),
                tags=["accès"],
            ),
            "/api/gaps": _get(
                "Zones blanches et communes sans choix",
                [
                    _query("kind", "white_zone ou no_choice.", {"type": "string", "enum": ["white_zone", "no_choice"]}),
                    _query("mode", "drive ou walk.", {"type": "string", "enum": list(MODES)}),
                    _query("category", "Catégorie de lieux.", {"type": "string"}),
                    GEO_FORMAT,
                ],
                _ok(
                    "Communes concernées.",
                    "#/components/schemas/FeatureCollection",
                    media="application/geo+json",
                    csv=True,
                ),
                tags=["diagnostic"],
            ),
            "/api/openapi.json": _get("Ce document", [], _ok("OpenAPI 3.1."), tags=["service"]),
            "/api/docs": {
                "get": {
                    "summary": "Documentation lisible de l'API (HTML)",
                    "tags": ["service"],
                    "responses": {"200": {"description": "Page HTML.", "content": {"text/html": {}}}, "429": TOO_MANY},
                }
            },
        },
        "components": {
            "schemas": {
                "FeatureCollection": {
                    "type": "object",
                    "required": ["type", "features"],
                    "properties": {
                        "type": {"const": "FeatureCollection"},
                        "approximate": {"type": "boolean", "description": "Temps calculés sans réseau OSM."},
                        "features": {"type": "array", "items": {"type": "object"}},
                    },
                },
                "Nearest": {
                    "type": "object",
                    "required": ["commune", "mode", "approximate", "results"],
                    "properties": {
                        "commune": {"type": "object"},
                        "located_by": {"enum": ["commune", "point_in_commune", "nearest_commune"]},
                        "mode": {"enum": list(MODES)},
                        "times_available": {"type": "boolean"},
                        "approximate": {"type": "boolean"},
                        "network": {"type": ["string", "null"]},
                        "bound_minutes": {"type": ["integer", "null"]},
                        "note": {"type": "string"},
                        "results": {"type": "array", "items": {"$ref": "#/components/schemas/Place"}},
                    },
                },
                "Place": {
                    "type": "object",
                    "properties": {
                        "structure_id": {"type": "string"},
                        "name": {"type": "string"},
                        "partner_type": {"type": "string"},
                        "ranked_by": {"enum": ["time", "distance"]},
                        "drive_seconds": {"type": ["integer", "null"]},
                        "walk_seconds": {"type": ["integer", "null"]},
                        "distance_m": {"type": "integer"},
                        "approximate": {"type": "boolean"},
                        "ferry": {
                            "type": "boolean",
                            "description": "Un temps donné comprend une traversée en bateau (route=ferry d'OSM).",
                        },
                        "approximate_position": {"type": "boolean"},
                        "itinerant": {"type": "boolean"},
                        "opening_hours": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                },
                "CommuneAccess": {
                    "type": "object",
                    "properties": {
                        "commune": {"type": "object"},
                        "approximate": {"type": "boolean"},
                        "modes": {"type": "object"},
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {
                        "error": {"type": "string"},
                        "message": {"type": "string"},
                        "parameter": {"type": "string"},
                    },
                },
            },
            "responses": {
                "Error": {
                    "description": "Paramètre invalide.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
                "NotFound": {
                    "description": "Commune, point ou zonage introuvable.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
                "Unavailable": {
                    "description": "Base de données indisponible (Retry-After: 30).",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
                "TooManyRequests": {
                    "description": "Trop de requêtes de ce client (300 par minute par défaut) : réessayer après "
                    "Retry-After secondes.",
                    "headers": {"Retry-After": {"description": "Secondes à attendre.", "schema": {"type": "integer"}}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            },
        },
    }
