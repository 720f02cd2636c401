"""What changed between two yearly snapshots: places, access, white zones.

Pure functions on what :mod:`storage.snapshot` reads (GeoDataFrames in the Région's CRS,
metres; indicator and gap rows). No SQL, no Flask.

Places are matched by their identifier first. Source records change identifiers from one
vintage to the next (a 2019 DILA row and the 2026 ARML row of the same mission locale), so
the places left unmatched are then paired **within the same partner type and the same
commune**, nearest first: such a pair is the same service under a new record, reported as
moved when both points are buildings at least :data:`MOVED_M` apart, as repositioned when
one of the two points is only commune-level (``approx_…``: the distance says nothing of
a move). What remains unpaired has opened or closed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.vocabulary import APPROXIMATE_POSITIONS

MOVED_M = 100.0
"""Distance (metres) from which two building points of one place make a move."""

SHARE_MINUTES: tuple[int, ...] = (10, 20, 30)
"""Thresholds (minutes) of the population shares compared between two years."""

PLACE_CHANGES: dict[str, str] = {
    "opened": "ouverture",
    "closed": "fermeture",
    "moved": "déménagement",
    "type_changed": "changement de type",
    "repositioned": "position corrigée (position approximative d'une année)",
}
"""Kinds of place change and their French words, in display order."""

WHITE_ZONE_CHANGES: dict[str, str] = {"entered": "entre en zone blanche", "left": "sort de la zone blanche"}
"""Kinds of white-zone change and their French words."""

PLACE_COLUMNS: tuple[str, ...] = (
    "change",
    "structure_id",
    "structure_id_before",
    "name",
    "partner_type",
    "partner_type_before",
    "commune_code",
    "commune_name",
    "distance_m",
    "approximate_position",
)


def _is_approx(geocoding: Any) -> bool:
    return str(geocoding) in APPROXIMATE_POSITIONS or str(geocoding).startswith("approx_")


def _row(change: str, before: Any, after: Any, distance: float | None) -> dict[str, Any]:
    """One change; ``before`` or ``after`` is None for an opening or a closure."""
    current = after if after is not None else before
    return {
        "change": change,
        "structure_id": None if after is None else after["structure_id"],
        "structure_id_before": None if before is None else before["structure_id"],
        "name": current["name"],
        "partner_type": current["partner_type"],
        "partner_type_before": None if before is None else before["partner_type"],
        "commune_code": current["commune_code"],
        "commune_name": current.get("commune_name"),
        "distance_m": None if distance is None else round(float(distance)),
        "approximate_position": any(_is_approx(p["geocoding"]) for p in (before, after) if p is not None),
    }


def _pair_change(before: Any, after: Any, *, moved_m: float) -> tuple[str | None, float]:
    distance = float(before.geometry.distance(after.geometry))
    if before["partner_type"] != after["partner_type"]:
        return "type_changed", distance
    if distance < moved_m:
        return None, distance
    approximate = _is_approx(before["geocoding"]) or _is_approx(after["geocoding"])
    return ("repositioned" if approximate else "moved"), distance


def place_changes(before: gpd.GeoDataFrame, after: gpd.GeoDataFrame, *, moved_m: float = MOVED_M) -> pd.DataFrame:
    """Places opened, closed, moved, repositioned or changing type between two snapshots.

    Parameters
    ----------
    before, after
        :func:`storage.snapshot.places` of the earlier and the later snapshot (same CRS,
        metres); only places receiving the public are compared.
    moved_m
        Distance from which a place whose two points are buildings has moved (metres).

    Returns
    -------
    DataFrame
        :data:`PLACE_COLUMNS`, ordered by kind of change (:data:`PLACE_CHANGES`), commune
        and name; ``distance_m`` between the two points (rounded metres) for a pair.
    """
    if before.crs is not None and after.crs is not None and before.crs != after.crs:
        after = after.to_crs(before.crs)
    old = before[before["receives_public"].astype(bool)].set_index("structure_id", drop=False)
    new = after[after["receives_public"].astype(bool)].set_index("structure_id", drop=False)
    rows: list[dict[str, Any]] = []
    for key in old.index.intersection(new.index):
        change, distance = _pair_change(old.loc[key], new.loc[key], moved_m=moved_m)
        if change:
            rows.append(_row(change, old.loc[key], new.loc[key], distance))
    gone = old.loc[old.index.difference(new.index)]
    came = new.loc[new.index.difference(old.index)]
    paired_old: set[str] = set()
    paired_new: set[str] = set()
    for (ptype, commune), group in came.groupby(["partner_type", "commune_code"], sort=True):
        candidates = gone[(gone["partner_type"] == ptype) & (gone["commune_code"] == commune)]
        if candidates.empty:
            continue
        pairs = sorted(
            (float(a.geometry.distance(b.geometry)), a_id, b_id)
            for a_id, a in candidates.iterrows()
            for b_id, b in group.iterrows()
        )
        for _distance, a_id, b_id in pairs:
            if a_id in paired_old or b_id in paired_new:
                continue
            paired_old.add(a_id)
            paired_new.add(b_id)
            change, distance = _pair_change(gone.loc[a_id], came.loc[b_id], moved_m=moved_m)
            if change:
                rows.append(_row(change, gone.loc[a_id], came.loc[b_id], distance))
    rows += [_row("closed", place, None, None) for key, place in gone.iterrows() if key not in paired_old]
    rows += [_row("opened", None, place, None) for key, place in came.iterrows() if key not in paired_new]
    order = {k: i for i, k in enumerate(PLACE_CHANGES)}
    frame = pd.DataFrame(rows, columns=list(PLACE_COLUMNS))
    if frame.empty:
        return frame
    frame["_order"] = frame["change"].map(order)
    return frame.sort_values(["_order", "commune_name", "name"]).drop(columns="_order").reset_index(drop=True)


def access_changes(
    before: Iterable[Mapping[str, Any]],
    after: Iterable[Mapping[str, Any]],
    *,
    level: str = "region",
    kinds: Sequence[str] = ("any", "mission", "partner_type"),
    categories: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Share of the population within 10, 20 and 30 minutes, before and after, with the
    difference in percentage points, per mode and category of ``kinds``.

    Parameters
    ----------
    before, after
        Indicator rows (``level, code, mode, category, population, share_10, share_20,
        share_30, approximate, inventory_incomplete``) of each snapshot.
    level
        Territory level compared (the Région by default: one row per mode and category).
    categories
        Category code -> ``{"kind", "label"}`` (both snapshots' categories, merged).

    Returns
    -------
    list of dict
        ``mode, category, label, kind, code, name, before_share_<m>, after_share_<m>,
        diff_points_<m>`` for ``m`` in :data:`SHARE_MINUTES` (shares in 0..1, points in
        percentage points, None when a side lacks the category), ``approximate`` and
        ``inventory_incomplete`` (either side); ordered by mode, kind, category.
    """
    info = dict(categories or {})

    def keyed(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str, str], Mapping[str, Any]]:
        return {(r["mode"], r["category"], r["code"]): r for r in rows if r["level"] == level}

    old, new = keyed(before), keyed(after)
    out: list[dict[str, Any]] = []
    kind_order = {k: i for i, k in enumerate(kinds)}
    for key in sorted(
        set(old) | set(new),
        key=lambda k: (k[0], kind_order.get(_kind(k[1], info), 99), k[1], k[2]),
    ):
        mode, category, code = key
        kind = _kind(category, info)
        if kind not in kinds:
            continue
        a, b = old.get(key), new.get(key)
        row: dict[str, Any] = {
            "mode": mode,
            "category": category,
            "label": (info.get(category) or {}).get("label", category),
            "kind": kind,
            "code": code,
            "name": (b or a or {}).get("name", code),
            "approximate": any(bool(r.get("approximate")) for r in (a, b) if r),
            "inventory_incomplete": any(bool(r.get("inventory_incomplete")) for r in (a, b) if r),
        }
        for m in SHARE_MINUTES:
            va = None if a is None else a.get(f"share_{m}")
            vb = None if b is None else b.get(f"share_{m}")
            row[f"before_share_{m}"] = va
            row[f"after_share_{m}"] = vb
            row[f"diff_points_{m}"] = None if va is None or vb is None else round(100.0 * (vb - va), 1)
        out.append(row)
    return out


