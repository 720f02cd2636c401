"""Travel time from every commune to the SPRO network, per category of place.

This module turns a road graph, the communes and the structures into the accessibility
tables of the diagnostic. It is pure: frames in, frames out (storage is elsewhere).

Origins
    One point per commune (:func:`geo.origins.commune_origins`: the densest road node
    inside the commune, where the bourg is; a point inside the polygon otherwise). On an
    approximate commune graph the node of the commune is its origin. An origin farther
    than ``max_snap_m`` from the network (an island whose roads were dropped with the
    small components of the graph: ferries are not modelled) is **off network**: its
    times are unknown (NaN), never invented.

Categories (:class:`Category`)
    ``any`` (every place receiving the public), ``mission:<m>``, ``partner_type:<t>``,
    ``public:<p>`` (places whose publics include ``p`` or ``tout_public``). ``any`` and
    each mission also exist as ``...:fixe``: fixed sites only, without itinerant services
    and buses, so that the part of access owed to permanences stays visible.

Times (seconds)
    ``origin connector + network time + facility connector``. The connectors are the
    straight-line snap distances times ``CONNECTOR_DETOUR`` at ``CONNECTOR_SPEED_KPH`` of
    the mode (walking pace on foot, slow local roads by car). The nearest place of a
    category comes from one multi-source Dijkstra on the reversed graph
    (:func:`geo.routing.nearest_facility_times`), checked against the matrix below:
    within the matrix bound the matrix minimum (connectors included) is exact and wins;
    beyond it the facility connector is added after the choice.

Ties
    Equal times go to the place whose ``structure_id`` sorts first (places are sorted by
    it); identifiers are "<dataset>:<id in source>", an order that favours no operator
    on purpose (never a ranking of partners).

Matrix
    Times from every commune to every place within ``od_limit_s`` (one bounded Dijkstra
    per batch of places on the reversed graph). It feeds the number of distinct partner
    networks reachable within 30 minutes (choice), the 2SFCA ratio and the public finder.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.sparse.csgraph import dijkstra

from geo import indicators
from geo.errors import CrsError, MissingColumnError, ValidationError
from geo.network.graph import RoadGraph
from geo.origins import commune_origins
from geo.routing import nearest_facility_times, snap_points
from geo.schema import MISSIONS

CategoryKind = Literal["any", "mission", "partner_type", "public"]
Mode = Literal["drive", "walk"]

FIXED_SITE_FORMATS: frozenset[str] = frozenset({"fixe", "fixe_antennes"})
"""Site formats counted as fixed places (``itinerant``, ``bus`` and ``multisites`` are not)."""

CONNECTOR_SPEED_KPH: dict[str, float] = {"drive": 30.0, "walk": 5.0}
"""Speed (km/h) on the straight-line legs from a point to its graph node."""

CONNECTOR_DETOUR = 1.3
"""Road distance over straight-line distance on connector legs."""

DEFAULT_MAX_SNAP_M: dict[bool, float] = {False: 2_000.0, True: 50_000.0}
"""Origins farther than this from their node are off network (key: graph is approximate)."""

DEFAULT_OD_LIMIT_S: dict[str, float] = {"drive": 3_600.0, "walk": 7_200.0}
"""Bound of the commune x place matrix, per mode: one hour by car, two hours on foot."""

OPERATOR_LIMIT_S = 1_800.0
"""Distinct partner networks are counted within 30 minutes."""

CATCHMENT_S: dict[str, float] = {"drive": 1_800.0, "walk": 2_700.0}
"""Catchment (Gaussian 2SFCA, seconds) per mode: 30 minutes by car, 45 on foot."""

TOUT_PUBLIC = "tout_public"

MAIN_CATEGORIES: tuple[str, ...] = (
    "any",
    "any:fixe",
    "mission:accueil",
    "mission:information",
    "mission:conseil",
    "mission:accompagnement",
)
"""Categories shown first in summaries and spread into columns of exports."""


@dataclass(frozen=True)
class Category:
    """A family of places whose nearest member is computed for every commune.

    ``code`` is the stable identifier stored in the database, e.g. ``"any"``,
    ``"any:fixe"``, ``"mission:conseil"``, ``"partner_type:cio"``, ``"public:jeunes"``.
    """

    kind: CategoryKind
    key: str = ""
    fixed_only: bool = False

    @property
    def code(self) -> str:
        """Identifier, e.g. ``mission:conseil:fixe``."""
        parts = [self.kind] + ([self.key] if self.key else []) + (["fixe"] if self.fixed_only else [])
        return ":".join(parts)

    @classmethod
    def from_code(cls, code: str) -> Category:
        """Parse :attr:`code` (``any``, ``any:fixe``, ``mission:conseil:fixe``...)."""
        parts = code.split(":")
        fixed = parts[-1] == "fixe" and len(parts) in (2, 3) and not (len(parts) == 2 and parts[0] != "any")
        if fixed:
            parts = parts[:-1]
        kind, key = parts[0], ":".join(parts[1:])
        if kind not in ("any", "mission", "partner_type", "public") or (kind == "any") != (key == ""):
            msg = f"unknown category {code!r}; expected any, any:fixe, mission:<m>[:fixe], partner_type:<t> or public:<p>"
            raise ValidationError(msg, field="category")
        if kind == "mission" and key not in MISSIONS:
            msg = f"unknown mission {key!r}; expected one of {', '.join(MISSIONS)}"
            raise ValidationError(msg, field="category")
        return cls(kind, key, fixed_only=fixed)  # type: ignore[arg-type]

    def label(self, partner_labels: dict[str, str] | None = None) -> str:
        """French label for the user interface."""
        suffix = " (sites fixes)" if self.fixed_only else ""
        if self.kind == "any":
            return f"Tout lieu du SPRO{suffix}"
        if self.kind == "mission":
            return f"Mission : {self.key}{suffix}"
        if self.kind == "partner_type":
            return (partner_labels or {}).get(self.key, self.key)
        return f"Public : {self.key.replace('_', ' ')}"

    def mask(self, places: pd.DataFrame) -> np.ndarray:
        """Boolean mask of the rows of ``places`` (``missions``, ``publics`` lists,
        ``partner_type``, ``site_format``) belonging to this category."""
        if self.kind == "any":
            keep = np.ones(len(places), dtype=bool)
        elif self.kind == "mission":
            keep = places["missions"].map(lambda values: self.key in values).to_numpy(dtype=bool)
        elif self.kind == "partner_type":
            keep = (places["partner_type"] == self.key).to_numpy(dtype=bool)
        else:
            keep = places["publics"].map(
                lambda values: self.key in values or TOUT_PUBLIC in values
            ).to_numpy(dtype=bool)
        if self.fixed_only:
            keep = keep & places["site_format"].isin(FIXED_SITE_FORMATS).to_numpy(dtype=bool)
        return keep


def categories_for(places: pd.DataFrame) -> list[Category]:
    """Every category that has at least one place in ``places``, in a stable order.

    Order: ``any``, ``any:fixe``, the missions (each followed by its fixed-only
    variant), the partner types (alphabetical), the publics (alphabetical, without
    ``tout_public``, which is folded into each public).
    """
    candidates = [Category("any"), Category("any", fixed_only=True)]
    for mission in MISSIONS:
        candidates += [Category("mission", mission), Category("mission", mission, fixed_only=True)]
    candidates += [Category("partner_type", key) for key in sorted(set(places["partner_type"]))]
    publics = sorted({p for values in places["publics"] for p in values} - {TOUT_PUBLIC})
    candidates += [Category("public", key) for key in publics]
    return [category for category in candidates if category.mask(places).any()]


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
        2SFCA ratio, places per 10,000 inhabitants).
    od
        ``commune_code, structure_id, seconds`` for every pair within ``od_limit_s``.
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
    batch_size: int = 8,
) -> AccessResult:
    """Compute nearest places per category, the commune x place matrix and the indicators.

    Parameters
    ----------
    graph
        Road graph (OSM or approximate) in the Région's projected CRS; ``graph.mode``
        gives the mode (``drive``/``walk``, approximate or not).
    communes
        ``code``, ``population`` and polygons, in ``graph.crs``.
    places
        Structures receiving the public: ``structure_id``, ``partner_type``,
        ``missions``, ``publics``, ``site_format``, ``geocoding``, Points in ``graph.crs``.
    partner_labels
        Partner type -> French label, for the category labels.
    od_limit_s
        Bound of the matrix in seconds (default per mode, :data:`DEFAULT_OD_LIMIT_S`);
        at least ``catchment_s`` and :data:`OPERATOR_LIMIT_S`.
    catchment_s
        Catchment of the Gaussian 2SFCA in seconds (default per mode, :data:`CATCHMENT_S`).
    max_snap_m
        Origins farther than this (metres) from the graph are off network (default
        :data:`DEFAULT_MAX_SNAP_M`).
    batch_size
        Places per bounded Dijkstra run of the matrix (memory: ``batch_size x n_nodes``
        float64).

    Returns
    -------
    AccessResult
    """
    _check_inputs(graph, communes, places)
    mode = "walk" if graph.mode.endswith("walk") else "drive"
    od_limit = float(od_limit_s if od_limit_s is not None else DEFAULT_OD_LIMIT_S[mode])
    catchment = float(catchment_s if catchment_s is not None else CATCHMENT_S[mode])
    if od_limit < max(catchment, OPERATOR_LIMIT_S):
        msg = f"od_limit_s ({od_limit:g} s) must cover the catchment and the 30-minute choice count"
        raise ValidationError(msg, field="od_limit_s")
    max_snap = float(max_snap_m if max_snap_m is not None else DEFAULT_MAX_SNAP_M[graph.approximate])
    connector_ms = CONNECTOR_SPEED_KPH[mode] / 3.6 / CONNECTOR_DETOUR

    communes = communes.reset_index(drop=True)
    places = places.sort_values("structure_id", kind="stable").reset_index(drop=True)
    origins = _origins(graph, communes, max_snap)
    origin_nodes = origins["node"].to_numpy()
    origin_extra = np.where(origins["off_network"], np.inf, origins["snap_m"].to_numpy() / connector_ms)

    place_node, place_snap = snap_points(graph, places.geometry.x.to_numpy(), places.geometry.y.to_numpy())
    place_extra = place_snap / connector_ms
    routed = pd.DataFrame(
        {
            "structure_id": places["structure_id"].to_numpy(),
            "partner_type": places["partner_type"].to_numpy(),
            "site_format": places["site_format"].to_numpy(),
            "geocoding": places["geocoding"].to_numpy(),
            "node": place_node,
            "snap_m": place_snap,
        }
    )

    od = od_matrix(graph, place_node, origin_nodes, limit_s=od_limit, batch_size=batch_size)
    od += origin_extra[np.newaxis, :]
    od += place_extra[:, np.newaxis]
    od[od > od_limit] = np.inf
    population = communes["population"].to_numpy(dtype=np.float64)

    categories = categories_for(places)
    rows = []
    for category in categories:
        mask = category.mask(places)
        sub = od[mask]
        seconds, structure = _nearest(graph, place_node[mask], place_extra[mask], origin_nodes, origin_extra, sub)
        ids = places["structure_id"].to_numpy()[mask]
        rows.append(
            pd.DataFrame(
                {
                    "commune_code": communes["code"].to_numpy(),
                    "category": category.code,
                    "seconds": np.where(np.isfinite(seconds), seconds, np.nan),
                    "structure_id": np.where(structure >= 0, ids[np.maximum(structure, 0)], None),
                    "n_operators_30": indicators.distinct_within(
                        sub, places["partner_type"].to_numpy()[mask], limit_s=OPERATOR_LIMIT_S
                    ),
                    "fca": indicators.two_step_fca(
                        sub, np.ones(int(mask.sum())), population, catchment_s=catchment
                    ),
                }
            )
        )
    nearest = pd.concat(rows, ignore_index=True)
    nearest.loc[nearest["seconds"].isna(), "structure_id"] = None

    place_index, origin_index = np.nonzero(np.isfinite(od))
    pairs = pd.DataFrame(
        {
            "commune_code": communes["code"].to_numpy()[origin_index],
            "structure_id": places["structure_id"].to_numpy()[place_index],
            "seconds": od[place_index, origin_index],
        }
    )
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
        mode=mode,
        approximate=graph.approximate,
        origins=origins,
        places=routed,
        nearest=nearest,
        od=pairs,
        categories=category_table,
        params={
            "graph_mode": graph.mode,
            "od_limit_s": od_limit,
            "catchment_s": catchment,
            "operator_limit_s": OPERATOR_LIMIT_S,
            "max_snap_m": max_snap,
            "connector_speed_kph": CONNECTOR_SPEED_KPH[mode],
            "connector_detour": CONNECTOR_DETOUR,
        },
    )


def od_matrix(
    graph: RoadGraph,
    place_nodes: np.ndarray,
    origin_nodes: np.ndarray,
    *,
    limit_s: float,
    batch_size: int = 8,
) -> np.ndarray:
    """Network time (seconds) from each origin node to each place node, bounded.

    Runs one bounded Dijkstra per batch of places on the reversed graph (times *to* a
    place are times *from* it on the reversed graph).

    Parameters
    ----------
    graph
        The road graph.
    place_nodes, origin_nodes
        Node indices (int) of the places (rows) and of the origins (columns).
    limit_s
        Pairs farther than this are ``inf``.
    batch_size
        Places per Dijkstra call.

    Returns
    -------
    numpy.ndarray
        float64, shape ``(len(place_nodes), len(origin_nodes))``.
    """
    if batch_size < 1:
        msg = f"batch_size must be at least 1, got {batch_size}"
        raise ValidationError(msg, field="batch_size")
    place_nodes = np.asarray(place_nodes, dtype=np.int64)
    origin_nodes = np.asarray(origin_nodes, dtype=np.int64)
    matrix = np.full((place_nodes.size, origin_nodes.size), np.inf)
    if place_nodes.size == 0 or origin_nodes.size == 0 or graph.n_nodes == 0:
        return matrix
    unique_nodes, inverse = np.unique(place_nodes, return_inverse=True)
    reverse = graph.to_csr(reverse=True)
    for start, stop in _batches(unique_nodes.size, batch_size):
        times = dijkstra(reverse, directed=True, indices=unique_nodes[start:stop], limit=limit_s)
        times = np.atleast_2d(times)[:, origin_nodes]
        for offset in range(stop - start):
            matrix[inverse == start + offset] = times[offset]
    return matrix


def _batches(n: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, size):
        yield start, min(start + size, n)


def _nearest(
    graph: RoadGraph,
    place_nodes: np.ndarray,
    place_extra: np.ndarray,
    origin_nodes: np.ndarray,
    origin_extra: np.ndarray,
    od: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Seconds to the nearest place and its position among ``place_nodes``, per origin.

    Within the matrix bound the matrix (``od``: places x origins, connectors included)
    is exact: its minimum wins, ties going to the first place (places come ordered by
    ``structure_id``, an order that favours no operator). Beyond it, the multi-source
    run gives the nearest by network time; places are passed to it in ascending order of
    their facility connector so that, among places on the same node, the one closest to
    its node wins.
    """
    order = np.argsort(place_extra, kind="stable")
    seconds, position = nearest_facility_times(graph, place_nodes[order])
    seconds = seconds[origin_nodes]
    position = position[origin_nodes]
    facility = np.where(position >= 0, order[np.maximum(position, 0)], -1)
    total = seconds + origin_extra + np.where(facility >= 0, place_extra[np.maximum(facility, 0)], np.inf)
    if od.shape[0]:
        best = np.argmin(od, axis=0)
        best_seconds = od[best, np.arange(od.shape[1])]
        use_matrix = best_seconds <= total
        total = np.where(use_matrix, best_seconds, total)
        facility = np.where(use_matrix, best, facility)
    facility = np.where(np.isfinite(total), facility, -1)
    return total, facility


