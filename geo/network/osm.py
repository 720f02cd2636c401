"""Build a :class:`~geo.network.graph.RoadGraph` from an OpenStreetMap extract.

The extract (``.osm.pbf``, ``.osm``, ``.osm.bz2`` ...) is streamed once with pyosmium,
which fills a node-location cache and hands over the ``highway`` and ``route=ferry`` ways, for every mode
asked (:func:`graphs_from_osm_file`). Several extracts (a Région that Geofabrik cuts into
former Régions) are streamed one after the other and read as one network: a way crossing
the border between two of them is in both, and is kept once (see :func:`_merge_extracts`). Ways of each mode (see :mod:`geo.network.speeds`)
are split into one edge per pair of
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

from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import osmium
import pyproj

from geo.errors import CrsError, ValidationError
from geo.network.ferries import FerryCollector, ferry_edges
from geo.network.graph import RoadGraph, _readonly, component_mask, spatial_order, strong_component_labels
from geo.network.speeds import is_way_allowed, way_directions, way_speed_kph
from geo.vocabulary import Mode, check_mode

OSM_CRS = "EPSG:4326"
"""CRS of OSM coordinates."""

MIN_EDGE_SECONDS = 1e-3
"""Floor on edge travel times (seconds), for distinct OSM nodes at the same position."""

_COORDINATE_PRECISION = 1e7  # osmium stores lon/lat as integers of 1e-7 degree
_UNDEFINED_COORDINATE = 2147483647


WayFilter = Callable[[Mapping[str, str]], bool]
"""A rule deciding from its tags whether an OSM way belongs to a network."""


OsmFiles = str | Path | Sequence[str | Path]
"""One OSM extract, or several read together as one network."""


def graph_from_osm_file(
    path: OsmFiles,
    *,
    mode: Mode,
    crs: str,
    largest_component: bool = True,
    island_min_nodes: int | None = None,
    way_filter: WayFilter | None = None,
) -> RoadGraph:
    """Build a road graph with travel times from an OSM extract.

    Parameters
    ----------
    path
        OSM file in any format pyosmium reads (``.osm.pbf``, ``.osm``, ``.osm.bz2``), or
        several (neighbouring extracts) read as one network: objects in more than one file
        count once, so that ways crossing their border connect.
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
    way_filter
        Replaces the mode's rule of which ``highway`` ways to keep
        (:func:`~geo.network.speeds.is_way_allowed`), e.g. with osmnx's filter in the
        reference test; speeds, directions and ferries stay ours.

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
    graphs = graphs_from_osm_file(
        path,
        modes=(mode,),
        crs=crs,
        largest_component=largest_component,
        island_min_nodes=island_min_nodes,
        way_filter=way_filter,
    )
    return next(graphs)


def graphs_from_osm_file(
    path: OsmFiles,
    *,
    modes: Sequence[Mode],
    crs: str,
    largest_component: bool = True,
    island_min_nodes: int | None = None,
    way_filter: WayFilter | None = None,
) -> Iterator[RoadGraph]:
    """Build the graphs of several modes from **one** read of an OSM extract.

    The file is streamed once; the graph of each mode of ``modes`` is then built in turn
    and yielded (in the order of ``modes``), so that a caller storing each graph before
    asking for the next one holds one graph at a time. The node references of the kept
    ways are held as compact arrays (8 bytes per reference), not Python lists. Parameters
    and errors are those of :func:`graph_from_osm_file`.
    """
    modes = tuple(check_mode(m) for m in modes)
    transformer = _transformer_to(crs)
    paths = osm_paths(path)
    for one in paths:
        if not one.is_file():
            msg = "OSM file not found"
            raise ValidationError(msg, file=one)
    held = [_read_ways(paths, modes, way_filter)]
    named = paths[0] if len(paths) == 1 else " + ".join(str(p) for p in paths)
    for index, mode in enumerate(modes):
        # The last graph's build holds the only reference to the ways, and frees them early.
        ways = [held.pop() if index == len(modes) - 1 else held[0]]
        yield _build_graph(named, ways, mode, crs, transformer, largest_component, island_min_nodes)


