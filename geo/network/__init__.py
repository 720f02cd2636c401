"""Road networks for routing: the array graph, OSM and approximate builders, speed rules."""

from geo.network.graph import MODES, ChainIndex, Mode, RoadGraph, load_npz

__all__ = ["MODES", "ChainIndex", "Mode", "RoadGraph", "load_npz"]
