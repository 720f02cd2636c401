"""Union of polygons that tile a territory (communes, zones): one rule for every caller."""

from __future__ import annotations

from typing import Any

import shapely


def union_of_tiles(polygons: Any) -> shapely.Geometry:
    """Union of polygons meant to tile exactly (an array or sequence of shapely geometries, in
    any one CRS): the fast coverage union, else the general union (real contour files often
    share edges whose vertices differ by a hair, which the coverage union refuses)."""
    try:
        return shapely.coverage_union_all(polygons)
    except shapely.errors.GEOSException:
        return shapely.union_all(polygons)
