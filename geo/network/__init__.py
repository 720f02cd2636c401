"""Road networks for routing: the array graph, OSM and approximate builders, speed rules."""

from geo.network.graph import ChainIndex, RoadGraph, load_npz

__all__ = ["ChainIndex", "RoadGraph", "load_npz"]
