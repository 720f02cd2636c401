"""A small static SVG map of the communes entering or leaving a white zone, drawn on the
server from polygons in the Région's projected CRS (metres): it prints and needs no
JavaScript. Only coordinates and fixed class names are written (no text from the data),
so nothing needs escaping but the caption the template adds around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import shapely
from markupsafe import Markup

from geo.coverage import union_of_tiles

if TYPE_CHECKING:
    import geopandas as gpd

WIDTH_PX = 640
SIMPLIFY_PX = 0.6
"""Simplification of the polygons, in pixels of the drawing."""


def _path(geometry: object, x0: float, y1: float, scale: float) -> str:
    """SVG path data of a (Multi)Polygon, y axis flipped (north up)."""

    parts = []
    for polygon in getattr(geometry, "geoms", [geometry]):
        for ring in [polygon.exterior, *polygon.interiors]:
            coords = shapely.get_coordinates(ring)
            points = " ".join(f"{(x - x0) * scale:.1f},{(y1 - y) * scale:.1f}" for x, y in coords)
            parts.append(f"M{points}Z")
    return "".join(parts)


def _outline(communes: gpd.GeoDataFrame) -> shapely.Geometry:
    """The union of the communes (:func:`geo.coverage.union_of_tiles`)."""
    return union_of_tiles(communes.geometry.to_numpy())


def changes_svg(
    communes: gpd.GeoDataFrame,
    changed: gpd.GeoDataFrame,
    *,
    remaining: Sequence[str] = (),
    width_px: int = WIDTH_PX,
) -> Markup:
    """The Région in light grey, the communes ``remaining`` in a white zone (codes) in mid
    grey, those entering one (``change == 'entered'``) hatched dark red, those leaving it
    light blue, with a legend; ``aria-hidden``: the tables beside it carry the same list as
    text."""
    x0, y0, x1, y1 = communes.total_bounds
    scale = width_px / max(x1 - x0, 1.0)
    height = (y1 - y0) * scale
    tolerance = SIMPLIFY_PX / scale
    background = _outline(communes).simplify(tolerance, preserve_topology=True)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="changes-map" viewBox="0 0 {width_px} {height + 40:.0f}" '
        f'width="100%" aria-hidden="true" focusable="false">',
        '<defs><pattern id="entered-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#b2182b"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="1.5"/></pattern></defs>',
        f'<path d="{_path(background, x0, y1, scale)}" fill="#eeeeee" stroke="#999999" stroke-width="0.6"/>',
    ]
    still = communes[communes["code"].isin(list(remaining))]
    if not still.empty:
        shape = _outline(still).simplify(tolerance, preserve_topology=True)
        out.append(f'<path d="{_path(shape, x0, y1, scale)}" fill="#bdbdbd" stroke="#888888" stroke-width="0.4"/>')
    styles = {"entered": 'fill="url(#entered-hatch)" stroke="#67001f"', "left": 'fill="#92c5de" stroke="#2166ac"'}
    for change, style in styles.items():
        rows = changed[changed["change"] == change]
        geoms = rows.geometry.dropna()
        if geoms.empty:
            continue
        shape = geoms.simplify(tolerance, preserve_topology=True).union_all()
        out.append(f'<path d="{_path(shape, x0, y1, scale)}" {style} stroke-width="0.6"/>')
    legend_y = height + 12
    out.append(
        f'<rect x="4" y="{legend_y:.0f}" width="18" height="14" fill="url(#entered-hatch)" stroke="#67001f"/>'
        f'<text x="28" y="{legend_y + 11:.0f}" font-size="12">entre en zone blanche</text>'
        f'<rect x="220" y="{legend_y:.0f}" width="18" height="14" fill="#92c5de" stroke="#2166ac"/>'
        f'<text x="244" y="{legend_y + 11:.0f}" font-size="12">sort de la zone blanche</text>'
        f'<rect x="430" y="{legend_y:.0f}" width="18" height="14" fill="#bdbdbd" stroke="#888888"/>'
        f'<text x="454" y="{legend_y + 11:.0f}" font-size="12">reste en zone blanche</text>'
    )
    out.append("</svg>")
    return Markup("".join(out))  # numbers and fixed words only, no text from the data
