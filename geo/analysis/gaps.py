"""White zones and communes without choice: where the SPRO is too far, or a single network.

Both diagnostics read tables of the accessibility engine and return tidy frames (one row
per commune and category), with the commune's population and polygon, ready for a map
or a summary per category.

White zones (:func:`white_zones`)
    Communes whose nearest place of a category is farther than the threshold of the mode
    of travel (:data:`geo.vocabulary.REACH_S`: 30 minutes by car, 45 minutes on foot), or
    unreachable (no time: NaN or ``inf``).

No choice (:func:`no_choice`)
    Communes that reach places of a single operator (partner type, by default) within
    :data:`geo.vocabulary.CHOICE_S` (30 minutes): the public cannot choose whom to turn to.

Times are in seconds, populations in inhabitants, geometries in the communes' projected
CRS; matrices follow the orientation of :mod:`geo.traveltimes` (one row per commune, one
column per site).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.analysis.indicators import reached_groups
from geo.categories import Category
from geo.errors import MissingColumnError, ValidationError
from geo.vocabulary import CHOICE_S, MISSIONS, REACH_S, Mode, parse_mode

COMMUNE_CONTEXT: tuple[str, ...] = ("name", "departement", "epci")
"""Columns of the communes copied into the result frames when present."""


def threshold_for(mode: str, thresholds: Mapping[Mode, float] = REACH_S) -> float:
    """Threshold (seconds) of a mode of travel (``drive``/``car``, ``walk``/``foot``).

    Raises
    ------
    geo.errors.ValidationError
        For an unknown mode.
    """
    key = parse_mode(mode)
    if key not in thresholds:
        msg = f"no threshold for mode {key!r}; given for {', '.join(sorted(thresholds))}"
        raise ValidationError(msg, field="mode")
    return float(thresholds[key])


def white_zones(
    nearest: pd.DataFrame,
    communes: gpd.GeoDataFrame,
    *,
    mode: str = "drive",
    threshold_s: float | None = None,
    thresholds: Mapping[Mode, float] = REACH_S,
    categories: Sequence[str] | None = None,
) -> gpd.GeoDataFrame:
    """Communes beyond the threshold of the mode, per category.

    Parameters
    ----------
    nearest
        Per-commune nearest times: ``commune_code, category, seconds`` (NaN or ``inf``
        when unreachable); when it has a ``mode`` column, only the rows of ``mode`` are
        read.
    communes
        ``code``, ``population`` (inhabitants) and polygons; ``name``, ``departement``
        and ``epci`` are copied when present.
    mode
        ``"drive"`` (or ``"car"``) or ``"walk"`` (or ``"foot"``).
    threshold_s
        Threshold in seconds; default ``thresholds[mode]``.
    thresholds
        Threshold per mode (default :data:`geo.vocabulary.REACH_S`).
    categories
        Categories to keep (default: every category of ``nearest``).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per white commune and category: ``commune_code, category, seconds``
        (``inf`` when unreachable), ``reached`` (False when unreachable),
        ``threshold_s``, ``population``, the context columns and the geometry; sorted by
        category, then commune code. A commune missing from ``nearest`` for a category
        counts as unreachable.

    Raises
    ------
    geo.errors.MissingColumnError
        When a column is missing.
    geo.errors.ValidationError
        When ``nearest`` names communes unknown to ``communes``, or repeats a commune
        in a category.
    """
    limit = float(threshold_s) if threshold_s is not None else threshold_for(mode, thresholds)
    table = _complete_times(nearest, communes, mode=mode, categories=categories)
    white = table[~(table["seconds"] <= limit)].copy()
    white["threshold_s"] = limit
    return _with_communes(white, communes)


def default_categories(sites: pd.DataFrame) -> dict[str, np.ndarray]:
    """Site masks of the categories of :func:`no_choice`: ``any`` and ``mission:<m>``
    (:class:`geo.categories.Category`); a mission that no site offers is left out."""
    if "missions" not in sites.columns:
        msg = "sites lack the column 'missions' (list of missions offered)"
        raise MissingColumnError(msg, field="missions")
    masks = {"any": np.ones(len(sites), dtype=bool)}
    for mission in MISSIONS:
        mask = Category("mission", mission).mask(sites)
        if mask.any():
            masks[f"mission:{mission}"] = mask
    return masks


def distinct_groups_within(
    times_s: np.ndarray,
    groups: np.ndarray,
    *,
    limit_s: float = CHOICE_S,
) -> tuple[np.ndarray, np.ndarray]:
    """Number of distinct groups (operators) reachable within ``limit_s``, per commune.

    Parameters
    ----------
    times_s
        ``(n_communes, n_sites)`` seconds from each commune to each site, ``inf`` beyond
        reach.
    groups
        Group of each site (e.g. its partner type), length ``n_sites``.
    limit_s
        Time limit in seconds (inclusive).

    Returns
    -------
    n_groups : numpy.ndarray
        int64, per commune.
    first_group : numpy.ndarray
        object: the first group reached (in sorted order), None when none; "the only
        group" where ``n_groups == 1``. Sites without a group (None/NaN) are ignored.
    """
    times_s = np.asarray(times_s, dtype=np.float64)
    if times_s.ndim != 2 or times_s.shape[1] != len(groups):
        msg = f"times_s has {times_s.shape[-1]} columns for {len(groups)} sites"
        raise ValidationError(msg, field="times_s")
    reached, names = reached_groups(times_s, groups, limit_s=limit_s)
    n_groups = reached.sum(axis=1).astype(np.int64)
    if names.size == 0:
        return n_groups, np.full(times_s.shape[0], None, dtype=object)
    first = np.full(times_s.shape[0], None, dtype=object)
    has = n_groups > 0
    first[has] = names[np.argmax(reached[has], axis=1)]
    return n_groups, first


def no_choice(
    times_s: np.ndarray,
    sites: pd.DataFrame,
    communes: gpd.GeoDataFrame,
    *,
    group_column: str = "partner_type",
    limit_s: float = CHOICE_S,
    categories: Mapping[str, np.ndarray] | None = None,
    include_none: bool = False,
) -> gpd.GeoDataFrame:
    """Communes reaching a single operator within ``limit_s``, per category.

    Parameters
    ----------
    times_s
        ``(n_communes, n_sites)`` seconds from each commune (rows, in the order of
        ``communes``) to each site (columns, in the order of ``sites``), ``inf`` beyond
        reach.
    sites
        ``structure_id``, ``group_column``, and ``missions`` for the default
        categories.
    communes
        ``code``, ``population`` (inhabitants), polygons; context columns copied.
    group_column
        What makes an operator distinct (default: the partner type).
    limit_s
        Time limit in seconds (default :data:`geo.vocabulary.CHOICE_S`, 30 minutes).
    categories
        Category code -> boolean mask over the sites (default
        :func:`default_categories`: ``any`` and each mission).
    include_none
        Also return the communes reaching no operator at all (``n_groups == 0``).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per commune without choice and category: ``commune_code, category,
        n_groups`` (1, or 0 with ``include_none``), ``only_group`` (the single operator;
        None when none), ``seconds_nearest`` (to the nearest site of the category,
        ``inf`` when none), ``population``, context columns and geometry; sorted by
        category, then commune code.
    """
    times_s = np.asarray(times_s, dtype=np.float64)
    if times_s.shape != (len(communes), len(sites)):
        msg = f"times_s is {times_s.shape}, expected (n_communes, n_sites) = {(len(communes), len(sites))}"
        raise ValidationError(msg, field="times_s")
    if group_column not in sites.columns:
        msg = f"sites lack the column '{group_column}'"
        raise MissingColumnError(msg, field=group_column)
    _check_commune_columns(communes)
    masks = dict(categories) if categories is not None else default_categories(sites)
    codes = communes["code"].astype(str).to_numpy()
    groups_all = sites[group_column].astype(object).to_numpy()
    frames = []
    for category, mask in masks.items():
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (len(sites),):
            msg = f"mask of category {category!r} has shape {mask.shape}, expected ({len(sites)},)"
            raise ValidationError(msg, field="categories")
        sub = times_s[:, mask]
        n_groups, first = distinct_groups_within(sub, groups_all[mask], limit_s=limit_s)
        keep = (n_groups == 1) | (include_none & (n_groups == 0))
        nearest = sub.min(axis=1) if sub.shape[1] else np.full(len(communes), np.inf)
        frames.append(
            pd.DataFrame(
                {
                    "commune_code": codes[keep],
                    "category": category,
                    "n_groups": n_groups[keep],
                    "only_group": first[keep],
                    "seconds_nearest": nearest[keep],
                }
            )
        )
    table = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["commune_code", "category", "n_groups", "only_group", "seconds_nearest"])
    )
    return _with_communes(table, communes)


# ------------------------------------------------------------------ helpers
def _complete_times(
    nearest: pd.DataFrame,
    communes: pd.DataFrame,
    *,
    mode: str,
    categories: Sequence[str] | None,
) -> pd.DataFrame:
    """``commune_code, category, seconds, reached`` for every commune x category."""
    missing = [c for c in ("commune_code", "category", "seconds") if c not in nearest.columns]
    if missing:
        msg = f"nearest times lack the column(s) {', '.join(missing)}"
        raise MissingColumnError(msg, field=missing[0])
    _check_commune_columns(communes)
    table = nearest
    if "mode" in table.columns:
        table = table[table["mode"].map(parse_mode) == parse_mode(mode)]
    table = pd.DataFrame(
        {
            "commune_code": table["commune_code"].astype(str).to_numpy(),
            "category": table["category"].astype(str).to_numpy(),
            "seconds": pd.to_numeric(table["seconds"], errors="coerce").to_numpy(dtype=np.float64),
        }
    )
    codes = communes["code"].astype(str)
    unknown = ~table["commune_code"].isin(codes)
    if unknown.any():
        msg = f"commune {table['commune_code'][unknown].iloc[0]} of the nearest times is not among the communes"
        raise ValidationError(msg, row=int(np.flatnonzero(unknown)[0]) + 1, field="commune_code")
    repeated = table.duplicated(["commune_code", "category"])
    if repeated.any():
        row = int(np.flatnonzero(repeated)[0])
        code, category = table["commune_code"].iloc[row], table["category"].iloc[row]
        msg = f"commune {code} appears twice in category {category}"
        raise ValidationError(msg, row=row + 1, field="commune_code")
    wanted = sorted(set(table["category"])) if categories is None else list(categories)
    full = pd.MultiIndex.from_product([wanted, codes.to_numpy()], names=["category", "commune_code"])
    seconds = table.set_index(["category", "commune_code"])["seconds"].reindex(full)
    out = seconds.reset_index()
    out["seconds"] = out["seconds"].fillna(np.inf)
    out["reached"] = np.isfinite(out["seconds"].to_numpy())
    return out[["commune_code", "category", "seconds", "reached"]]


def _with_communes(table: pd.DataFrame, communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Join population, context columns and polygons; sort by category and code."""
    columns = ["code", "population", *[c for c in COMMUNE_CONTEXT if c in communes.columns]]
    context = pd.DataFrame(communes[columns]).rename(columns={"code": "commune_code"})
    context["commune_code"] = context["commune_code"].astype(str)
    context["geometry"] = communes.geometry.to_numpy()
    merged = table.merge(context, on="commune_code", how="left", validate="many_to_one")
    merged = merged.sort_values(["category", "commune_code"], kind="stable").reset_index(drop=True)
    merged["population"] = merged["population"].astype(np.int64)
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=communes.crs)


def _check_commune_columns(communes: pd.DataFrame) -> None:
    missing = [c for c in ("code", "population") if c not in communes.columns]
    if missing:
        msg = f"communes lack the column(s) {', '.join(missing)}"
        raise MissingColumnError(msg, field=missing[0])