def _origins(graph: RoadGraph, communes: gpd.GeoDataFrame, max_snap_m: float) -> gpd.GeoDataFrame:
    """Origins snapped to the graph; on an approximate graph, the commune's own node."""
    if graph.approximate and graph.node_label is not None:
        position = pd.Series(np.arange(graph.n_nodes), index=graph.node_label)
        codes = communes["code"].astype(str)
        missing = ~codes.isin(position.index)
        if missing.any():
            msg = f"commune {codes[missing].iloc[0]} has no node in the approximate graph"
            raise ValidationError(msg, row=int(np.flatnonzero(missing)[0]) + 1, field="code")
        node = position.loc[codes].to_numpy()
        origins = gpd.GeoDataFrame(
            {"code": codes.to_numpy(), "origin_method": "commune_node"},
            geometry=gpd.points_from_xy(graph.x[node], graph.y[node]),
            crs=communes.crs,
        )
        snap = np.zeros(len(origins))
    else:
        origins = commune_origins(communes, graph.x, graph.y)
        node, snap = snap_points(graph, origins.geometry.x.to_numpy(), origins.geometry.y.to_numpy())
    origins["node"] = node
    origins["snap_m"] = snap
    origins["off_network"] = snap > max_snap_m
    return origins


def _check_inputs(graph: RoadGraph, communes: gpd.GeoDataFrame, places: gpd.GeoDataFrame) -> None:
    for name, frame, columns in (
        ("communes", communes, ("code", "population")),
        ("places", places, ("structure_id", "partner_type", "missions", "publics", "site_format", "geocoding")),
    ):
        missing = [column for column in columns if column not in frame.columns]
        if missing:
            msg = f"{name} lack the column(s) {', '.join(missing)}"
            raise MissingColumnError(msg, field=missing[0])
        if frame.crs is None or not frame.crs.equals(graph.crs):
            msg = f"{name} are in {frame.crs}, the graph in {graph.crs}"
            raise CrsError(msg)
    duplicated = places["structure_id"].duplicated()
    if duplicated.any():
        msg = f"structure_id {places['structure_id'][duplicated].iloc[0]} appears twice"
        raise ValidationError(msg, row=int(np.flatnonzero(duplicated)[0]) + 1, field="structure_id")


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
        ``level, code, category`` and the indicators of :func:`geo.indicators.aggregate`
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
) -> tuple[AccessResult, pd.DataFrame, gpd.GeoDataFrame]:
    """Everything ``atlas access`` stores for one mode: per-commune results, indicators
    per level (columns of ``communes``, e.g. ``epci`` or ``zone:<zoning>``) and
    isochrones (none when ``isochrone_minutes`` is None)."""
    from geo.isochrones import place_isochrones

    result = compute_access(graph, communes, places, partner_labels=partner_labels)
    levels = summarise_levels(result.nearest, communes, levels=levels)
    if isochrone_minutes:
        isochrones = place_isochrones(
            graph, result.places, minutes=isochrone_minutes, communes=communes, od=result.od
        )
    else:
        isochrones = gpd.GeoDataFrame({"structure_id": [], "minutes": []}, geometry=[], crs=graph.crs)
    return result, levels, isochrones


