"""``RoadGraph``: a directed road graph held as flat numpy arrays.

The graph is the input of every routing function (:mod:`geo.routing`). Nodes are
indexed ``0 .. n_nodes - 1``; ``node_id`` keeps the OSM id (or a synthetic id) of each
node. Directed edges are the parallel arrays ``src``, ``dst`` and ``seconds`` (travel
time of the edge). Coordinates are in metres in the projected CRS ``crs``.

Sparse matrices (``scipy.sparse.csr_matrix``) and the node k-d tree are derived from the
arrays on first use and memoised on the instance, so that the routing hot path never
rebuilds them. The instance is frozen and its arrays are read-only, which keeps the
memoised values valid.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import numpy as np
import scipy.sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from geo.errors import ValidationError
from geo.vocabulary import Mode, check_mode, parse_mode

if TYPE_CHECKING:
    import networkx as nx

NPZ_FORMAT_VERSION = 2
"""Version of the ``.npz`` layout written by :meth:`RoadGraph.save_npz`. Version 1 (read
too) packed the approximate flag into the mode's name (``approximate-drive``)."""

_ARRAYS = ("node_id", "x", "y", "src", "dst", "seconds")
_DENSITY_PREFIX = "node_density_"  # + radius in metres: arrays of RoadGraph.node_density


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _owner(array: np.ndarray) -> np.ndarray:
    """The array owning the memory of ``array`` when ``array`` is a plain view of all of it
    (as ``np.load`` returns them), else ``array``; for arrays nobody else holds."""
    base = array.base
    if isinstance(base, np.ndarray) and base.flags.owndata and base.shape == array.shape and base.dtype == array.dtype:
        return base
    return array


def _adoptable(value: object, dtype: type) -> bool:
    """True for a read-only 1-D array of ``dtype`` owning its memory: nobody can write it
    without first making it writeable again, so a graph may keep it without a copy
    (a Région's walk graph is 200 MB)."""
    return (
        isinstance(value, np.ndarray)
        and value.dtype == dtype
        and value.ndim == 1
        and value.flags.owndata
        and not value.flags.writeable
    )


@dataclass(frozen=True, eq=False)
class ChainIndex:
    """Degree-2 chains of a graph and the junction graph they contract to.

    Most nodes of an OSM graph only shape a road: 92 % of the drive nodes of the
    Andorra extract have exactly two neighbours. A *chain node* is a node passed
    through without choice: one in-neighbour and one other out-neighbour (one-way), or
    the same two neighbours in and out (two-way), and no self-loop. Every other node is
    a *junction*. Each chain of edges between two junctions becomes one edge of the
    junction graph, where Dijkstra then runs; times of chain nodes follow from their
    two chain ends (see :func:`geo.routing.nearest_facility_times`).

    Edges are the entries of :meth:`RoadGraph.to_csr` (fastest of duplicates), indexed
    by their position in its ``indices`` / ``data`` arrays.

    Attributes
    ----------
    is_junction
        True for junctions, bool, shape ``(n_nodes,)``.
    junction_index
        Index of each junction in the junction graph, ``-1`` for chain nodes, int32.
    junctions
        Node index of each junction, int64, shape ``(n_junctions,)``.
    reverse_csr
        Reversed travel-time matrix (seconds) of the junction graph, shape
        ``(n_junctions, n_junctions)``: entry ``[b, a]`` is the fastest chain ``a -> b``.
    chain_last
        Last edge (the one entering a junction) of the chain of each edge: it names the
        chain. int32.
    chain_seconds
        Seconds from the tail of each edge, through it, to the junction ending its chain.
    chain_end
        Junction index of the junction ending the chain of each edge, int32.
    """

    is_junction: np.ndarray
    junction_index: np.ndarray
    junctions: np.ndarray
    reverse_csr: scipy.sparse.csr_matrix
    chain_last: np.ndarray
    chain_seconds: np.ndarray
    chain_end: np.ndarray

    @property
    def n_junctions(self) -> int:
        """Number of junctions (nodes of the junction graph)."""
        return int(self.junctions.shape[0])


