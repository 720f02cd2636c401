"""Coordinate reference systems per Région.

Geometries are stored and measured in the Région's projected CRS (metres). Mainland
Régions use Lambert-93 (EPSG:2154); overseas Régions each need their own projected CRS.
The table below is data, not a constant baked into computations: callers pass the CRS
they got from configuration (see ``settings.Settings.crs``).
"""

from __future__ import annotations

import functools

WGS84 = "EPSG:4326"
"""Geographic CRS of GeoJSON (RFC 7946), of the web map and of most open data sources."""

# INSEE region code -> projected CRS, in metres.
REGION_PROJECTED_CRS: dict[str, str] = {
    "01": "EPSG:5490",  # Guadeloupe: RGAF09 / UTM zone 20N
    "02": "EPSG:5490",  # Martinique: RGAF09 / UTM zone 20N
    "03": "EPSG:2972",  # Guyane: RGFG95 / UTM zone 22N
    "04": "EPSG:2975",  # La Réunion: RGR92 / UTM zone 40S
    "06": "EPSG:4471",  # Mayotte: RGM04 / UTM zone 38S
}
MAINLAND_CRS = "EPSG:2154"  # RGF93 v1 / Lambert-93


def projected_crs_for_region(region_code: str) -> str:
    """Return the default projected CRS (metres) for an INSEE region code.

    Examples
    --------
    >>> projected_crs_for_region("53")
    'EPSG:2154'
    >>> projected_crs_for_region("04")
    'EPSG:2975'
    """
    return REGION_PROJECTED_CRS.get(region_code, MAINLAND_CRS)


def epsg_code(crs: str) -> int:
    """Return the EPSG code (the PostGIS SRID) of a CRS given as text, e.g. ``"EPSG:2154"``.

    Raises
    ------
    ValueError
        When the CRS has no EPSG code or is not projected (measures need metres).
    """
    from pyproj import CRS

    parsed = CRS.from_user_input(crs)
    code = parsed.to_epsg()
    if code is None:
        msg = f"CRS {crs!r} has no EPSG code; give one such as EPSG:2154"
        raise ValueError(msg)
    if not parsed.is_projected:
        msg = f"CRS {crs!r} is not projected; distances and areas need a projected CRS in metres"
        raise ValueError(msg)
    return code


@functools.lru_cache(maxsize=8)
def area_of_use(crs: str) -> tuple[float, float, float, float, str] | None:
    """``(west, south, east, north, name)`` in WGS84 degrees where ``crs`` is valid (its
    EPSG area of use), None when the registry gives none.

    A point outside cannot be projected reliably (PostGIS fails with "Point outside of
    projection domain" near a pole): the web finder refuses it before any SQL. ``west >
    east`` for an area crossing the antimeridian.
    """
    from pyproj import CRS

    area = CRS.from_user_input(crs).area_of_use
    if area is None:
        return None
    return (float(area.west), float(area.south), float(area.east), float(area.north), str(area.name))