def commune_times(
    graph: RoadGraph,
    communes: gpd.GeoDataFrame,
    *,
    limit_s: float | None = None,
    max_snap_m: float | None = None,
    batch_size: int = 8,
) -> np.ndarray:
    """Travel time (seconds) from each commune's origin to each commune's origin.

    Used to place candidate new sites at commune origins (what-if). Same origins and
    connectors as :func:`compute_access`; ``inf`` beyond ``limit_s`` (default per mode,
    :data:`DEFAULT_OD_LIMIT_S`) and for off-network origins.

    Returns
    -------
    numpy.ndarray
        ``(n_communes, n_communes)``: row ``j`` = candidate site at commune ``j``,
        column ``i`` = inhabitants of commune ``i`` (the layout of ``times_s`` in
        :mod:`geo.location`).
    """
    mode = "walk" if graph.mode.endswith("walk") else "drive"
    limit = float(limit_s if limit_s is not None else DEFAULT_OD_LIMIT_S[mode])
    max_snap = float(max_snap_m if max_snap_m is not None else DEFAULT_MAX_SNAP_M[graph.approximate])
    connector_ms = CONNECTOR_SPEED_KPH[mode] / 3.6 / CONNECTOR_DETOUR
    origins = _origins(graph, communes.reset_index(drop=True), max_snap)
    extra = np.where(origins["off_network"], np.inf, origins["snap_m"].to_numpy() / connector_ms)
    nodes = origins["node"].to_numpy()
    times = od_matrix(graph, nodes, nodes, limit_s=limit, batch_size=batch_size)
    times += extra[np.newaxis, :] + extra[:, np.newaxis]
    times[times > limit] = np.inf
    return times