@dataclass(frozen=True, eq=False)
class RoadGraph:
    """A directed road graph with travel times, as flat numpy arrays.

    Parameters
    ----------
    node_id
        Identifier of each node (OSM node id, or a synthetic id such as the row number
        of a commune), int64, shape ``(n_nodes,)``.
    x, y
        Node coordinates in metres in ``crs``, float64, shape ``(n_nodes,)``.
    src, dst
        Tail and head node index of each directed edge, int32, shape ``(n_edges,)``.
        Several edges may join the same pair of nodes; routing keeps the fastest.
    seconds
        Travel time of each directed edge in seconds, strictly positive and finite,
        float64, shape ``(n_edges,)``.
    crs
        The projected CRS of ``x`` and ``y``, e.g. ``"EPSG:2154"``.
    mode
        ``"drive"`` or ``"walk"`` (:data:`geo.vocabulary.MODES`).
    approximate
        True when the graph is not a road network but an estimate (straight line x
        detour, see :mod:`geo.network.approximate`).
    node_label
        Optional text label of each node (e.g. the INSEE code of a commune).
    ferry
        Optional flag of each edge: True for a ferry crossing (``route=ferry``, see
        :mod:`geo.network.ferries`), bool, shape ``(n_edges,)``; None when there is none.

    Notes
    -----
    Arrays are converted to the dtypes above and made read-only. The instance memoises
    its CSR matrices, chain index and k-d tree; two instances never share them.
    """

    node_id: np.ndarray
    x: np.ndarray
    y: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    seconds: np.ndarray
    crs: str
    mode: Mode
    approximate: bool = False
    node_label: np.ndarray | None = None
    ferry: np.ndarray | None = None
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        """Coerce the arrays to their dtypes, freeze them and check their consistency."""
        dtypes = {
            "node_id": np.int64,
            "x": np.float64,
            "y": np.float64,
            "src": np.int32,
            "dst": np.int32,
            "seconds": np.float64,
        }
        for name, dtype in dtypes.items():
            value = getattr(self, name)
            if not _adoptable(value, dtype):
                value = np.array(value, dtype=dtype, copy=True)
            if value.ndim != 1:
                msg = f"RoadGraph.{name} must be one-dimensional, got shape {value.shape}"
                raise ValidationError(msg, field=name)
            object.__setattr__(self, name, _readonly(value))
        if self.node_label is not None:
            labels = np.array(self.node_label, dtype=str, copy=True)
            object.__setattr__(self, "node_label", _readonly(labels))
        if self.ferry is not None:
            ferry = self.ferry if _adoptable(self.ferry, np.bool_) else np.array(self.ferry, dtype=bool, copy=True)
            object.__setattr__(self, "ferry", _readonly(ferry))
        n = self.node_id.shape[0]
        for name in ("x", "y") + (("node_label",) if self.node_label is not None else ()):
            if getattr(self, name).shape[0] != n:
                msg = f"RoadGraph.{name} has {getattr(self, name).shape[0]} values for {n} nodes"
                raise ValidationError(msg, field=name)
        m = self.src.shape[0]
        for name in ("dst", "seconds") + (("ferry",) if self.ferry is not None else ()):
            if getattr(self, name).shape[0] != m:
                msg = f"RoadGraph.{name} has {getattr(self, name).shape[0]} values for {m} edges"
                raise ValidationError(msg, field=name)
        if m and (min(self.src.min(), self.dst.min()) < 0 or max(self.src.max(), self.dst.max()) >= n):
            msg = f"edge endpoints must be node indices in [0, {n})"
            raise ValidationError(msg, field="src/dst")
        if m and not (np.all(np.isfinite(self.seconds)) and self.seconds.min() > 0):
            msg = "edge travel times must be finite and strictly positive (seconds)"
            raise ValidationError(msg, field="seconds")
        check_mode(self.mode)

    # ------------------------------------------------------------------ sizes
    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_id.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of directed edges, duplicates included."""
        return int(self.src.shape[0])

    def __repr__(self) -> str:
        """Summarise the graph without printing its arrays."""
        return (
            f"RoadGraph(mode={self.mode!r}, crs={self.crs!r}, n_nodes={self.n_nodes}, "
            f"n_edges={self.n_edges}, approximate={self.approximate})"
        )

    # ------------------------------------------------------------ conversions
    def to_csr(self, *, reverse: bool = False) -> scipy.sparse.csr_matrix:
        """Return the travel-time matrix (seconds) as a CSR sparse matrix.

        Entry ``[i, j]`` is the travel time in seconds of the fastest edge ``i -> j``;
        duplicate edges keep their minimum time (never their sum). The result is
        memoised and its arrays are read-only: do not modify it.

        Parameters
        ----------
        reverse
            Return the matrix of the reversed graph (entry ``[j, i]`` for edge
            ``i -> j``), used to compute times *to* a set of nodes.

        Returns
        -------
        scipy.sparse.csr_matrix
            Square float64 matrix of shape ``(n_nodes, n_nodes)`` with int32 indices.
        """
        key = "csr_reverse" if reverse else "csr"
        if key not in self._cache:
            if reverse:
                csr = self.to_csr().transpose().tocsr()
                csr.sort_indices()
            else:
                csr = _min_csr(self.src, self.dst, self.seconds, self.n_nodes)
            for array in (csr.data, csr.indices, csr.indptr):
                _readonly(array)
            self._cache[key] = csr
        csr_matrix: scipy.sparse.csr_matrix = self._cache[key]
        return csr_matrix

    def to_chain_index(self) -> ChainIndex:
        """Return the degree-2 chains and the junction graph of :class:`ChainIndex`, memoised.

        Built once per graph with vectorised pointer jumping (``log2`` of the longest
        chain passes over the edges).
        """
        if "chains" not in self._cache:
            self._cache["chains"] = _chain_index(self)
        chains: ChainIndex = self._cache["chains"]
        return chains

    def to_kdtree(self) -> cKDTree:
        """Return a k-d tree on node coordinates (metres in ``crs``), memoised."""
        if "kdtree" not in self._cache:
            self._cache["kdtree"] = cKDTree(np.column_stack((self.x, self.y)))
        tree: cKDTree = self._cache["kdtree"]
        return tree

    def release(self, *structures: str) -> None:
        """Forget memoised structures to free their memory; they are built again if asked for.

        ``structures``: ``"kdtree"`` (:meth:`to_kdtree`), ``"chains"``
        (:meth:`to_chain_index`), ``"csr"`` and ``"csr_reverse"`` (:meth:`to_csr`). The stored
        road densities are never released. Results do not change, only memory and time:
        e.g. the k-d tree of a Région's walk graph (120 MB) once every point is snapped.
        """
        unknown = set(structures) - {"kdtree", "chains", "csr", "csr_reverse"}
        if unknown:
            msg = f"unknown memoised structure(s) {', '.join(sorted(unknown))}"
            raise ValueError(msg)
        for name in structures:
            self._cache.pop(name, None)

    def node_density(self, radius_m: float) -> np.ndarray:
        """Number of nodes within ``radius_m`` metres of each node (itself included), memoised.

        It depends only on the network, so :func:`geo.origins.prepare_origins` computes it
        once when the network is loaded, and :meth:`to_npz_bytes` stores every density
        computed so far with the graph; a graph read back by :func:`load_npz` has them.

        Returns
        -------
        numpy.ndarray
            int32, shape ``(n_nodes,)``, read-only.
        """
        key = f"{_DENSITY_PREFIX}{float(radius_m):g}"
        if key not in self._cache:
            tree = self.to_kdtree()
            count = tree.query_ball_point(tree.data, r=float(radius_m), return_length=True, workers=-1)
            self._cache[key] = _readonly(np.asarray(count, dtype=np.int32))
        density: np.ndarray = self._cache[key]
        return density

    def reverse(self) -> RoadGraph:
        """Return the graph with every edge reversed (same nodes, same times)."""
        return RoadGraph(
            node_id=self.node_id,
            x=self.x,
            y=self.y,
            src=self.dst,
            dst=self.src,
            seconds=self.seconds,
            crs=self.crs,
            mode=self.mode,
            approximate=self.approximate,
            node_label=self.node_label,
            ferry=self.ferry,
        )

    def subgraph(self, nodes: np.ndarray) -> RoadGraph:
        """Return the subgraph induced by some nodes, renumbered in ascending index order.

        Parameters
        ----------
        nodes
            Node indices to keep, or a boolean mask of shape ``(n_nodes,)``.

        Returns
        -------
        RoadGraph
            The kept nodes (ascending original index) and the edges joining two of them.
        """
        nodes = np.asarray(nodes)
        if nodes.dtype == bool:
            keep = nodes
        else:
            keep = np.zeros(self.n_nodes, dtype=bool)
            keep[nodes] = True
        new_index = np.full(self.n_nodes, -1, dtype=np.int64)
        new_index[keep] = np.arange(int(keep.sum()))
        edge_keep = keep[self.src] & keep[self.dst]
        return RoadGraph(
            node_id=self.node_id[keep],
            x=self.x[keep],
            y=self.y[keep],
            src=new_index[self.src[edge_keep]],
            dst=new_index[self.dst[edge_keep]],
            seconds=self.seconds[edge_keep],
            crs=self.crs,
            mode=self.mode,
            approximate=self.approximate,
            node_label=None if self.node_label is None else self.node_label[keep],
            ferry=None if self.ferry is None else self.ferry[edge_keep],
        )

    def reordered(self, order: np.ndarray) -> RoadGraph:
        """Return the same graph with nodes renumbered: new node ``i`` is old node ``order[i]``.

        Parameters
        ----------
        order
            A permutation of ``0 .. n_nodes - 1``.
        """
        order = np.asarray(order, dtype=np.int64)
        if order.shape != (self.n_nodes,) or not np.array_equal(np.sort(order), np.arange(self.n_nodes)):
            msg = "order must be a permutation of the node indices"
            raise ValidationError(msg, field="order")
        new_index = np.empty(self.n_nodes, dtype=np.int64)
        new_index[order] = np.arange(self.n_nodes)
        return RoadGraph(
            node_id=self.node_id[order],
            x=self.x[order],
            y=self.y[order],
            src=new_index[self.src],
            dst=new_index[self.dst],
            seconds=self.seconds,
            crs=self.crs,
            mode=self.mode,
            approximate=self.approximate,
            node_label=None if self.node_label is None else self.node_label[order],
            ferry=self.ferry,
        )

    def sorted_spatially(self) -> RoadGraph:
        """Return the same graph with nodes renumbered along a Z-order (Morton) curve.

        Nodes close in space get close indices, so Dijkstra touches fewer memory pages:
        on a shuffled 1M-node graph, sorting speeds up an all-nodes query by about a
        third and an isochrone about twice. Coordinates are quantised to 16 bits per
        axis over the graph's bounding box; ties keep the previous order.
        """
        if self.n_nodes == 0:
            return self
        return self.reordered(spatial_order(self.x, self.y))

    def strongly_connected_components(self) -> tuple[int, np.ndarray]:
        """Label the strongly connected components.

        Returns
        -------
        n_components : int
            Number of components.
        labels : numpy.ndarray
            Component label of each node, int32, shape ``(n_nodes,)``.
        """
        n_components, labels = connected_components(self.to_csr(), directed=True, connection="strong")
        return int(n_components), labels

    def largest_strongly_connected_component(self) -> RoadGraph:
        """Return the subgraph of the largest strongly connected component.

        In it every node can reach every other node. When several components share the
        largest size, the one holding the lowest node index is kept.
        """
        if self.n_nodes == 0:
            return self
        _, labels = self.strongly_connected_components()
        return self.subgraph(component_mask(labels, None))

    def components_at_least(self, min_nodes: int) -> RoadGraph:
        """Return the subgraph of the largest strongly connected component and of every
        other one with at least ``min_nodes`` nodes (islands without a bridge, for example).

        Routing between two kept components gives ``inf``: nothing joins them.
        """
        if self.n_nodes == 0:
            return self
        _, labels = self.strongly_connected_components()
        return self.subgraph(component_mask(labels, min_nodes))

    def to_networkx(self) -> nx.DiGraph:
        """Return a ``networkx.DiGraph`` copy, for tests and oracles (slow on big graphs).

        Nodes are the indices ``0 .. n_nodes - 1`` with attributes ``x``, ``y`` (metres in
        ``crs``) and ``node_id``; each edge carries ``seconds``, the minimum over
        duplicate edges (as in :meth:`to_csr`).
        """
        import networkx as nx

        graph = nx.DiGraph(crs=self.crs, mode=self.mode, approximate=self.approximate)
        graph.add_nodes_from(
            (i, {"x": float(x), "y": float(y), "node_id": int(node_id)})
            for i, (x, y, node_id) in enumerate(zip(self.x, self.y, self.node_id, strict=True))
        )
        coo = self.to_csr().tocoo()
        graph.add_weighted_edges_from(
            zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True),
            weight="seconds",
        )
        return graph

    # -------------------------------------------------------------------- I/O
    def save_npz(self, path: str | Path) -> Path:
        """Write the graph to an ``.npz`` file (no pickle, arrays stored uncompressed).

        Parameters
        ----------
        path
            Destination; ``.npz`` is appended by numpy when missing.

        Returns
        -------
        pathlib.Path
            The path actually written.
        """
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        with path.open("wb") as handle:
            self.write_npz(handle)
        return path

    def to_npz_bytes(self) -> bytes:
        """The graph as the bytes of an ``.npz`` file (for a database column)."""
        buffer = io.BytesIO()
        self.write_npz(buffer)
        return buffer.getvalue()

    def write_npz(self, handle: BinaryIO) -> None:
        """Write the graph as an ``.npz`` file to an open binary file (a temporary file, to
        stream it to the database without holding its bytes in memory)."""
        meta = {
            "format_version": NPZ_FORMAT_VERSION,
            "crs": self.crs,
            "mode": self.mode,
            "approximate": self.approximate,
        }
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        if self.node_label is not None:
            arrays["node_label"] = self.node_label
        if self.ferry is not None:
            arrays["ferry"] = self.ferry
        arrays.update({key: value for key, value in self._cache.items() if key.startswith(_DENSITY_PREFIX)})
        # Stored, not deflated: zlib took a third of `atlas network load` at Région scale
        # and saved only 37 % on these float and index arrays (benchmarks/README.md).
        np.savez(handle, meta=np.array(json.dumps(meta)), **arrays)


def load_npz(path: str | Path | bytes | BinaryIO) -> RoadGraph:
    """Read a graph written by :meth:`RoadGraph.save_npz` (a path),
    :meth:`RoadGraph.to_npz_bytes` (bytes) or :meth:`RoadGraph.write_npz` (an open binary
    file, read from its current position).

    Raises
    ------
    geo.errors.ValidationError
        When the file is missing, unreadable, or not a graph of a known format version.
    """
    if isinstance(path, bytes):
        source: Path | BinaryIO = io.BytesIO(path)
        path = Path("<bytes>")
    elif not isinstance(path, str | Path):
        source = path
        path = Path(str(getattr(path, "name", "<file>")))
    else:
        path = source = Path(path)
        if not path.is_file():
            msg = "graph file not found"
            raise ValidationError(msg, file=path)
    try:
        with np.load(source, allow_pickle=False) as npz:
            contents = {name: npz[name] for name in npz.files}
    except (OSError, ValueError) as exc:
        msg = f"not a readable .npz graph file ({exc})"
        raise ValidationError(msg, file=path) from exc
    missing = [name for name in ("meta", *_ARRAYS) if name not in contents]
    if missing:
        msg = f"not a RoadGraph file: missing arrays {', '.join(missing)}"
        raise ValidationError(msg, file=path)
    meta = json.loads(str(contents.pop("meta")))
    if meta.get("format_version") not in (1, NPZ_FORMAT_VERSION):
        msg = f"unsupported graph format version {meta.get('format_version')!r}"
        raise ValidationError(msg, file=path)
    graph = RoadGraph(
        **{name: _readonly(_owner(contents.pop(name))) for name in _ARRAYS},
        node_label=contents.get("node_label"),
        ferry=_readonly(_owner(contents.pop("ferry"))) if "ferry" in contents else None,
        crs=meta["crs"],
        mode=parse_mode(str(meta["mode"]).removeprefix("approximate-")),
        approximate=bool(meta["approximate"]),
    )
    for key, value in contents.items():
        if key.startswith(_DENSITY_PREFIX) and value.shape == (graph.n_nodes,):
            graph._cache[key] = _readonly(value.astype(np.int32, copy=False))
    return graph


def _min_csr(src: np.ndarray, dst: np.ndarray, seconds: np.ndarray, n_nodes: int) -> scipy.sparse.csr_matrix:
    """Build a CSR matrix keeping the minimum weight of duplicate ``(src, dst)`` pairs.

    Frugal on purpose (it sets the peak memory of ``atlas access`` at Région scale): the
    int64 sort key lives only during the sort, and the edges are then gathered as int32
    ends and float64 times, about 24 bytes per edge at most instead of 40.
    """
    order = np.argsort(src.astype(np.int64) * n_nodes + dst, kind="stable")
    tail = src[order]
    head = dst[order]
    data = seconds[order]
    del order
    if data.size:
        first = np.empty(data.size, dtype=bool)
        first[0] = True
        np.not_equal(tail[1:], tail[:-1], out=first[1:])
        first[1:] |= head[1:] != head[:-1]
        if not first.all():
            starts = np.flatnonzero(first)
            data = np.minimum.reduceat(data, starts)
            tail, head = tail[starts], head[starts]
            del starts
        del first
    indices = head.astype(np.int32, copy=False)
    index_dtype = np.int32 if data.size < np.iinfo(np.int32).max else np.int64
    indptr = np.zeros(n_nodes + 1, dtype=index_dtype)
    np.cumsum(np.bincount(tail, minlength=n_nodes), out=indptr[1:])
    return scipy.sparse.csr_matrix((data.astype(np.float64, copy=False), indices, indptr), shape=(n_nodes, n_nodes))


def strong_component_labels(src: np.ndarray, dst: np.ndarray, n_nodes: int) -> np.ndarray:
    """Strongly connected component label of each node of the edges ``src -> dst``.

    The same labels as :meth:`RoadGraph.strongly_connected_components`, without building a
    graph (no minimum over duplicate edges: only the structure matters), so that a
    builder can select components before making its one :class:`RoadGraph`.
    """
    order = np.argsort(src, kind="stable")
    indices = np.asarray(dst)[order].astype(np.int32)
    del order
    indptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n_nodes), out=indptr[1:])
    matrix = scipy.sparse.csr_matrix((np.ones(indices.size), indices, indptr), shape=(n_nodes, n_nodes))
    # Duplicate edges (two OSM ways sharing a segment) must be merged first: scipy 1.17's
    # strong components never return on a matrix with a repeated entry in a row (0.03 s
    # for 7M edges).
    matrix.sum_duplicates()
    _, labels = connected_components(matrix, directed=True, connection="strong")
    return np.asarray(labels)


def component_mask(labels: np.ndarray, min_nodes: int | None) -> np.ndarray:
    """Nodes of the components kept, from component ``labels`` (one per node).

    ``min_nodes`` None: the largest component only, and when several share the largest
    size, the one holding the lowest node index. Otherwise the largest ones and every
    component of at least ``min_nodes`` nodes (at least 1).
    """
    sizes = np.bincount(labels)
    if min_nodes is not None:
        if min_nodes < 1:
            msg = f"min_nodes must be at least 1, got {min_nodes}"
            raise ValidationError(msg, field="min_nodes")
        keep = (sizes >= min_nodes) | (sizes == sizes.max())
        mask: np.ndarray = keep[labels]
        return mask
    # Labels are not numbered by first node; rank ties by the lowest member index.
    first_member = np.full(sizes.shape[0], labels.shape[0], dtype=np.int64)
    np.minimum.at(first_member, labels, np.arange(labels.shape[0]))
    candidates = np.flatnonzero(sizes == sizes.max())
    best = candidates[np.argmin(first_member[candidates])]
    return np.asarray(labels == best)


def spatial_order(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The node order of :meth:`RoadGraph.sorted_spatially` (Z-order, stable), as indices."""
    return np.argsort(_morton_key(x, y), kind="stable")