def _kind(category: str, info: Mapping[str, Mapping[str, Any]]) -> str:
    found = info.get(category)
    if found and found.get("kind"):
        return str(found["kind"])
    return category.split(":", 1)[0]


def white_zone_changes(before: pd.DataFrame, after: pd.DataFrame, communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Communes entering or leaving a white zone, per mode and category, with their polygon.

    Parameters
    ----------
    before, after
        :func:`storage.snapshot.white_zones` of each snapshot (only ``kind == 'white_zone'``
        rows are compared; a mode and category present on one side only are compared too:
        a category new in ``after`` has every white-zone commune "entering").
    communes
        :func:`storage.snapshot.communes` of the later snapshot (``code, name,
        population``, polygons); a commune it lacks keeps no geometry.

    Returns
    -------
    GeoDataFrame
        ``mode, category, commune_code, name, population, change`` (``entered`` / ``left``,
        :data:`WHITE_ZONE_CHANGES`), ``seconds_before, seconds_after`` (NaN when absent or
        beyond the bound), ``threshold_s`` and the commune polygon, in ``communes``' CRS;
        ordered by mode, category, change and commune code. This is the data of the
        changes map.
    """
    keys = ["mode", "category", "commune_code"]
    cols = [*keys, "seconds", "threshold_s", "population"]
    old = before.loc[before["kind"] == "white_zone", cols] if not before.empty else pd.DataFrame(columns=cols)
    new = after.loc[after["kind"] == "white_zone", cols] if not after.empty else pd.DataFrame(columns=cols)
    merged = old.merge(new, on=keys, how="outer", suffixes=("_before", "_after"), indicator=True)
    merged = merged[merged["_merge"] != "both"].copy()
    merged["change"] = np.where(merged["_merge"] == "right_only", "entered", "left")
    merged["threshold_s"] = merged["threshold_s_after"].fillna(merged["threshold_s_before"])
    shapes = communes[["code", "name", "population", "geometry"]].rename(columns={"code": "commune_code"})
    out = shapes.merge(
        merged[[*keys, "change", "seconds_before", "seconds_after", "threshold_s"]], on="commune_code", how="right"
    )
    out = out[["mode", "category", "commune_code", "name", "population", "change", "seconds_before",
               "seconds_after", "threshold_s", "geometry"]]  # fmt: skip
    result = gpd.GeoDataFrame(out, geometry="geometry", crs=communes.crs)
    return result.sort_values(["mode", "category", "change", "commune_code"]).reset_index(drop=True)