def network_coverage(graph: RoadGraph, communes: gpd.GeoDataFrame, *, max_snap_m: float | None = None) -> float:
    """Share of the population (0-1) living in communes that the graph covers.

    A commune is covered when a point inside it (``representative_point``) lies within
    ``max_snap_m`` metres (default :data:`DEFAULT_MAX_SNAP_M`) of a graph node: a network
    of another territory, or in another CRS by mistake, covers nothing.
    """
    _check_inputs_crs(graph, communes)
    if graph.n_nodes == 0 or communes.empty:
        return 0.0
    max_snap = float(max_snap_m if max_snap_m is not None else DEFAULT_MAX_SNAP_M[graph.approximate])
    points = communes.geometry.representative_point()
    _, distance = snap_points(graph, points.x.to_numpy(), points.y.to_numpy())
    population = communes["population"].to_numpy(dtype=np.float64)
    total = population.sum()
    covered = population[distance <= max_snap].sum()
    return float(covered / total) if total > 0 else float((distance <= max_snap).mean())


def _check_inputs_crs(graph: RoadGraph, communes: gpd.GeoDataFrame) -> None:
    if communes.crs is None or not communes.crs.equals(graph.crs):
        msg = f"communes are in {communes.crs}, the graph in {graph.crs}"
        raise CrsError(msg)
