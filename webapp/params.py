"""Validation of query parameters (allow-lists and typed ranges, never free-form filters).

Each helper returns a clean value or raises :class:`BadParameter` (HTTP 400), whose JSON
form names the parameter (``webapp.errors``). Messages are in French: they are shown to
the public on the HTML pages.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping

from werkzeug.exceptions import BadRequest

from geo.vocabulary import MISSIONS, MODES, SEARCHABLE_PUBLICS, WEEKDAYS, Mode, is_commune_code, parse_mode

DEFAULT_LIMIT = 10
MAX_LIMIT = 50
QUERY_MAX_LENGTH = 80


class BadParameter(BadRequest):
    """A query parameter is missing, malformed or outside its allowed values."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
"""Refused in text parameters (PostgreSQL text cannot hold NUL; none has a meaning in a search)."""


def text(args: Mapping[str, str], name: str, *, max_length: int = QUERY_MAX_LENGTH) -> str | None:
    """A stripped text parameter without control characters, None when absent or empty."""
    value = args.get(name, "").strip()
    if len(value) > max_length:
        raise BadParameter(name, f"Le paramètre « {name} » est trop long ({max_length} caractères au plus).")
    if CONTROL_CHARACTERS.search(value):
        raise BadParameter(name, f"Le paramètre « {name} » contient des caractères de contrôle.")
    return value or None


def choice(args: Mapping[str, str], name: str, allowed: Collection[str], *, default: str | None = None) -> str | None:
    """A value from ``allowed`` (None or ``default`` when absent or empty)."""
    value = args.get(name, "").strip()
    if not value:
        return default
    if value not in allowed:
        shown = ", ".join(sorted(allowed)) if len(allowed) <= 12 else f"{len(allowed)} valeurs, voir la documentation"
        raise BadParameter(name, f"Valeur inconnue pour « {name} » (attendu : {shown}).")
    return value


def integer(args: Mapping[str, str], name: str, *, default: int, minimum: int, maximum: int) -> int:
    """An integer between ``minimum`` and ``maximum`` (``default`` when absent)."""
    value = args.get(name, "").strip()
    if not value:
        return default
    if not (value.isascii() and value.isdigit()) or len(value) > 9:
        raise BadParameter(name, f"« {name} » doit être un entier entre {minimum} et {maximum}.")
    number = int(value)
    if not minimum <= number <= maximum:
        raise BadParameter(name, f"« {name} » doit être un entier entre {minimum} et {maximum}.")
    return number


def coordinate(args: Mapping[str, str], name: str, *, bound: float) -> float | None:
    """A finite decimal coordinate within ±``bound`` (a comma is accepted as decimal sign)."""
    value = args.get(name, "").strip().replace(",", ".")
    if not value:
        return None
    try:
        number = float(value) if len(value) <= 32 else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or abs(number) > bound:
        raise BadParameter(name, f"« {name} » doit être un nombre décimal entre -{bound:g} et {bound:g} (WGS84).")
    return number


def lat_lon(args: Mapping[str, str]) -> tuple[float, float] | None:
    """``lat`` and ``lon`` (WGS84 degrees) together, or None when both are absent."""
    lat = coordinate(args, "lat", bound=90.0)
    lon = coordinate(args, "lon", bound=180.0)
    if (lat is None) != (lon is None):
        missing = "lon" if lon is None else "lat"
        raise BadParameter(missing, "Indiquez la latitude et la longitude ensemble.")
    return None if lat is None or lon is None else (lat, lon)


def commune_code(args: Mapping[str, str], name: str = "commune") -> str | None:
    """An INSEE commune code (5 characters: digits, or 2A/2B for Corsica)."""
    value = args.get(name, "").strip().upper()
    if not value:
        return None
    if not is_commune_code(value):
        raise BadParameter(name, "Code commune INSEE invalide (5 caractères, par exemple 35238).")
    return value


def mission(args: Mapping[str, str]) -> str | None:
    """One of the four SPRO missions."""
    return choice(args, "mission", MISSIONS)


def public(args: Mapping[str, str]) -> str | None:
    """A public (jeunes, demandeurs_emploi...)."""
    return choice(args, "public", SEARCHABLE_PUBLICS)


def day(args: Mapping[str, str], name: str = "jour") -> str | None:
    """A weekday in French (lundi..dimanche)."""
    return choice(args, name, WEEKDAYS)


def mode(args: Mapping[str, str], *, default: Mode = "drive") -> Mode:
    """``drive`` (car) or ``walk`` (on foot)."""
    value = choice(args, "mode", MODES)
    return default if value is None else parse_mode(value)


def limit(args: Mapping[str, str]) -> int:
    """Number of results, 1 to :data:`MAX_LIMIT`."""
    return integer(args, "limit", default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)


def no_unknown(args: Mapping[str, str], allowed: Collection[str]) -> None:
    """Refuse parameters the endpoint does not know (typos would otherwise be ignored silently)."""
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        raise BadParameter(unknown[0], f"Paramètre inconnu : « {unknown[0][:40]} ».")


Box = tuple[float, float, float, float]
"""``(west, south, east, north)`` in WGS84 degrees."""


def bbox(args: Mapping[str, str], name: str = "bbox") -> Box | None:
    """``bbox=west,south,east,north`` (WGS84 degrees, as in OGC API Features), None when absent."""
    value = args.get(name, "").strip()
    if not value:
        return None
    message = f"« {name} » attend ouest,sud,est,nord en degrés WGS84 (par exemple -4.8,47.6,-1.0,48.9)."
    parts = value.split(",")
    if len(parts) != 4 or len(value) > 120:
        raise BadParameter(name, message)
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        raise BadParameter(name, message) from None
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise BadParameter(name, message)
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise BadParameter(name, message)
    return west, south, east, north


def clip_bbox(box: Box, domain: tuple[float, float, float, float, str] | None) -> Box | tuple[()]:
    """``box`` cut to the projection domain of the Région's CRS (so that PostGIS can project
    it); ``()`` when they do not meet (nothing can be inside)."""
    if domain is None:
        return box
    west, south, east, north = (
        max(box[0], domain[0]),
        max(box[1], domain[1]),
        min(box[2], domain[2]),
        min(box[3], domain[3]),
    )
    if domain[0] > domain[2] or west >= east or south >= north:  # antimeridian domains: box kept whole
        return box if domain[0] > domain[2] else ()
    return west, south, east, north