def osm_paths(path: OsmFiles) -> tuple[Path, ...]:
    """The OSM files of ``path`` (one file, or a sequence of them), as a non-empty tuple."""
    paths = (Path(path),) if isinstance(path, str | Path) else tuple(Path(p) for p in path)
    if not paths:
        msg = "no OSM file given"
        raise ValidationError(msg)
    return paths


def _build_graph(
    path: Path | str,
    held: list[_Ways],
    mode: Mode,
    crs: str,
    transformer: pyproj.Transformer,
    largest_component: bool,
    island_min_nodes: int | None,
) -> RoadGraph:
    """The graph of ``mode`` from the ways read by :func:`_read_ways` (``held``, emptied)."""
    ways = held.pop()
    member = ways.member[mode]
    ferries = ways.ferries[mode]
    if not member.any():
        msg = f"the OSM extract holds no way usable for mode {mode!r}"
        raise ValidationError(msg, file=path)
    refs, lon7, lat7, way_of_ref = ways.refs, ways.lon7, ways.lat7, ways.way_of_ref
    speed_kph, forward, backward = ways.speed_kph[mode], ways.forward[mode], ways.backward[mode]

    # Consecutive refs of the same way form an edge when both locations are known.
    tail = np.flatnonzero(ways.edge_ok & member[way_of_ref[:-1]])
    head = tail + 1
    edge_way = way_of_ref[tail]
    del ways, way_of_ref, member
    if not tail.size:
        msg = f"the OSM extract holds no located way segment usable for mode {mode!r}"
        raise ValidationError(msg, file=path)

    used = np.zeros(refs.size, dtype=bool)
    used[tail] = True
    used[head] = True
    node_id, first, inverse = np.unique(refs[used], return_index=True, return_inverse=True)
    ref_to_node = np.full(refs.size, -1, dtype=np.int64)
    ref_to_node[used] = inverse
    del inverse
    lon = lon7[used][first] / _COORDINATE_PRECISION
    lat = lat7[used][first] / _COORDINATE_PRECISION
    del used, first
    x, y = transformer.transform(lon, lat)
    del lon, lat
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        msg = f"some OSM nodes cannot be projected to {crs}"
        raise CrsError(msg, file=path)

    a = ref_to_node[tail].astype(np.int32)
    b = ref_to_node[head].astype(np.int32)
    del ref_to_node, tail, head, refs, lon7, lat7
    length_m = np.hypot(x[b] - x[a], y[b] - y[a])
    seconds = np.maximum(length_m / (speed_kph[edge_way] / 3.6), MIN_EDGE_SECONDS)
    del length_m
    fwd = forward[edge_way]
    bwd = backward[edge_way]
    del edge_way
    src = np.concatenate((a[fwd], b[bwd]))
    dst = np.concatenate((b[fwd], a[bwd]))
    seconds = np.concatenate((seconds[fwd], seconds[bwd]))
    del a, b, fwd, bwd
    ferry = None
    extra = ferry_edges(node_id, x, y, ferries, transformer)
    if extra is not None:  # before the components: ferries join islands to the mainland
        node_id = np.concatenate((node_id, extra.node_id))
        x = np.concatenate((x, extra.x))
        y = np.concatenate((y, extra.y))
        ferry = np.concatenate((np.zeros(src.size, dtype=bool), extra.ferry))
        src = np.concatenate((src, extra.src.astype(np.int32)))
        dst = np.concatenate((dst, extra.dst.astype(np.int32)))
        seconds = np.concatenate((seconds, extra.seconds))
        del extra
    # Select the components and order the nodes before making the one RoadGraph (as
    # RoadGraph.components_at_least / largest_strongly_connected_component then
    # sorted_spatially would, without their intermediate copies of the graph).
    keep = np.ones(node_id.size, dtype=bool)
    if largest_component:
        keep = component_mask(strong_component_labels(src, dst, node_id.size), island_min_nodes)
    kept = np.flatnonzero(keep)
    kept = kept[spatial_order(x[kept], y[kept])]
    new_index = np.full(node_id.size, -1, dtype=np.int32)
    new_index[kept] = np.arange(kept.size, dtype=np.int32)
    edge_keep = keep[src] & keep[dst]
    del keep
    # One array at a time, dropping each input as soon as it is replaced (peak memory).
    seconds = seconds[edge_keep]
    if ferry is not None:
        ferry = ferry[edge_keep]
        ferry = ferry if ferry.any() else None  # no ferry left in the kept components
    src = new_index[src[edge_keep]]
    dst = new_index[dst[edge_keep]]
    del edge_keep, new_index
    node_id, x, y = node_id[kept], x[kept], y[kept]
    del kept
    # Read-only arrays of their final type: the graph keeps them without a copy.
    return RoadGraph(
        node_id=_readonly(node_id.astype(np.int64, copy=False)),
        x=_readonly(x),
        y=_readonly(y),
        src=_readonly(src),
        dst=_readonly(dst),
        seconds=_readonly(seconds.astype(np.float64, copy=False)),
        crs=crs,
        mode=mode,
        ferry=None if ferry is None else _readonly(ferry),
    )


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


