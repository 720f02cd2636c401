"""Ferries: ``route=ferry`` ways joining islands to the mainland, in both modes.

An OSM ferry is a way tagged ``route=ferry`` (no ``highway`` tag) whose ends usually share
a node with the road or the path to the quay. The OSM reader (:mod:`geo.network.osm`)
hands these ways to a :class:`FerryCollector`; :func:`ferry_edges` then turns them into
edges of the graph, flagged in :attr:`RoadGraph.ferry <geo.network.graph.RoadGraph>`, before
the strongly connected component is kept, so that an island with a ferry joins the
network and its inhabitants get a real time, crossing included.

Rules (the same for ``drive`` and ``walk``)
    * **Which ferries**: every ``route=ferry`` way but those closed to the public
      (``access=no|private``) and, on foot, those closed to pedestrians (``foot=no``).
      Passenger-only boats are kept in the ``drive`` mode too: islanders of Batz,
      Bréhat, Sein or Houat cross on foot and drive on from the quay; their "by car" time
      is then road on the island + crossing + road on the mainland.
    * **Crossing time**: the ``duration`` tag of the way (``"00:45"``, ``"1:30:00"``,
      ``"45"`` minutes, or ISO 8601 ``"PT1H30M"``, see :func:`parse_duration`) spread over
      its segments by length; without it, the length at :data:`FERRY_SPEED_KPH` (5 km/h,
      the ferry speed of OSRM's car and foot profiles, which stands for boarding and
      waiting as much as sailing). Neither counts the wait for the next departure.
    * **Direction**: both ways, unless ``oneway=yes``.
    * **Landing**: a ferry end that shares no node with the network of the mode is joined
      to the nearest node within :data:`LANDING_M` metres (straight line at
      :data:`LANDING_SPEED_KPH`); farther, the end stays unjoined (and is dropped with the
      small components).

Islands without a ferry stay as they were (their own component, or off network).
:func:`ferry_flags` says, for routed times, whether the fastest path needs a boat.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from geo.network.graph import RoadGraph
from geo.vocabulary import Mode

FERRY_SPEED_KPH = 5.0
"""Speed of a ferry way without ``duration`` (OSRM's ``route_speeds.ferry``), km/h."""

LANDING_M = 300.0
"""Greatest gap (metres) between a ferry end and the network that a landing link closes."""

LANDING_SPEED_KPH: dict[Mode, float] = {"drive": 10.0, "walk": 5.0}
"""Speed on a landing link (ramp, quay), km/h."""

FLAG_TOLERANCE_S = 1e-3
"""A time with ferries shorter than the time without them by more than this (seconds) uses a
boat; well above float rounding and the 1e-9 s tie-breaks of :mod:`geo.routing`."""

_CLOSED = frozenset({"no", "private"})
_CLOCK = re.compile(r"^(\d+):([0-5]?\d)(?::([0-5]?\d(?:\.\d+)?))?$")
_ISO = re.compile(
    r"^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)


def parse_duration(text: str | None) -> float | None:
    """Seconds of an OSM ``duration`` tag, or None when absent or unreadable.

    Examples
    --------
    >>> [parse_duration(t) for t in ("00:45", "1:30:00", "45", "PT1H30M", "P0DT20M", "soon", None)]
    [2700.0, 5400.0, 2700.0, 5400.0, 1200.0, None, None]
    """
    if text is None:
        return None
    text = text.strip()
    if match := _CLOCK.match(text):
        hours, minutes, seconds = match.groups()
        value = int(hours) * 3600.0 + int(minutes) * 60.0 + float(seconds or 0.0)
    elif text.isdigit():
        value = int(text) * 60.0
    elif (match := _ISO.match(text)) and text.upper() not in ("P", "PT"):
        days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
        value = days * 86400.0 + hours * 3600.0 + minutes * 60.0 + seconds
    else:
        return None
    return value if value > 0 else None


def is_ferry(tags: dict[str, str], *, mode: Mode) -> bool:
    """True for a ``route=ferry`` way usable in ``mode`` (see the module's rules)."""
    if tags.get("route") != "ferry" or tags.get("access") in _CLOSED:
        return False
    return not (mode == "walk" and tags.get("foot") in _CLOSED)


@dataclass
class FerryCollector:
    """Ferry ways met while streaming an OSM file: node refs, locations, tags that matter.

    The OSM reader calls :meth:`offer` on every way it streams (one line in its loop);
    :func:`add_ferries` reads what was kept.
    """

    mode: Mode
    refs: list[int] = field(default_factory=list)
    lon7: list[int] = field(default_factory=list)
    lat7: list[int] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    duration_s: list[float] = field(default_factory=list)
    """Per way: seconds of its ``duration`` tag, NaN when absent."""
    oneway: list[bool] = field(default_factory=list)

    def offer(self, tags: dict[str, str], nodes: object) -> bool:
        """Keep the way if it is a ferry of the mode; True when kept (the caller skips it then).

        ``nodes`` is the pyosmium node list of the way (``.ref``, ``.x``, ``.y``).
        """
        if not is_ferry(tags, mode=self.mode):
            return tags.get("route") == "ferry"  # a closed ferry is no road either
        count = 0
        for node in nodes:  # type: ignore[attr-defined]
            self.refs.append(node.ref)
            self.lon7.append(node.x)
            self.lat7.append(node.y)
            count += 1
        self.lengths.append(count)
        duration = parse_duration(tags.get("duration"))
        self.duration_s.append(np.nan if duration is None else duration)
        self.oneway.append(tags.get("oneway") in ("yes", "true", "1"))
        return True

    def __len__(self) -> int:
        """Number of ferry ways kept."""
        return len(self.lengths)


@dataclass(frozen=True)
class FerryEdges:
    """What the ferry ways add to a network: new nodes, then new edges.

    ``node_id``, ``x``, ``y``: the ferry nodes the network does not hold, appended after its
    nodes (index ``n_nodes + i``). ``src``, ``dst``, ``seconds``, ``ferry``: the ferry edges
    and the landing links (``ferry`` False for these), as node indices of the network
    extended by the new nodes.
    """

    node_id: np.ndarray
    x: np.ndarray
    y: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    seconds: np.ndarray
    ferry: np.ndarray


def ferry_edges(
    node_id: np.ndarray, x: np.ndarray, y: np.ndarray, ferries: FerryCollector, transform: object
) -> FerryEdges | None:
    """The nodes and edges that the collected ferry ways add to a network (module's rules).

    Parameters
    ----------
    node_id, x, y
        The nodes of the network of ``ferries.mode``: OSM ids and coordinates in metres in
        the CRS of ``transform``, before any component is dropped.
    ferries
        The ferry ways of the same OSM file.
    transform
        ``pyproj.Transformer`` (or anything with ``transform(lon, lat)``) from WGS84 to the
        CRS of ``x`` and ``y``.

    Returns
    -------
    FerryEdges or None
        None when there is no located ferry way.
    """
    if not len(ferries):
        return None
    refs = np.asarray(ferries.refs, dtype=np.int64)
    lon7 = np.asarray(ferries.lon7, dtype=np.int64)
    lat7 = np.asarray(ferries.lat7, dtype=np.int64)
    way = np.repeat(np.arange(len(ferries)), ferries.lengths)
    located = (np.abs(lon7) <= 1_800_000_000) & (np.abs(lat7) <= 900_000_000)
    refs, lon7, lat7, way = refs[located], lon7[located], lat7[located], way[located]
    if refs.size < 2:
        return None
    n_nodes = int(node_id.shape[0])

    # Network index of every ferry node: an existing node, or a new one appended.
    if n_nodes:
        order = np.argsort(node_id)
        position = np.minimum(np.searchsorted(node_id, refs, sorter=order), n_nodes - 1)
        existing = node_id[order[position]] == refs
        index = np.where(existing, order[position], -1)
    else:
        existing = np.zeros(refs.size, dtype=bool)
        index = np.full(refs.size, -1, dtype=np.int64)
    new_refs, first, inverse = np.unique(refs[~existing], return_index=True, return_inverse=True)
    index[~existing] = n_nodes + inverse
    new_x, new_y = transform.transform(  # type: ignore[attr-defined]
        lon7[~existing][first] / 1e7, lat7[~existing][first] / 1e7
    )
    new_x = np.asarray(new_x, dtype=np.float64)
    new_y = np.asarray(new_y, dtype=np.float64)

    def coordinates(nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates of network nodes and new nodes (without concatenating the network's)."""
        old = nodes < n_nodes
        px, py = np.empty(nodes.size), np.empty(nodes.size)
        px[old], py[old] = x[nodes[old]], y[nodes[old]]
        px[~old], py[~old] = new_x[nodes[~old] - n_nodes], new_y[nodes[~old] - n_nodes]
        return px, py

    # Ferry edges: consecutive nodes of a way, time by length share of its duration.
    tail = np.flatnonzero((way[:-1] == way[1:]) & (index[:-1] != index[1:]))
    head = tail + 1
    a, b, edge_way = index[tail], index[head], way[tail]
    (ax, ay), (bx, by) = coordinates(a), coordinates(b)
    length = np.hypot(bx - ax, by - ay)
    way_length = np.bincount(edge_way, weights=length, minlength=len(ferries))
    duration = np.asarray(ferries.duration_s)[edge_way]
    share = np.divide(length, way_length[edge_way], out=np.zeros_like(length), where=way_length[edge_way] > 0)
    seconds = np.where(np.isfinite(duration), duration * share, length / (FERRY_SPEED_KPH / 3.6))
    seconds = np.maximum(seconds, 1e-3)
    both = ~np.asarray(ferries.oneway, dtype=bool)[edge_way]
    src = [a, b[both]]
    dst = [b, a[both]]
    times = [seconds, seconds[both]]
    flags = [np.ones(a.size, dtype=bool), np.ones(int(both.sum()), dtype=bool)]

    # Landing links for the ends of each ferry way that are not on the network.
    starts = np.r_[0, np.flatnonzero(way[1:] != way[:-1]) + 1]
    stops = np.r_[starts[1:] - 1, way.size - 1]
    ends = np.unique(index[np.concatenate((starts, stops))])
    loose = ends[ends >= n_nodes]
    if loose.size and n_nodes:
        lx, ly = coordinates(loose)
        distance, nearest = cKDTree(np.column_stack((x, y))).query(np.column_stack((lx, ly)), k=1)
        close = distance <= LANDING_M
        land_s = np.maximum(distance[close] / (LANDING_SPEED_KPH[ferries.mode] / 3.6), 1e-3)
        src += [loose[close], nearest[close]]
        dst += [nearest[close], loose[close]]
        times += [land_s, land_s]
        flags += [np.zeros(int(close.sum()) * 2, dtype=bool)]

    return FerryEdges(
        node_id=new_refs,
        x=new_x,
        y=new_y,
        src=np.concatenate(src).astype(np.int64),
        dst=np.concatenate(dst).astype(np.int64),
        seconds=np.concatenate(times),
        ferry=np.concatenate(flags),
    )


def add_ferries(graph: RoadGraph, ferries: FerryCollector, transform: object) -> RoadGraph:
    """Return ``graph`` with the collected ferry ways as flagged edges (see the module's rules
    and :func:`ferry_edges`; the OSM reader applies :func:`ferry_edges` to its arrays).

    Parameters
    ----------
    graph
        The road graph of the mode, nodes identified by OSM id (``node_id``), before any
        component is dropped.
    ferries
        The ferry ways of the same OSM file.
    transform
        ``pyproj.Transformer`` (or anything with ``transform(lon, lat)``) from WGS84 to
        ``graph.crs``.

    Returns
    -------
    RoadGraph
        The graph with new nodes (ferry nodes the roads do not share) and edges; its
        ``ferry`` array flags the ferry edges (landing links are not ferry edges).
    """
    extra = ferry_edges(graph.node_id, graph.x, graph.y, ferries, transform)
    if extra is None:
        return graph
    flags = graph.ferry if graph.ferry is not None else np.zeros(graph.n_edges, dtype=bool)
    return RoadGraph(
        node_id=np.concatenate((graph.node_id, extra.node_id)),
        x=np.concatenate((graph.x, extra.x)),
        y=np.concatenate((graph.y, extra.y)),
        src=np.concatenate((graph.src, extra.src)),
        dst=np.concatenate((graph.dst, extra.dst)),
        seconds=np.concatenate((graph.seconds, extra.seconds)),
        crs=graph.crs,
        mode=graph.mode,
        approximate=graph.approximate,
        node_label=None,
        ferry=np.concatenate((flags, extra.ferry)),
    )


def has_ferries(graph: RoadGraph) -> bool:
    """True when some edge of ``graph`` is a ferry."""
    return graph.ferry is not None and bool(graph.ferry.any())


def without_ferries(graph: RoadGraph) -> RoadGraph:
    """The same nodes, without the ferry edges (memoised on ``graph``)."""
    if not has_ferries(graph):
        return graph
    key = "without_ferries"
    if key not in graph._cache:
        keep = ~graph.ferry  # type: ignore[operator]
        graph._cache[key] = RoadGraph(
            node_id=graph.node_id,
            x=graph.x,
            y=graph.y,
            src=graph.src[keep],
            dst=graph.dst[keep],
            seconds=graph.seconds[keep],
            crs=graph.crs,
            mode=graph.mode,
            approximate=graph.approximate,
            node_label=graph.node_label,
        )
    result: RoadGraph = graph._cache[key]
    return result


def ferry_node_times(graph: RoadGraph) -> tuple[np.ndarray, np.ndarray]:
    """Seconds from every node to the nearest ferry node, and from the nearest ferry node to
    every node (two multi-source Dijkstra runs), memoised on ``graph``.

    A path that takes a boat from ``a`` to ``b`` lasts at least ``to_ferry[a] +
    from_ferry[b]``: a pair whose time is shorter cannot need one, which spares the
    second routing pass (:func:`geo.traveltimes.travel_times`) most pairs.
    """
    from geo.routing import nearest_facility_times

    key = "ferry_node_times"
    if key not in graph._cache:
        assert graph.ferry is not None
        nodes = np.unique(np.concatenate((graph.src[graph.ferry], graph.dst[graph.ferry])))
        to_ferry, _ = nearest_facility_times(graph, nodes)
        from_ferry, _ = nearest_facility_times(graph.reverse(), nodes)
        graph._cache[key] = (to_ferry, from_ferry)
    times: tuple[np.ndarray, np.ndarray] = graph._cache[key]
    return times


def ferry_flags(with_ferries_s: np.ndarray, without_ferries_s: np.ndarray) -> np.ndarray:
    """True where the fastest time needs a ferry: the time without ferry edges is longer.

    Both arrays are seconds of the same pairs (or nodes), with and without ferries; an
    unreachable time (``inf``) never needs a ferry.
    """
    with_s = np.asarray(with_ferries_s, dtype=np.float64)
    flags: np.ndarray = np.isfinite(with_s) & (np.asarray(without_ferries_s) > with_s + FLAG_TOLERANCE_S)
    return flags
