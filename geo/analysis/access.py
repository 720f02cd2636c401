"""Accessibility of every commune per category of place, from the commune x place table.

:func:`access_from_times` is the analysis proper: given the travel-time table
(:class:`geo.traveltimes.TravelTimes`, rows communes, columns places) and the nearest
place of each category, it counts the distinct partner networks within
:data:`geo.vocabulary.CHOICE_S` (choice) and the Gaussian 2SFCA ratio per commune.
:func:`compute_access` builds the table from a graph first, and :func:`summarise_levels`
rolls the per-commune figures up to territories and zones.

Ties: equal times go to the place whose ``structure_id`` sorts first; identifiers are
"<dataset>:<id in source>", an order that favours no operator on purpose (never a
ranking of partners).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.analysis import indicators
from geo.categories import Category, categories_for
from geo.errors import MissingColumnError, ValidationError
from geo.network.graph import RoadGraph
from geo.traveltimes import TravelTimes, check_inputs, nearest_needs_ferry, nearest_places, travel_times
from geo.vocabulary import CHOICE_S, MATRIX_LIMIT_S, REACH_S

PLACE_COLUMNS: tuple[str, ...] = ("structure_id", "partner_type", "missions", "publics", "site_format", "geocoding")
"""Columns of the places the analysis reads."""


@dataclass
class AccessResult:
    """Accessibility of every commune for one mode of travel.

    Attributes
    ----------
    mode, approximate
        ``"drive"`` or ``"walk"``; True when the graph is the approximate commune graph.
    origins
        GeoDataFrame ``code, origin_method, node, snap_m, off_network``, Points in the
        graph CRS.
    places
        The places routed: ``structure_id, partner_type, site_format, geocoding, node,
        snap_m`` (places not receiving the public are left out before).
    nearest
        One row per commune and category: ``commune_code, category, seconds`` (NaN when
        unreachable or off network), ``structure_id`` (None then), ``n_operators_30``
        (distinct partner types of the category within 30 min), ``fca`` (Gaussian
        2SFCA ratio, places per 10,000 inhabitants), ``ferry`` (the time crosses by boat).
    od
        ``commune_code, structure_id, seconds, ferry`` for every pair within the table's bound.
    categories
        ``code, kind, key, fixed_only, label, n_places``.
    params
        The parameters used, for the record.
    """

    mode: str
    approximate: bool
    origins: gpd.GeoDataFrame
    places: pd.DataFrame
    nearest: pd.DataFrame
    od: pd.DataFrame
    categories: pd.DataFrame
    params: dict[str, float | str] = field(default_factory=dict)


def compute_access(
    graph: RoadGraph,
    communes: gpd.GeoDataFrame,
    places: gpd.GeoDataFrame,
    *,
    partner_labels: dict[str, str] | None = None,
    od_limit_s: float | None = None,
    catchment_s: float | None = None,
    max_snap_m: float | None = None,
    batch_size: int = 2,
    population_grid: gpd.GeoDataFrame | None = None,
) -> AccessResult:
    """Travel-time table, nearest place per category and indicators, for ``graph``'s mode.

    Parameters
    ----------
    graph
        Road graph (OSM or approximate) in the Région's projected CRS.
    communes
        ``code``, ``population`` and polygons, in ``graph.crs``.
    places
        Structures receiving the public: ``structure_id``, ``partner_type``,
        ``missions``, ``publics``, ``site_format``, ``geocoding``, Points in ``graph.crs``.
    partner_labels
        Partner type -> French label, for the category labels.
    od_limit_s
        Bound of the table in seconds (default per mode,
        :data:`geo.vocabulary.MATRIX_LIMIT_S`); at least ``catchment_s`` and
        :data:`geo.vocabulary.CHOICE_S`.
    catchment_s
        Catchment of the Gaussian 2SFCA in seconds (default per mode,
        :data:`geo.vocabulary.REACH_S`).
    max_snap_m, batch_size, population_grid
        See :func:`geo.traveltimes.travel_times`.

    Returns
    -------
    AccessResult
    """
    check_inputs(graph, communes, places, place_columns=PLACE_COLUMNS)
    limit = float(od_limit_s if od_limit_s is not None else MATRIX_LIMIT_S[graph.mode])
    catchment = float(catchment_s if catchment_s is not None else REACH_S[graph.mode])
    if limit < max(catchment, CHOICE_S):
        msg = f"od_limit_s ({limit:g} s) must cover the catchment and the 30-minute choice count"
        raise ValidationError(msg, field="od_limit_s")
    table = travel_times(
        graph,
        communes,
        places,
        limit_s=limit,
        max_snap_m=max_snap_m,
        batch_size=batch_size,
        population_grid=population_grid,
    )
    # Every point is snapped and the table routed: the k-d tree (120 MB for a Région's walk
    # graph) and the reversed matrix (94 MB) would only add to the peak of the nearest-place
    # search, which needs the forward matrix and the chain index; the chain index is then
    # dropped before the isochrones (benchmarks/README.md, Région scale).
    graph.release("kdtree", "csr_reverse")
    places = places.sort_values("structure_id", kind="stable").reset_index(drop=True)
    categories = categories_for(places)
    nearest = {c.code: nearest_places(graph, table, c.mask(places)) for c in categories}
    ferry = {c.code: nearest_needs_ferry(graph, table, c.mask(places), *nearest[c.code]) for c in categories}
    graph.release("chains")
    return access_from_times(
        table,
        communes,
        places,
        categories=categories,
        nearest=nearest,
        partner_labels=partner_labels,
        catchment_s=catchment,
        nearest_ferry=ferry,
    )


def access_from_times(
    table: TravelTimes,
    communes: pd.DataFrame,
    places: pd.DataFrame,
    *,
    categories: Sequence[Category],
    nearest: Mapping[str, tuple[np.ndarray, np.ndarray]],
    partner_labels: dict[str, str] | None = None,
    catchment_s: float | None = None,
    nearest_ferry: Mapping[str, np.ndarray] | None = None,
) -> AccessResult:
    """Per-commune accessibility figures of each category, from the travel-time table.

    Parameters
    ----------
    table
        :func:`geo.traveltimes.travel_times` of ``communes`` and ``places``.
    communes
        ``code`` and ``population``, in the rows' order of ``table``.
    places
        ``structure_id``, ``partner_type``, ``missions``, ``publics``, ``site_format``, in
        the columns' order of ``table`` (ordered by ``structure_id``).
    categories
        The categories to report.
    nearest
        Category code -> (seconds, position among the category's places) of the nearest
        place from each commune (:func:`geo.traveltimes.nearest_places`).
    partner_labels
        Partner type -> French label, for the category labels.
    catchment_s
        Catchment of the Gaussian 2SFCA (default per mode, :data:`geo.vocabulary.REACH_S`).
    nearest_ferry
        Category code -> whether the nearest time crosses by boat, per commune
        (:func:`geo.traveltimes.nearest_needs_ferry`); all False when None.

    Returns
    -------
    AccessResult
    """
    if not np.array_equal(places["structure_id"].to_numpy(), table.places["structure_id"].to_numpy()):
        msg = "places must be the columns of the travel-time table, in its order"
        raise ValidationError(msg, field="places")
    missing = [c for c in PLACE_COLUMNS if c not in places.columns]
    if missing:
        msg = f"places lack the column(s) {', '.join(missing)}"
        raise MissingColumnError(msg, field=missing[0])
    catchment = float(catchment_s if catchment_s is not None else REACH_S[table.mode])
    population = communes["population"].to_numpy(dtype=np.float64)
    codes = communes["code"].to_numpy()
    ids = places["structure_id"].to_numpy()
    partner_types = places["partner_type"].to_numpy()
    rows = []
    for category in categories:
        mask = category.mask(places)
        sub = table.seconds[:, mask]
        seconds, position = nearest[category.code]
        rows.append(
            pd.DataFrame(
                {
                    "commune_code": codes,
                    "category": category.code,
                    "seconds": np.where(np.isfinite(seconds), seconds, np.nan),
                    "structure_id": np.where(position >= 0, ids[mask][np.maximum(position, 0)], None),
                    "n_operators_30": indicators.distinct_within(sub, partner_types[mask], limit_s=CHOICE_S),
                    "fca": indicators.two_step_fca(sub, np.ones(int(mask.sum())), population, catchment_s=catchment),
                    "ferry": (
                        np.zeros(len(codes), dtype=bool)
                        if nearest_ferry is None
                        else np.asarray(nearest_ferry[category.code], dtype=bool) & np.isfinite(seconds)
                    ),
                }
            )
        )
    frame = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    if not frame.empty:
        frame.loc[frame["seconds"].isna(), "structure_id"] = None
    category_table = pd.DataFrame(
        {
            "code": [c.code for c in categories],
            "kind": [c.kind for c in categories],
            "key": [c.key for c in categories],
            "fixed_only": [c.fixed_only for c in categories],
            "label": [c.label(partner_labels) for c in categories],
            "n_places": [int(c.mask(places).sum()) for c in categories],
        }
    )
    return AccessResult(
        mode=table.mode,
        approximate=table.approximate,
        origins=table.origins,
        places=table.places,
        nearest=frame,
        od=table.pairs(),
        categories=category_table,
        params={**table.params, "catchment_s": catchment, "operator_limit_s": CHOICE_S},
    )


def summarise_levels(
    nearest: pd.DataFrame,
    communes: pd.DataFrame,
    levels: Sequence[str] = ("epci", "arrondissement", "departement", "region"),
) -> pd.DataFrame:
    """Aggregate the per-commune table of :func:`compute_access` to higher levels.

    Parameters
    ----------
    nearest
        :attr:`AccessResult.nearest`.
    communes
        ``code``, ``population`` and one column per level (``region`` may be absent:
        every commune then belongs to the single Région ``"region"``).
    levels
        Levels to aggregate to.

    Returns
    -------
    pandas.DataFrame
        ``level, code, category`` and the indicators of :func:`geo.analysis.indicators.aggregate`
        (population-weighted mean and median minutes, shares within 10/20/30/45 min,
        population unreached, mean operators within 30 min, mean 2SFCA ratio).
    """
    table = nearest.merge(
        communes.drop(columns="geometry", errors="ignore").rename(columns={"code": "commune_code"}),
        on="commune_code",
        how="left",
        validate="many_to_one",
    )
    if "region" not in table.columns:
        table["region"] = "region"
    table["seconds"] = table["seconds"].fillna(np.inf)
    frames = []
    for level in levels:
        for category, group in table.groupby("category", sort=True):
            summary = indicators.aggregate(group, by=level, extra_mean_cols=("n_operators_30", "fca"))
            summary = summary.rename_axis("code").reset_index()
            summary.insert(0, "level", level)
            summary.insert(2, "category", category)
            frames.append(summary)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def accessibility_tables(
    graph: RoadGraph,
    communes: gpd.GeoDataFrame,
    places: gpd.GeoDataFrame,
    *,
    partner_labels: dict[str, str] | None = None,
    isochrone_minutes: Sequence[int] | None = (15, 30, 45),
    levels: Sequence[str] = ("epci", "arrondissement", "departement", "region"),
    population_grid: gpd.GeoDataFrame | None = None,
) -> tuple[AccessResult, pd.DataFrame, gpd.GeoDataFrame]:
    """Everything ``atlas access`` stores for one mode: per-commune results, indicators
    per level (columns of ``communes``, e.g. ``epci`` or ``zone:<zoning>``) and
    isochrones (none when ``isochrone_minutes`` is None). ``population_grid``: see
    :func:`compute_access`."""
    from geo.isochrones import place_isochrones

    result = compute_access(graph, communes, places, partner_labels=partner_labels, population_grid=population_grid)
    summary = summarise_levels(result.nearest, communes, levels=levels)
    if isochrone_minutes:
        isochrones = place_isochrones(graph, result.places, minutes=isochrone_minutes, communes=communes, od=result.od)
    else:
        isochrones = gpd.GeoDataFrame({"structure_id": [], "minutes": []}, geometry=[], crs=graph.crs)
    return result, summary, isochrones