@dataclass(frozen=True)
class _Ways:
    """The ``highway`` ways kept by at least one mode, as flat arrays, and the ferries.

    ``refs``, ``lon7``, ``lat7``, ``way_of_ref`` hold one entry per node reference: OSM
    node id, longitude and latitude in 1e-7 degree (``_UNDEFINED_COORDINATE`` when the node
    is missing from the extract), index of its way. ``edge_ok[i]`` tells whether refs
    ``i`` and ``i + 1`` form a located segment of one way. ``member``, ``speed_kph``,
    ``forward``, ``backward`` map each mode to per-way arrays; ``ferries`` to the
    ``route=ferry`` ways of the mode (:mod:`geo.network.ferries`).
    """

    refs: np.ndarray
    lon7: np.ndarray
    lat7: np.ndarray
    way_of_ref: np.ndarray
    edge_ok: np.ndarray
    member: dict[Mode, np.ndarray]
    speed_kph: dict[Mode, np.ndarray]
    forward: dict[Mode, np.ndarray]
    backward: dict[Mode, np.ndarray]
    ferries: dict[Mode, FerryCollector]


def _read_ways(paths: tuple[Path, ...], modes: tuple[Mode, ...], way_filter: WayFilter | None = None) -> _Ways:
    """Stream the ``highway`` ways kept by any of ``modes``, once, into compact arrays (and
    hand the ``route=ferry`` ways to one :class:`~geo.network.ferries.FerryCollector` per mode).

    Several files are streamed one after the other into the same arrays, each with its own
    node-location cache; a way met again in a later file (it crosses their border) is then
    kept once (:func:`_merge_extracts`), and so is a ferry."""
    refs = array("q")
    lon7 = array("i")  # 1e-7 degree fits in 32 bits, and so does _UNDEFINED_COORDINATE
    lat7 = array("i")
    way_lengths = array("q")
    member = {m: array("b") for m in modes}
    speeds = {m: array("d") for m in modes}
    forward = {m: array("b") for m in modes}
    backward = {m: array("b") for m in modes}
    ferries = {m: FerryCollector(m) for m in modes}
    # Only with several files: the OSM id of each kept way, and of each ferry offered.
    way_ids = array("q") if len(paths) > 1 else None
    ferry_ids: set[int] = set()
    for path in paths:
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
                if tags.get("route") == "ferry":  # a ferry of each mode, or a closed one: no road either
                    if way_ids is not None:
                        if way.id in ferry_ids:
                            continue
                        ferry_ids.add(way.id)
                    for m in modes:
                        ferries[m].offer(tags, way.nodes)
                    continue
                allowed = [way_filter(tags) if way_filter else is_way_allowed(tags, mode=m) for m in modes]
                if not any(allowed):
                    continue
                nodes = way.nodes
                if len(nodes) < 2:
                    continue
                for node in nodes:
                    refs.append(node.ref)
                    lon7.append(node.x)
                    lat7.append(node.y)
                way_lengths.append(len(nodes))
                if way_ids is not None:
                    way_ids.append(way.id)
                for m, keep in zip(modes, allowed, strict=True):
                    member[m].append(keep)
                    speeds[m].append(way_speed_kph(tags, mode=m) if keep else 0.0)
                    fwd, bwd = way_directions(tags, mode=m) if keep else (False, False)
                    forward[m].append(fwd)
                    backward[m].append(bwd)
        except RuntimeError as exc:
            msg = f"cannot read the OSM file ({exc})"
            raise ValidationError(msg, file=path) from exc

    def as_array(values: array, dtype: type) -> np.ndarray:
        return np.frombuffer(values, dtype=dtype).copy() if values else np.zeros(0, dtype=dtype)

    refs_a = np.frombuffer(refs, dtype=np.int64) if refs else np.zeros(0, dtype=np.int64)
    lon_a = np.frombuffer(lon7, dtype=np.int32) if lon7 else np.zeros(0, dtype=np.int32)
    lat_a = np.frombuffer(lat7, dtype=np.int32) if lat7 else np.zeros(0, dtype=np.int32)
    lengths = np.frombuffer(way_lengths, dtype=np.int64) if way_lengths else np.zeros(0, dtype=np.int64)
    per_way = {
        "member": {m: as_array(member[m], np.int8).astype(bool) for m in modes},
        "speed_kph": {m: as_array(speeds[m], np.float64) for m in modes},
        "forward": {m: as_array(forward[m], np.int8).astype(bool) for m in modes},
        "backward": {m: as_array(backward[m], np.int8).astype(bool) for m in modes},
    }
    del member, speeds, forward, backward
    if way_ids is not None:
        kept, refs_a, lon_a, lat_a = _merge_extracts(as_array(way_ids, np.int64), lengths, refs_a, lon_a, lat_a)
        if kept is not None:
            lengths = lengths[kept]
            per_way = {name: {m: values[kept] for m, values in arrays.items()} for name, arrays in per_way.items()}
    way_of_ref = np.repeat(np.arange(lengths.size, dtype=np.int32), lengths)
    valid = (lon_a != _UNDEFINED_COORDINATE) & (lat_a != _UNDEFINED_COORDINATE)
    edge_ok = (way_of_ref[:-1] == way_of_ref[1:]) & valid[:-1] & valid[1:] & (refs_a[:-1] != refs_a[1:])
    del valid

    return _Ways(
        refs=refs_a,
        lon7=lon_a,
        lat7=lat_a,
        way_of_ref=way_of_ref,
        edge_ok=edge_ok,
        member=per_way["member"],
        speed_kph=per_way["speed_kph"],
        forward=per_way["forward"],
        backward=per_way["backward"],
        ferries=ferries,
    )