def _morton_key(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Z-order key (uint64) of points, from 16-bit quantised coordinates."""

    def quantise(values: np.ndarray) -> np.ndarray:
        low, span = values.min(), np.ptp(values)
        scaled = (values - low) / span * 65535.0 if span > 0 else np.zeros_like(values)
        quantised: np.ndarray = scaled.astype(np.uint64)
        return quantised

    def spread(v: np.ndarray) -> np.ndarray:
        v = (v | (v << np.uint64(8))) & np.uint64(0x00FF00FF)
        v = (v | (v << np.uint64(4))) & np.uint64(0x0F0F0F0F)
        v = (v | (v << np.uint64(2))) & np.uint64(0x33333333)
        spread_bits: np.ndarray = (v | (v << np.uint64(1))) & np.uint64(0x55555555)
        return spread_bits

    key: np.ndarray = spread(quantise(x)) | (spread(quantise(y)) << np.uint64(1))
    return key


def _chain_index(graph: RoadGraph) -> ChainIndex:
    """Find the degree-2 chains of ``graph`` and contract them (see :class:`ChainIndex`)."""
    # From the forward matrix only: the reversed one (94 MB on a Région's walk graph) need
    # not be resident while the chains are found (benchmarks/README.md, Région scale).
    csr = graph.to_csr()
    n = graph.n_nodes
    head = csr.indices
    seconds = csr.data
    n_edges = head.shape[0]
    index_dtype = np.int32 if max(n, n_edges) < np.iinfo(np.int32).max - 1 else np.int64
    out_degree = np.diff(csr.indptr)
    in_degree = np.bincount(head, minlength=n)
    tail = np.repeat(np.arange(n, dtype=index_dtype), out_degree)

    def neighbour(degree: np.ndarray, k: int) -> np.ndarray:
        """Return the ``k``-th out-neighbour (ascending) of each node, -1 when it has fewer."""
        out = np.full(n, -1, dtype=index_dtype)
        has = degree > k
        out[has] = head[csr.indptr[:-1][has] + k]
        return out

    # Smallest and largest in-neighbour (edges are unique): the first and, for nodes with
    # two, the second in-neighbour in ascending order.
    in_low = np.full(n, np.iinfo(index_dtype).max, dtype=index_dtype)
    np.minimum.at(in_low, head, tail)
    in_high = np.full(n, -1, dtype=index_dtype)
    np.maximum.at(in_high, head, tail)
    out_1 = neighbour(out_degree, 0)
    one_way = (out_degree == 1) & (in_degree == 1) & (out_1 != in_low)
    two_way = (out_degree == 2) & (in_degree == 2) & (out_1 == in_low)
    two_way &= neighbour(out_degree, 1) == in_high
    chain_node = one_way | two_way
    del out_1, in_low, in_high, one_way, two_way, in_degree
    loops = csr.diagonal() > 0
    chain_node &= ~loops

    while True:
        # Successor of an edge entering a chain node: its out-edge not going back.
        successor = np.full(n_edges, -1, dtype=index_dtype)
        inner = np.flatnonzero(chain_node[head]).astype(index_dtype)
        first_out = csr.indptr[head[inner]]
        back = (out_degree[head[inner]] == 2) & (head[first_out] == tail[inner])
        successor[inner] = first_out + back
        del first_out, back
        total = seconds.copy()
        last = np.arange(n_edges, dtype=index_dtype)
        active = inner
        for _ in range(int(np.log2(n_edges + 1)) + 2):
            if not active.size:
                break
            step = successor[active]
            # In place: one temporary of |active| times, not three (`total[active] += ...`).
            np.add.at(total, cast("np.ndarray[Any, np.dtype[np.integer[Any]]]", active), total[step])
            last[active] = last[step]
            successor[active] = successor[step]
            active = active[successor[active] >= 0]
        del successor, inner
        if not active.size:
            break
        # Chains closing on themselves (a ring of chain nodes): make their nodes junctions.
        chain_node[head[active]] = False

    is_junction = ~chain_node
    junctions = np.flatnonzero(is_junction)
    junction_index = np.full(n, -1, dtype=np.int32)
    junction_index[junctions] = np.arange(junctions.size, dtype=np.int32)
    chain_end = junction_index[head[last]]
    starts = np.flatnonzero(is_junction[tail])
    a, b = junction_index[tail[starts]], chain_end[starts]
    del tail
    keep = a != b
    reverse_csr = _min_csr(b[keep], a[keep], total[starts][keep], junctions.size)
    arrays = (is_junction, junction_index, junctions, last, total, chain_end)
    for array in (*arrays, reverse_csr.data, reverse_csr.indices, reverse_csr.indptr):
        _readonly(array)
    return ChainIndex(
        is_junction=is_junction,
        junction_index=junction_index,
        junctions=junctions,
        reverse_csr=reverse_csr,
        chain_last=last,
        chain_seconds=total,
        chain_end=chain_end,
    )
