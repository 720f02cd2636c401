"""The commune x place travel-time table: where each commune's inhabitants start, how far each place is.

Orientation (every origin x destination matrix of the project follows it)
    **Rows are origins, columns are destinations**: ``seconds[i, j]`` is the time in
    seconds to travel *from* origin ``i`` (a commune, where people live) *to* destination
    ``j`` (a place, or a candidate site). ``inf`` means beyond the table's bound or not
    reachable. On a directed graph (one-way streets) ``[i, j]`` and ``[j, i]`` differ, and
    the project always means the time from the residents to the place. A commune x
    commune matrix (:func:`commune_times`) reads the same way: ``[i, j]`` is from commune
    ``i`` to (a site placed at) commune ``j``. This is the layout of PySAL's cost matrices
    (``spopt``, ``access``) and of r5py's travel-time matrix (from_id, to_id).

Origins
    One point per commune (:func:`geo.origins.commune_origins`: the most populated cell
    of a population grid when one is given, else the densest road node inside the
    commune, where the bourg is; a point inside the polygon otherwise). On an
    approximate commune graph the node of the commune is its origin. An origin farther
    than ``max_snap_m`` from the network (an island whose roads were dropped with the
    small components of the graph, without a ferry) is **off network**: its
    times are unknown, never invented.

Times
    ``origin connector + network time + place connector``. The connectors are the
    straight-line snap distances times :data:`CONNECTOR_DETOUR` at
    :data:`CONNECTOR_SPEED_KPH` of the mode (walking pace on foot, slow local roads by
    car). Within the table's bound every entry is exact. :func:`nearest_places` also
    answers beyond it, for the communes whose nearest place of a category is farther,
    with one multi-source Dijkstra (:func:`geo.routing.nearest_facility_times`).

Ferries
    On a graph with ferry edges (:mod:`geo.network.ferries`) the table is also routed
    without them: a pair whose time is shorter with them needs a boat
    (:attr:`TravelTimes.ferry`, :func:`nearest_needs_ferry`), which pages and exports say
    (« dont traversée en bateau »). Only graphs with ferries pay this second pass, and only
    for the places that some commune could reach faster by boat (a lower bound from two
    Dijkstra runs from the ferry nodes rules the others out).

Places come ordered by ``structure_id``; equal times go to the first, an order that
favours no operator on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import CrsError, MissingColumnError, ValidationError
from geo.network.ferries import FLAG_TOLERANCE_S, ferry_flags, ferry_node_times, has_ferries, without_ferries
from geo.network.graph import RoadGraph
from geo.origins import commune_origins, prepare_origins
from geo.routing import nearest_facility_times, node_times, od_matrix, snap_points
from geo.vocabulary import MATRIX_LIMIT_S, Mode

CONNECTOR_SPEED_KPH: dict[Mode, float] = {"drive": 30.0, "walk": 5.0}
"""Speed (km/h) on the straight-line legs from a point to its graph node."""

CONNECTOR_DETOUR = 1.3
"""Road distance over straight-line distance on connector legs."""

DEFAULT_MAX_SNAP_M: dict[bool, float] = {False: 2_000.0, True: 50_000.0}
"""Origins farther than this from their node are off network (key: graph is approximate)."""


@dataclass(frozen=True)
class TravelTimes:
    """Travel times from every commune to every place, bounded (the table's orientation:
    see the module's docstring).

    Attributes
    ----------
    mode, approximate
        ``"drive"`` or ``"walk"``; True when the graph is the approximate commune graph.
    origins
        GeoDataFrame, one row per commune in the order of the communes given: ``code,
        origin_method, node, snap_m, off_network``, Points in the graph's CRS.
    places
        One row per place, ordered by ``structure_id``: ``structure_id, partner_type,
        site_format, geocoding, node, snap_m``.
    seconds
        float64 ``(n_communes, n_places)``: ``[i, j]`` from commune ``i`` to place ``j``,
        connectors included, ``inf`` beyond ``limit_s``, for off-network communes and
        unreachable pairs.
    limit_s
        The bound of the table (seconds).
    params
        The parameters used, for the record.
    seconds_without_ferries
        The same table on the graph without its ferry edges (:mod:`geo.network.ferries`),
        or None when the graph has no ferry: a pair whose time is shorter with ferries
        needs a boat (:attr:`ferry`).
    """

    mode: Mode
    approximate: bool
    origins: gpd.GeoDataFrame
    places: pd.DataFrame
    seconds: np.ndarray
    limit_s: float
    params: dict[str, float | str] = field(default_factory=dict)
    seconds_without_ferries: np.ndarray | None = None
    _bare_rows: dict[int, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def seconds_beyond_bound_without_ferries(self, graph: RoadGraph, row: int) -> np.ndarray:
        """Seconds from commune ``row`` to every place on ``graph`` without its ferries,
        connectors included, without bound (one Dijkstra, memoised per commune)."""
        if row not in self._bare_rows:
            origin = int(self.origins["node"].to_numpy()[row])
            times = node_times(without_ferries(graph), origin, None, "from")[self.places["node"].to_numpy()]
            self._bare_rows[row] = times + self.origin_connector_s[row] + self.place_connector_s
        return self._bare_rows[row]

    @property
    def ferry(self) -> np.ndarray:
        """bool ``(n_communes, n_places)``: True where the fastest path crosses by boat."""
        if self.seconds_without_ferries is None:
            return np.zeros(self.seconds.shape, dtype=bool)
        return ferry_flags(self.seconds, self.seconds_without_ferries)

    @property
    def connector_ms(self) -> float:
        """Speed on the connector legs, in metres of straight line per second."""
        return CONNECTOR_SPEED_KPH[self.mode] / 3.6 / CONNECTOR_DETOUR

    @property
    def origin_connector_s(self) -> np.ndarray:
        """Seconds from each commune's origin to its node (``inf`` off network)."""
        origins = self.origins
        return np.where(origins["off_network"], np.inf, origins["snap_m"].to_numpy() / self.connector_ms)

    @property
    def place_connector_s(self) -> np.ndarray:
        """Seconds from each place's node to the place."""
        return self.places["snap_m"].to_numpy() / self.connector_ms

    def pairs(self) -> pd.DataFrame:
        """``commune_code, structure_id, seconds, ferry`` for every pair within the bound
        (``ferry``: the fastest path crosses by boat)."""
        origin, place = np.nonzero(np.isfinite(self.seconds))
        return pd.DataFrame(
            {
                "commune_code": self.origins["code"].to_numpy()[origin],
                "structure_id": self.places["structure_id"].to_numpy()[place],
                "seconds": self.seconds[origin, place],
                "ferry": self.ferry[origin, place],
            }
        )


def travel_times(
    graph: RoadGraph,
    communes: gpd.GeoDataFrame,
    places: gpd.GeoDataFrame,
    *,
    limit_s: float | None = None,
    max_snap_m: float | None = None,
    batch_size: int = 2,
    population_grid: gpd.GeoDataFrame | None = None,
) -> TravelTimes:
    """The commune x place table of ``graph``'s mode.

    Parameters
    ----------
    graph
        Road graph (OSM or approximate) in the Région's projected CRS.
    communes
        ``code`` and polygons in ``graph.crs``.
    places
        ``structure_id``, ``partner_type``, ``site_format``, ``geocoding`` and Points in
        ``graph.crs``; identifiers unique.
    limit_s
        Bound of the table in seconds (default per mode, :data:`geo.vocabulary.MATRIX_LIMIT_S`).
    max_snap_m
        Origins farther than this (metres) from the graph are off network (default
        :data:`DEFAULT_MAX_SNAP_M`).
    batch_size
        Places per bounded Dijkstra run (memory: ``batch_size x n_nodes`` float64).
    population_grid
        Optional population cells (:func:`geo.sources.population_grid.read_population_grid`):
        origins at each commune's most populated cell (:mod:`geo.origins`).

    Returns
    -------
    TravelTimes
    """
    check_inputs(graph, communes, places)
    limit = float(limit_s if limit_s is not None else MATRIX_LIMIT_S[graph.mode])
    max_snap = float(max_snap_m if max_snap_m is not None else DEFAULT_MAX_SNAP_M[graph.approximate])
    origins = commune_origins_on(
        graph, communes.reset_index(drop=True), max_snap_m=max_snap, population_grid=population_grid
    )
    places = places.sort_values("structure_id", kind="stable").reset_index(drop=True)
    node, snap = snap_points(graph, places.geometry.x.to_numpy(), places.geometry.y.to_numpy())
    routed = pd.DataFrame(
        {
            "structure_id": places["structure_id"].to_numpy(),
            "partner_type": places["partner_type"].to_numpy(),
            "site_format": places["site_format"].to_numpy(),
            "geocoding": places["geocoding"].to_numpy(),
            "node": node,
            "snap_m": snap,
        }
    )
    table = TravelTimes(
        mode=graph.mode,
        approximate=graph.approximate,
        origins=origins,
        places=routed,
        seconds=np.empty((0, 0)),
        limit_s=limit,
        params={
            "graph_mode": graph.mode,
            "od_limit_s": limit,
            "max_snap_m": max_snap,
            "connector_speed_kph": CONNECTOR_SPEED_KPH[graph.mode],
            "connector_detour": CONNECTOR_DETOUR,
        },
    )
    connectors = table.origin_connector_s[:, np.newaxis] + table.place_connector_s[np.newaxis, :]
    origin_nodes = origins["node"].to_numpy()
    seconds = od_matrix(graph, origin_nodes, node, limit_s=limit, batch_size=batch_size)
    seconds += connectors
    seconds[seconds > limit] = np.inf
    object.__setattr__(table, "seconds", seconds)
    if has_ferries(graph):
        # Second pass without the ferry edges, only for the places some pair of which could
        # need a boat: a ferry path lasts at least (origin -> a ferry) + (a ferry -> place).
        to_ferry, from_ferry = ferry_node_times(graph)
        bound = to_ferry[origin_nodes][:, np.newaxis] + from_ferry[node][np.newaxis, :] + connectors
        columns = np.flatnonzero((np.isfinite(seconds) & (bound <= seconds + FLAG_TOLERANCE_S)).any(axis=0))
        plain = seconds.copy()
        if columns.size:
            bare = od_matrix(without_ferries(graph), origin_nodes, node[columns], limit_s=limit, batch_size=batch_size)
            bare += connectors[:, columns]
            bare[bare > limit] = np.inf
            plain[:, columns] = bare
        object.__setattr__(table, "seconds_without_ferries", plain)
    return table


def nearest_needs_ferry(
    graph: RoadGraph, table: TravelTimes, mask: np.ndarray, seconds: np.ndarray, position: np.ndarray
) -> np.ndarray:
    """Whether the time to the nearest place of ``mask`` that :func:`nearest_places` chose
    (``seconds``, ``position`` among the places of ``mask``) crosses by boat: read off the
    table within its bound; beyond it (islands far from any place), from one Dijkstra per
    such commune on the graph without ferries, shared by every category. All False when
    the graph has no ferry."""
    flags = np.zeros(len(table.origins), dtype=bool)
    if table.seconds_without_ferries is None or not has_ferries(graph):
        return flags
    rows = np.flatnonzero((position >= 0) & np.isfinite(seconds))
    columns = np.flatnonzero(np.asarray(mask, dtype=bool))[position[rows]]
    in_table = table.seconds[rows, columns] <= seconds[rows] + FLAG_TOLERANCE_S
    flags[rows[in_table]] = table.ferry[rows[in_table], columns[in_table]]
    for row, column in zip(rows[~in_table], columns[~in_table], strict=True):
        bare = table.seconds_beyond_bound_without_ferries(graph, int(row))[column]
        flags[row] = bare > seconds[row] + FLAG_TOLERANCE_S
    return flags


def nearest_places(graph: RoadGraph, table: TravelTimes, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Seconds from every commune to its nearest place among ``mask``, without bound.

    Within the table's bound the table (connectors included) is exact: its minimum wins,
    ties going to the first place (places come ordered by ``structure_id``, an order that
    favours no operator). Beyond it, one multi-source Dijkstra gives the nearest by network
    time; places are passed to it in ascending order of their connector so that, among
    places on the same node, the one closest to its node wins.

    Parameters
    ----------
    graph
        The graph ``table`` was computed on.
    table
        :func:`travel_times`.
    mask
        Boolean over the places (columns of ``table.seconds``).

    Returns
    -------
    seconds : numpy.ndarray
        float64 per commune, ``inf`` when no place of ``mask`` is reachable.
    position : numpy.ndarray
        int64 per commune: the nearest place's position among the places of ``mask``
        (``-1`` when none).
    """
    mask = np.asarray(mask, dtype=bool)
    place_extra = table.place_connector_s[mask]
    place_nodes = table.places["node"].to_numpy()[mask]
    origin_nodes = table.origins["node"].to_numpy()
    order = np.argsort(place_extra, kind="stable")
    seconds, position = nearest_facility_times(graph, place_nodes[order])
    seconds, position = seconds[origin_nodes], position[origin_nodes]
    facility = np.where(position >= 0, order[np.maximum(position, 0)], -1)
    total = (
        seconds
        + table.origin_connector_s
        + np.where(facility >= 0, place_extra[np.maximum(facility, 0)] if place_extra.size else 0.0, np.inf)
    )
    sub = table.seconds[:, mask]
    if sub.shape[1]:
        best = np.argmin(sub, axis=1)
        best_seconds = sub[np.arange(sub.shape[0]), best]
        use_table = best_seconds <= total
        total = np.where(use_table, best_seconds, total)
        facility = np.where(use_table, best, facility)
    facility = np.where(np.isfinite(total), facility, -1)
    return total, facility.astype(np.int64)


def commune_times(
    graph: RoadGraph,
    communes: gpd.GeoDataFrame,
    *,
    limit_s: float | None = None,
    max_snap_m: float | None = None,
    batch_size: int = 2,
) -> np.ndarray:
    """Travel time (seconds) from each commune's origin to each commune's origin.

    Used to place candidate new sites at commune origins (what-if). Same origins and
    connectors as :func:`travel_times`; ``inf`` beyond ``limit_s`` (default per mode,
    :data:`geo.vocabulary.MATRIX_LIMIT_S`) and for off-network origins.

    Returns
    -------
    numpy.ndarray
        ``(n_communes, n_communes)``: ``[i, j]`` is the time from commune ``i`` (its
        inhabitants) to a site at commune ``j``'s origin.
    """
    limit = float(limit_s if limit_s is not None else MATRIX_LIMIT_S[graph.mode])
    max_snap = float(max_snap_m if max_snap_m is not None else DEFAULT_MAX_SNAP_M[graph.approximate])
    connector_ms = CONNECTOR_SPEED_KPH[graph.mode] / 3.6 / CONNECTOR_DETOUR
    origins = commune_origins_on(graph, communes.reset_index(drop=True), max_snap_m=max_snap)
    extra = np.where(origins["off_network"], np.inf, origins["snap_m"].to_numpy() / connector_ms)
    nodes = origins["node"].to_numpy()
    times = od_matrix(graph, nodes, nodes, limit_s=limit, batch_size=batch_size)
    times += extra[:, np.newaxis] + extra[np.newaxis, :]
    times[times > limit] = np.inf
    return times


def commune_origins_on(
    graph: RoadGraph,
    communes: gpd.GeoDataFrame,
    *,
    max_snap_m: float,
    population_grid: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Origins of the communes snapped to ``graph`` (``code, origin_method, node, snap_m,
    off_network``); on an approximate graph, each commune's own node. The road density
    is the one stored with the graph when there is one (:func:`geo.origins.prepare_origins`)."""
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
        origins = commune_origins(
            communes,
            graph.x,
            graph.y,
            density=prepare_origins(graph),
            population_grid=population_grid,
            tree=graph.to_kdtree(),
        )
        node, snap = snap_points(graph, origins.geometry.x.to_numpy(), origins.geometry.y.to_numpy())
    origins["node"] = node
    origins["snap_m"] = snap
    origins["off_network"] = snap > max_snap_m
    return origins


def network_coverage(graph: RoadGraph, communes: gpd.GeoDataFrame, *, max_snap_m: float | None = None) -> float:
    """Share of the population (0-1) living in communes that the graph covers.

    A commune is covered when a point inside it (``representative_point``) lies within
    ``max_snap_m`` metres (default :data:`DEFAULT_MAX_SNAP_M`) of a graph node: a network
    of another territory, or in another CRS by mistake, covers nothing.
    """
    _check_crs("communes", communes, graph)
    if graph.n_nodes == 0 or communes.empty:
        return 0.0
    max_snap = float(max_snap_m if max_snap_m is not None else DEFAULT_MAX_SNAP_M[graph.approximate])
    points = communes.geometry.representative_point()
    _, distance = snap_points(graph, points.x.to_numpy(), points.y.to_numpy())
    population = communes["population"].to_numpy(dtype=np.float64)
    total = population.sum()
    covered = population[distance <= max_snap].sum()
    return float(covered / total) if total > 0 else float((distance <= max_snap).mean())


PLACE_COLUMNS: tuple[str, ...] = ("structure_id", "partner_type", "site_format", "geocoding")
"""Columns :func:`travel_times` reads from the places (and keeps in :attr:`TravelTimes.places`)."""


def check_inputs(
    graph: RoadGraph,
    communes: gpd.GeoDataFrame,
    places: gpd.GeoDataFrame,
    *,
    place_columns: tuple[str, ...] = PLACE_COLUMNS,
) -> None:
    """Refuse communes or places lacking a column or in another CRS than the graph, and a
    ``structure_id`` given twice (naming its row)."""
    for name, frame, columns in (
        ("communes", communes, ("code", "population")),
        ("places", places, place_columns),
    ):
        missing = [column for column in columns if column not in frame.columns]
        if missing:
            msg = f"{name} lack the column(s) {', '.join(missing)}"
            raise MissingColumnError(msg, field=missing[0])
        _check_crs(name, frame, graph)
    duplicated = places["structure_id"].duplicated()
    if duplicated.any():
        msg = f"structure_id {places['structure_id'][duplicated].iloc[0]} appears twice"
        raise ValidationError(msg, row=int(np.flatnonzero(duplicated)[0]) + 1, field="structure_id")


def _check_crs(name: str, frame: gpd.GeoDataFrame, graph: RoadGraph) -> None:
    if frame.crs is None or not frame.crs.equals(graph.crs):
        msg = f"{name} are in {frame.crs}, the graph in {graph.crs}"
        raise CrsError(msg)