def _merge_extracts(
    way_ids: np.ndarray, lengths: np.ndarray, refs: np.ndarray, lon7: np.ndarray, lat7: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
    """Make the ways read from several extracts one network.

    A way crossing the border of two extracts is in both. Geofabrik cuts with osmium's
    "smart" strategy, which keeps such a way whole, with all its nodes, in each extract;
    an extract cut with the "simple" strategy lacks the nodes beyond its border. So:

    1. a node reference without a location (``_UNDEFINED_COORDINATE``) takes the location
       that another extract gives to the same OSM node;
    2. each way id is kept once, at its first occurrence (file order), so that no edge is
       doubled.

    Parameters
    ----------
    way_ids, lengths
        Per way read: OSM id and number of node references.
    refs, lon7, lat7
        Per node reference, as in :class:`_Ways`.

    Returns
    -------
    tuple
        The mask of ways to keep (None: no way is repeated) and the node references of the
        kept ways: ``refs``, ``lon7``, ``lat7``.
    """
    missing = np.flatnonzero((lon7 == _UNDEFINED_COORDINATE) | (lat7 == _UNDEFINED_COORDINATE))
    if missing.size and missing.size < refs.size:
        lon7, lat7 = lon7.copy(), lat7.copy()  # the arrays read may be views of the reader's buffers
        located = np.ones(refs.size, dtype=bool)
        located[missing] = False
        known_refs = refs[located]
        order = np.argsort(known_refs, kind="stable")
        position = np.minimum(np.searchsorted(known_refs, refs[missing], sorter=order), known_refs.size - 1)
        source = np.flatnonzero(located)[order[position]]
        found = refs[source] == refs[missing]
        lon7[missing[found]] = lon7[source[found]]
        lat7[missing[found]] = lat7[source[found]]
    _, first = np.unique(way_ids, return_index=True)
    if first.size == way_ids.size:
        return None, refs, lon7, lat7
    kept = np.zeros(way_ids.size, dtype=bool)
    kept[first] = True
    ref_kept = np.repeat(kept, lengths)
    return kept, refs[ref_kept], lon7[ref_kept], lat7[ref_kept]
