"""Synthetic layers for the map renderers (:mod:`geo.maps`, :mod:`geo.mapfile`): a 4 x 3 grid
of square "communes" of 5 km in Lambert-93 (EPSG:2154, near Rennes), two "départements", a
zoning, three places, travel times and white zones, shaped like
:func:`storage.maps.map_layers`. Invented on purpose (tests only); names are hostile."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point, box

CRS = "EPSG:2154"
X0, Y0, SIDE = 350_000.0, 6_780_000.0, 5_000.0
HOSTILE = "<img src=x onerror=alert(1)>${alert(2)}</script><script>alert(3)</script>`x`"
"""A name that is markup, a template literal and a script end at once."""


def synthetic_layers() -> dict[str, Any]:
    rows = []
    for i in range(4):
        for j in range(3):
            code = f"35{i}{j:02d}"
            name = HOSTILE if (i, j) == (0, 0) else f"Commune {i}-{j}"
            rows.append(
                {
                    "code": code,
                    "name": name,
                    "departement": "35" if i < 2 else "22",
                    "epci": f"E{i}",
                    "population": 1000 * (1 + i + j),
                    "geometry": box(X0 + i * SIDE, Y0 + j * SIDE, X0 + (i + 1) * SIDE, Y0 + (j + 1) * SIDE),
                }
            )
    communes = gpd.GeoDataFrame(rows, crs=CRS)
    categories = pd.DataFrame(
        {
            "code": ["any", "mission:accueil", "mission:information", "mission:conseil", "mission:accompagnement"],
            "label": [
                "Tout lieu du SPRO",
                "Mission : accueil",
                "Mission : information",
                "Mission : conseil",
                "Mission : accompagnement",
            ],
            "inventory_incomplete": [True, False, False, True, True],
        }
    )
    times = []
    for k, code in enumerate(communes["code"]):
        for n, category in enumerate(categories["code"]):
            seconds = np.nan if (k == 11 and n >= 3) else 60.0 * (2 + 4 * k + 3 * n)
            times.append({"code": code, "category": category, "seconds": seconds})
    times_frame = pd.DataFrame(times)
    gaps = times_frame[(times_frame["seconds"].isna()) | (times_frame["seconds"] > 1800)].assign(threshold_s=1800.0)
    departements = gpd.GeoDataFrame(
        {"code": ["35", "22"], "name": ["Ille-et-Vilaine", HOSTILE]},
        geometry=[
            box(X0, Y0, X0 + 2 * SIDE, Y0 + 3 * SIDE),
            box(X0 + 2 * SIDE, Y0, X0 + 4 * SIDE, Y0 + 3 * SIDE),
        ],
        crs=CRS,
    )
    zones = departements.rename(columns={"code": "zone_id"}).assign(zoning_id="z-test", zoning_label="Zones de test")
    places = gpd.GeoDataFrame(
        {
            "structure_id": ["a", "b", "c"],
            "name": [HOSTILE, "Mission locale de test", "CIO de test"],
            "partner_label": ["France services", "Mission locale", HOSTILE],
            "missions": [["accueil"], ["accueil", "conseil"], ["information"]],
        },
        geometry=[Point(X0 + 2_500, Y0 + 2_500), Point(X0 + 12_500, Y0 + 7_500), Point(X0 + 17_500, Y0 + 12_500)],
        crs=CRS,
    )
    return {
        "crs": CRS,
        "approximate": True,
        "communes": communes,
        "times": times_frame,
        "categories": categories,
        "gaps": gaps[["code", "category", "threshold_s"]].reset_index(drop=True),
        "zones": zones[["zoning_id", "zoning_label", "zone_id", "name", "geometry"]],
        "places": places,
        "epci_names": pd.Series({f"E{i}": f"EPCI {i}" for i in range(4)}, name="name"),
        "departements": departements,
    }
