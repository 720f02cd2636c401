"""Build a :class:`~geo.network.graph.RoadGraph` from an OpenStreetMap extract.

The extract (``.osm.pbf``, ``.osm``, ``.osm.bz2`` ...) is streamed once with pyosmium,
which fills a node-location cache and hands over the ``highway`` ways. Ways of the
requested mode (see :mod:`geo.network.speeds`) are split into one edge per pair of
consecutive nodes; every OSM node of a kept way becomes a graph node (the graph is not
simplified, which costs memory but no accuracy). Coordinates are projected to the
caller's CRS in one vectorised call, edge lengths are Euclidean distances in that CRS
(metres) and edge times are ``length / speed``. ``route=ferry`` ways become flagged
ferry edges (:mod:`geo.network.ferries`), so that islands join the mainland. Only the
largest strongly connected component is kept, so that every node can reach every other,
and nodes are numbered along a Z-order curve (:meth:`RoadGraph.sorted_spatially`) for
faster routing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import osmium
import pyproj

from geo.errors import CrsError, ValidationError
from geo.network.ferries import FerryCollector, add_ferries
from geo.network.graph import RoadGraph
from geo.network.speeds import is_way_allowed, way_directions, way_speed_kph
from geo.vocabulary import Mode, check_mode

OSM_CRS = "EPSG:4326"
"""CRS of OSM coordinates."""

MIN_EDGE_SECONDS = 1e-3
"""Floor on edge travel times (seconds), for distinct OSM nodes at the same position."""

_COORDINATE_PRECISION = 1e7  # osmium stores lon/lat as integers of 1e-7 degree
_UNDEFINED_COORDINATE = 2147483647


def graph_from_osm_file(
    path: str | Path,
    *,
    mode: Mode,
    crs: str,
    largest_component: bool = True,
    island_min_nodes: int | None = None,
) -> RoadGraph:
    """Build a road graph with travel times from an OSM extract.

    Parameters
    ----------
    path
        OSM file in any format pyosmium reads (``.osm.pbf``, ``.osm``, ``.osm.bz2``).
    mode
        ``"drive"`` (car, class speeds capped by ``maxspeed``, one-way streets) or
        ``"walk"`` (5 km/h, both directions).
    crs
        Projected CRS (metres) of the graph coordinates, e.g. ``"EPSG:2154"``.
    largest_component
        Keep only the largest strongly connected component (default). Turn off only to
        inspect the raw network: routing on it yields unreachable pairs.
    island_min_nodes
        With ``largest_component``, also keep every other strongly connected component
        of at least this many nodes: islands without a bridge or a ferry keep their own
        network, so that their inhabitants are measured to the places on the island
        instead of being left off the network. None keeps only the largest.

    Returns
    -------
    RoadGraph
        Nodes are OSM nodes (``node_id`` = OSM id) in Z-order of their position,
        coordinates in metres in ``crs``,
        edge ``seconds`` = projected length (m) / speed, at least ``MIN_EDGE_SECONDS``.

    Raises
    ------
    geo.errors.ValidationError
        When the file is missing or unreadable, or holds no way usable in ``mode``.
    geo.errors.CrsError
        When ``crs`` is unknown or not projected.
    """
    mode = check_mode(mode)
    transformer = _transformer_to(crs)
    path = Path(path)
    if not path.is_file():
        msg = "OSM file not found"
        raise ValidationError(msg, file=path)

    ferries = FerryCollector(mode)
    refs, lon7, lat7, way_of_ref, speed_kph, forward, backward = _read_ways(path, mode, ferries)
    if not speed_kph.size:
        msg = f"the OSM extract holds no way usable for mode {mode!r}"
        raise ValidationError(msg, file=path)

    # Consecutive refs of the same way form an edge when both locations are known.
    valid = (lon7 != _UNDEFINED_COORDINATE) & (lat7 != _UNDEFINED_COORDINATE)
    tail = np.arange(refs.size - 1)
    head = tail + 1
    is_edge = (way_of_ref[tail] == way_of_ref[head]) & valid[tail] & valid[head]
    is_edge &= refs[tail] != refs[head]
    tail, head = tail[is_edge], head[is_edge]
    edge_way = way_of_ref[tail]
    if not tail.size:
        msg = f"the OSM extract holds no located way segment usable for mode {mode!r}"
        raise ValidationError(msg, file=path)

    used = np.zeros(refs.size, dtype=bool)
    used[tail] = True
    used[head] = True
    node_id, first, inverse = np.unique(refs[used], return_index=True, return_inverse=True)
    ref_to_node = np.full(refs.size, -1, dtype=np.int64)
    ref_to_node[used] = inverse
    lon = lon7[used][first] / _COORDINATE_PRECISION
    lat = lat7[used][first] / _COORDINATE_PRECISION
    x, y = transformer.transform(lon, lat)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        msg = f"some OSM nodes cannot be projected to {crs}"
        raise CrsError(msg, file=path)

    a = ref_to_node[tail]
    b = ref_to_node[head]
    length_m = np.hypot(x[b] - x[a], y[b] - y[a])
    seconds = np.maximum(length_m / (speed_kph[edge_way] / 3.6), MIN_EDGE_SECONDS)
    fwd = forward[edge_way]
    bwd = backward[edge_way]
    graph = RoadGraph(
        node_id=node_id,
        x=x,
        y=y,
        src=np.concatenate((a[fwd], b[bwd])),
        dst=np.concatenate((b[fwd], a[bwd])),
        seconds=np.concatenate((seconds[fwd], seconds[bwd])),
        crs=crs,
        mode=mode,
        approximate=False,
    )
    graph = add_ferries(graph, ferries, transformer)  # before the components: ferries join islands
    if largest_component and island_min_nodes is not None:
        graph = graph.components_at_least(island_min_nodes)
    elif largest_component:
        graph = graph.largest_strongly_connected_component()
    return graph.sorted_spatially()


def _transformer_to(crs: str) -> pyproj.Transformer:
    try:
        target = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        msg = f"unknown CRS {crs!r}"
        raise CrsError(msg) from exc
    if not target.is_projected:
        msg = f"CRS {crs!r} is not projected; travel times need lengths in metres"
        raise CrsError(msg)
    return pyproj.Transformer.from_crs(OSM_CRS, target, always_xy=True)


def _read_ways(
    path: Path, mode: Mode, ferries: FerryCollector | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stream the ``highway`` ways of ``mode`` with their node refs and locations (and hand
    the ``route=ferry`` ways to ``ferries``).

    Returns
    -------
    refs, lon7, lat7, way_of_ref : numpy.ndarray
        Per node reference of the kept ways: OSM node id, longitude and latitude in
        1e-7 degree (``_UNDEFINED_COORDINATE`` when the node is missing from the
        extract), and the index of its way.
    speed_kph, forward, backward : numpy.ndarray
        Per kept way: speed (km/h) and allowed directions.
    """
    refs: list[int] = []
    lon7: list[int] = []
    lat7: list[int] = []
    way_lengths: list[int] = []
    speeds: list[float] = []
    forward: list[bool] = []
    backward: list[bool] = []
    try:
        processor = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.KeyFilter("highway", "route"))
        )
        for way in processor:
            if not isinstance(way, osmium.osm.Way):  # the filters pass ways only
                continue
            tags = {tag.k: tag.v for tag in way.tags}
            if ferries is not None and ferries.offer(tags, way.nodes):  # route=ferry: geo.network.ferries
                continue
            if not is_way_allowed(tags, mode=mode):
                continue
            count = 0
            for node in way.nodes:
                refs.append(node.ref)
                lon7.append(node.x)
                lat7.append(node.y)
                count += 1
            if count < 2:
                del refs[len(refs) - count :], lon7[len(lon7) - count :], lat7[len(lat7) - count :]
                continue
            way_lengths.append(count)
            speeds.append(way_speed_kph(tags, mode=mode))
            fwd, bwd = way_directions(tags, mode=mode)
            forward.append(fwd)
            backward.append(bwd)
    except RuntimeError as exc:
        msg = f"cannot read the OSM file ({exc})"
        raise ValidationError(msg, file=path) from exc
    way_of_ref = np.repeat(np.arange(len(way_lengths), dtype=np.int64), way_lengths)
    return (
        np.asarray(refs, dtype=np.int64),
        np.asarray(lon7, dtype=np.int64),
        np.asarray(lat7, dtype=np.int64),
        way_of_ref,
        np.asarray(speeds, dtype=np.float64),
        np.asarray(forward, dtype=bool),
        np.asarray(backward, dtype=bool),
    )
