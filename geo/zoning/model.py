"""What a zoning is: the assignment commune -> zone, the zone table, the constraints broken.

Shared by the methods that propose zonings (:mod:`geo.zoning.catchment`,
:mod:`geo.zoning.regionalize`), the checker (:mod:`geo.zoning.checks`) and the
comparison (:mod:`geo.zoning.compare`). Times are in seconds and follow the orientation
of :mod:`geo.traveltimes` (one row per commune, one column per site); populations are in
inhabitants; geometries in the communes' projected CRS.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.categories import mission_matrix
from geo.errors import CrsError, DuplicateError, MissingColumnError, ValidationError
from geo.sources.zoning_files import CODE_COLUMNS, ZONE_COLUMNS
from geo.vocabulary import FIXED_SITE_FORMATS, HUB_MISSIONS

CONSTRAINTS: tuple[str, ...] = ("coverage", "contiguity", "nesting", "min_population", "missions", "max_hub_time")
"""The constraints :func:`geo.zoning.checks.check_zoning` knows, in the order it reports them."""


@dataclass(frozen=True)
class Violation:
    """A constraint that a zoning does not meet.

    Attributes
    ----------
    constraint
        One of :data:`CONSTRAINTS`: ``coverage`` (a commune missing, unknown, listed twice
        or without zone), ``contiguity``, ``nesting``, ``min_population``, ``missions`` or
        ``max_hub_time``.
    zone_id
        The zone concerned (None for coverage problems of a commune).
    message
        What is wrong, in plain words, naming the file and rows when known.
    value, limit
        The measured value and the limit when the constraint is numeric (inhabitants or
        seconds), else None.
    communes
        Codes of the communes concerned (e.g. those beyond the time limit).
    kind
        The precise problem: for ``coverage``, ``missing``, ``unknown``, ``duplicate`` or
        ``empty_zone``; ``not_contiguous`` for ``contiguity``; else the constraint.
    severity
        ``"error"`` (the zoning breaks a constraint asked for) or ``"warning"`` (worth
        knowing, e.g. a planner's zone in two pieces).
    rows
        Rows of the zoning concerned, as its reader numbers them (spreadsheet rows for a
        CSV, feature numbers for polygons, position + 1 for a frame without ``row``).
    file
        The zoning's file, when it was read from one.
    """

    constraint: str
    zone_id: str | None
    message: str
    value: float | None = None
    limit: float | None = None
    communes: tuple[str, ...] = ()
    kind: str = ""
    severity: str = "error"
    rows: tuple[int, ...] = ()
    file: str | None = None

    @property
    def commune_code(self) -> str | None:
        """The commune concerned, when the violation is about one commune."""
        return self.communes[0] if len(self.communes) == 1 else None


@dataclass(frozen=True)
class ZoneFacts:
    """What a zone's explanation may state (:mod:`geo.zoning.wording`).

    ``n`` communes, ``population`` inhabitants, the ``hub`` (structure_id, None without
    one), the name of its pôle (``hub_name``) and the farthest commune's time to it in
    seconds (``max_hub_time_s``, ``inf`` when a commune cannot reach it).
    """

    n: int
    population: float
    hub: str | None
    hub_name: str | None
    max_hub_time_s: float


@dataclass
class Zoning:
    """A proposed zoning.

    Attributes
    ----------
    assignment
        ``commune_code, zone_id`` (str), one row per commune, in the communes' order.
    zones
        GeoDataFrame, one row per zone: ``zone_id, name, group, population`` (inhabitants),
        ``n_communes, hub`` (structure_id of the hub site, None when the zone has none),
        ``hub_commune, max_hub_time_s, mean_hub_time_s`` (population-weighted, seconds,
        ``inf`` when a commune cannot reach the hub), ``explanation`` (French) and the
        dissolved geometry, in the communes' CRS.
    violations
        What :func:`check_zoning` found with the constraints of the method.
    method, params
        How the zoning was made.
    """

    assignment: pd.DataFrame
    zones: gpd.GeoDataFrame
    violations: list[Violation] = field(default_factory=list)
    method: str = ""
    params: dict[str, object] = field(default_factory=dict)


def assignment_frame(assignment: pd.DataFrame | pd.Series) -> pd.DataFrame:
    """The one reading of a zoning given as a frame: ``commune_code, zone_id, row``.

    Parameters
    ----------
    assignment
        A Series commune -> zone, or a frame whose commune column is ``commune_code`` or
        one of :data:`CODE_COLUMNS` and zone column ``zone_id`` or one of
        :data:`ZONE_COLUMNS`; optionally ``row`` (the reader's row numbers) and
        ``attrs["source"]`` (the file, kept).

    Returns
    -------
    pandas.DataFrame
        ``commune_code`` (str, stripped), ``zone_id`` (str, stripped; None when missing or
        blank) and ``row`` (position + 1 when not given), in the given order.
    """
    if isinstance(assignment, pd.Series):
        frame = pd.DataFrame({"commune_code": assignment.index.to_numpy(), "zone_id": assignment.to_numpy()})
    else:
        code = next((c for c in ("commune_code", *CODE_COLUMNS) if c in assignment.columns), None)
        zone = next((c for c in ("zone_id", *ZONE_COLUMNS) if c in assignment.columns), None)
        if code is None or zone is None:
            missing = "commune_code" if code is None else "zone_id"
            msg = f"the zoning lacks the column '{missing}'"
            raise MissingColumnError(msg, file=zoning_source(assignment), field=missing)
        frame = pd.DataFrame({"commune_code": assignment[code].to_numpy(), "zone_id": assignment[zone].to_numpy()})
        if "row" in assignment.columns:
            frame["row"] = assignment["row"].to_numpy()
    if "row" not in frame.columns:
        frame["row"] = np.arange(1, len(frame) + 1)
    frame["commune_code"] = frame["commune_code"].astype(str).str.strip()
    frame["zone_id"] = (
        frame["zone_id"].map(lambda z: None if pd.isna(z) or not str(z).strip() else str(z).strip()).astype(object)
    )
    frame.attrs["source"] = zoning_source(assignment)
    return frame.reset_index(drop=True)


def zoning_source(assignment: pd.DataFrame | pd.Series) -> str | None:
    """The file a zoning was read from (``attrs["source"]``), if any."""
    source = getattr(assignment, "attrs", {}).get("source")
    return str(source) if source else None


def check_communes(communes: gpd.GeoDataFrame) -> None:
    """Refuse communes without ``code``/``population``, with a code twice, or not in metres."""
    missing = [c for c in ("code", "population") if c not in communes.columns]
    if missing:
        msg = f"communes lack the column(s) {', '.join(missing)}"
        raise MissingColumnError(msg, field=missing[0])
    duplicated = communes["code"].astype(str).duplicated()
    if duplicated.any():
        msg = f"commune code {communes['code'].astype(str)[duplicated].iloc[0]} appears twice"
        raise DuplicateError(msg, row=int(np.flatnonzero(duplicated)[0]) + 1, field="code")
    if communes.crs is not None and not communes.crs.is_projected:
        msg = f"communes must be in a projected CRS (metres), got {communes.crs.to_string()}"
        raise CrsError(msg)


def check_sites(sites: pd.DataFrame, times_s: np.ndarray, n_communes: int) -> None:
    """Refuse sites without ``structure_id`` and times not shaped ``(n_communes, n_sites)``."""
    if "structure_id" not in sites.columns:
        msg = "sites lack the column 'structure_id'"
        raise MissingColumnError(msg, field="structure_id")
    if np.shape(times_s) != (n_communes, len(sites)):
        msg = f"times_s is {np.shape(times_s)}, expected (n_communes, n_sites) = {(n_communes, len(sites))}"
        raise ValidationError(msg, field="times_s")


def site_commune_positions(sites: pd.DataFrame, communes: gpd.GeoDataFrame) -> np.ndarray:
    """Position (row in ``communes``) of the commune of every site, −1 when outside.

    Uses ``commune_code`` when ``sites`` has it (a missing code falls back on the point
    geometry, if any), else the Point geometry (within the commune polygon, same CRS).

    Raises
    ------
    geo.errors.MissingColumnError
        When ``sites`` has neither ``commune_code`` nor geometries.
    """
    codes = pd.Index(communes["code"].astype(str))
    positions = np.full(len(sites), -1, dtype=np.int64)
    if "commune_code" in sites.columns:
        known = sites["commune_code"].notna().to_numpy()
        positions[known] = codes.get_indexer(sites.loc[known, "commune_code"].astype(str))
    todo = positions < 0
    if todo.any() and isinstance(sites, gpd.GeoDataFrame) and sites.geometry.name in sites.columns:
        if sites.crs is not None and communes.crs is not None and not sites.crs.equals(communes.crs):
            msg = f"sites are in {sites.crs.to_string()}, the communes in {communes.crs.to_string()}"
            raise CrsError(msg)
        points = sites.geometry.to_numpy()[todo]
        valid = ~(shapely.is_missing(points) | shapely.is_empty(points))
        point_idx, poly_idx = communes.sindex.query(points[valid], predicate="within")
        found = np.full(valid.sum(), -1, dtype=np.int64)
        found[point_idx[::-1]] = poly_idx[::-1]  # first polygon listed wins
        rows = np.flatnonzero(todo)[valid]
        positions[rows] = found
    elif "commune_code" not in sites.columns:
        msg = "sites need a 'commune_code' column or Point geometries to be placed in zones"
        raise MissingColumnError(msg, field="commune_code")
    return positions


def zone_missions(
    labels: np.ndarray, site_pos: np.ndarray, site_missions: np.ndarray, n_zones: int | None = None
) -> np.ndarray:
    """Boolean ``(n_zones, n_missions)``: missions offered by a site located in each zone."""
    n_zones = int(labels.max()) + 1 if n_zones is None and labels.size else (n_zones or 0)
    present = np.zeros((n_zones, site_missions.shape[1]), dtype=bool)
    located = site_pos >= 0
    if not located.any() or n_zones == 0:
        return present
    site_zone = labels[site_pos[located]]
    for m in range(site_missions.shape[1]):
        present[site_zone[site_missions[located, m]], m] = True
    return present


def hub_rows(sites: pd.DataFrame, hubs: Sequence[str] | None) -> np.ndarray:
    """Rows of the hub sites: those given, or by default the fixed sites offering every
    mission of :data:`geo.vocabulary.HUB_MISSIONS` (conseil and accompagnement).

    ``sites`` holds places receiving the public only (:func:`storage.access.read_places`);
    a site without ``site_format`` counts as fixed.
    """
    if hubs is None:
        rows = np.flatnonzero(default_hubs(sites))
        if rows.size == 0:
            msg = (
                f"aucun lieu fixe n'offre les missions {' et '.join(HUB_MISSIONS)} : donner la liste des pôles (--hub)"
            )
            raise ValidationError(msg, field="missions")
        return rows
    ids = sites["structure_id"].astype(str)
    position = pd.Index(ids).get_indexer([str(h) for h in hubs])
    if np.any(position < 0):
        unknown = [str(h) for h, p in zip(hubs, position, strict=True) if p < 0]
        msg = f"pôle inconnu (structure_id) : {', '.join(unknown)}"
        raise ValidationError(msg, field="hubs")
    if position.size == 0:
        msg = "la liste des pôles est vide"
        raise ValidationError(msg, field="hubs")
    return np.unique(position)


def default_hubs(sites: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the sites that may be a pôle by default: fixed sites offering every
    mission of :data:`geo.vocabulary.HUB_MISSIONS`."""
    offers = mission_matrix(sites, HUB_MISSIONS).all(axis=1)
    if "site_format" in sites.columns:
        formats = sites["site_format"]
        offers &= (formats.isna() | formats.isin(FIXED_SITE_FORMATS)).to_numpy(dtype=bool)
    return np.asarray(offers, dtype=bool)


def poles(hub_rows: np.ndarray, site_pos: np.ndarray) -> dict[str, list]:
    """Group hub rows by commune (sites of an unknown commune stay alone), in site order."""
    rows_of: dict[object, list[int]] = {}
    for row in hub_rows:
        key = int(site_pos[row]) if site_pos[row] >= 0 else ("site", int(row))
        rows_of.setdefault(key, []).append(int(row))
    keys = list(rows_of)
    return {
        "rows": [np.array(rows_of[k]) for k in keys],
        "commune": [k if isinstance(k, int) else -1 for k in keys],
    }


def pole_name(communes: gpd.GeoDataFrame, sites: pd.DataFrame, commune: int, site: int) -> str:
    """Commune name of a pôle, else the site's name, else its structure_id."""
    if commune is not None and commune >= 0:
        if "name" in communes.columns and pd.notna(communes["name"].iloc[commune]):
            return str(communes["name"].iloc[commune])
        return str(communes["code"].iloc[commune])
    if "name" in sites.columns and pd.notna(sites["name"].iloc[site]):
        return str(sites["name"].iloc[site])
    return str(sites["structure_id"].iloc[site])


def best_hub(
    times_s: np.ndarray,
    members: np.ndarray,
    candidates: np.ndarray,
    population: np.ndarray,
    site_missions: np.ndarray,
) -> int | None:
    """Hub among the sites ``candidates`` for the communes ``members``: full sites first,
    then minimax time.

    Sites offering every mission of ``site_missions`` come first; among them (or among
    all when none does) the lowest maximum time wins, then the most missions, the lowest
    population-weighted mean time, the first listed. ``times_s`` is ``(n_communes,
    n_sites)``.
    """
    if candidates.size == 0:
        return None
    block = times_s[np.ix_(members, candidates)]  # the members x the candidates
    worst = block.max(axis=0) if members.size else np.zeros(candidates.size)
    mean = weighted_mean(block, population[members])
    n_missions = site_missions[candidates].sum(axis=1)
    partial = ~site_missions[candidates].all(axis=1)
    order = np.lexsort((np.arange(candidates.size), mean, -n_missions, worst, partial))
    return int(candidates[order[0]])


def weighted_mean(times: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Population-weighted mean time of each column over the communes (rows), as every
    commune x site matrix is laid out (``inf`` when a weighted commune is unreached).

    ``times`` is ``(n_communes, k)``, ``weights`` ``(n_communes,)``; the result ``(k,)``.
    Unweighted mean when the weights sum to zero.
    """
    weights = np.asarray(weights, dtype=np.float64)
    if times.shape[0] == 0:
        return np.zeros(times.shape[1])
    if weights.sum() <= 0:
        weights = np.ones_like(weights)
    masked = np.where(weights[:, np.newaxis] > 0, times, 0.0)
    return (masked * weights[:, np.newaxis]).sum(axis=0) / weights.sum()


def build_zoning(
    communes: gpd.GeoDataFrame,
    sites: pd.DataFrame,
    times_s: np.ndarray,
    labels: np.ndarray,
    *,
    hub_site: Mapping[int, int],
    hub_commune: Mapping[int, int],
    names: Mapping[int, str],
    explanation: Mapping[int, Callable[[ZoneFacts], str]],
    events: Mapping[int, list[str]],
    groups: Mapping[int, str | None] | None,
    id_prefix: Callable[[int], str] | None,
) -> Zoning:
    """Assemble the assignment and the zone table (ids by decreasing population).

    ``labels`` gives each commune's zone label (``-1``: none); ``hub_site`` and
    ``hub_commune`` the hub site and its commune per label; ``explanation`` per label
    says why the zone has its shape, given its :class:`ZoneFacts`; ``events`` per label
    are appended to it; ``id_prefix`` gives zone ids ``<prefix>-01``… per group instead
    of ``Z01``….
    """
    population = communes["population"].to_numpy(dtype=np.float64)
    codes = communes["code"].astype(str).to_numpy()
    zones = [int(z) for z in np.unique(labels[labels >= 0])]
    pops = {z: float(population[labels == z].sum()) for z in zones}
    zone_id: dict[int, str] = {}
    by_prefix: dict[str, list[int]] = {}
    for z in zones:
        prefix = id_prefix(z) if id_prefix is not None else "Z"
        by_prefix.setdefault(prefix, []).append(z)
    for prefix, members in by_prefix.items():
        members.sort(key=lambda z: (-pops[z], codes[labels == z].min()))
        width = max(2, len(str(len(members))))
        for rank, z in enumerate(members, start=1):
            zone_id[z] = f"{prefix}-{rank:0{width}d}" if id_prefix is not None else f"Z{rank:0{width}d}"

    rows: list[dict[str, Any]] = []
    for z in zones:
        inside = np.flatnonzero(labels == z)
        hub = hub_site.get(z)
        times = times_s[inside, hub] if hub is not None else np.full(inside.size, np.inf)
        max_time = float(times.max()) if inside.size else math.inf
        mean_time = float(weighted_mean(times[:, np.newaxis], population[inside])[0])
        hub_pos = hub_commune.get(z, -1)
        facts = ZoneFacts(
            n=int(inside.size),
            population=pops[z],
            hub=None if hub is None else str(sites["structure_id"].iloc[hub]),
            hub_name=pole_name(communes, sites, hub_pos, hub) if hub is not None else None,
            max_hub_time_s=max_time,
        )
        text = " ; ".join([explanation[z](facts), *events.get(z, [])]) + "."
        rows.append(
            {
                "zone_id": zone_id[z],
                "name": names[z],
                "group": None if groups is None else groups.get(z),
                "population": int(round(pops[z])),
                "n_communes": int(inside.size),
                "hub": facts.hub,
                "hub_commune": str(codes[hub_pos]) if hub_pos is not None and hub_pos >= 0 else None,
                "max_hub_time_s": max_time,
                "mean_hub_time_s": mean_time,
                "explanation": text,
                "_label": z,
            }
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "zone_id",
            "name",
            "group",
            "population",
            "n_communes",
            "hub",
            "hub_commune",
            "max_hub_time_s",
            "mean_hub_time_s",
            "explanation",
            "_label",
        ],
    )
    geometry = _dissolve(communes, labels, [r["_label"] for r in rows])
    table = gpd.GeoDataFrame(table.drop(columns="_label"), geometry=geometry, crs=communes.crs)
    table = table.sort_values("zone_id", kind="stable").reset_index(drop=True)
    assignment = pd.DataFrame(
        {
            "commune_code": codes,
            "zone_id": pd.array([zone_id.get(int(z)) if z >= 0 else None for z in labels], dtype="object"),
        }
    )
    return Zoning(assignment=assignment, zones=table)


def _dissolve(communes: gpd.GeoDataFrame, labels: np.ndarray, order: Sequence[int]) -> np.ndarray:
    """Union of the commune polygons of each label, in ``order``."""
    geoms = communes.geometry.to_numpy()
    return np.array([shapely.union_all(geoms[labels == z]) for z in order], dtype=object)


def zone_table(
    communes: gpd.GeoDataFrame, assignment: pd.DataFrame, *, explanation: str | None = None
) -> gpd.GeoDataFrame:
    """Zone table of a given assignment (e.g. a zoning imported from a planner).

    Parameters
    ----------
    communes
        ``code``, ``population`` and polygons in a projected CRS (metres).
    assignment
        ``commune_code, zone_id``, each commune once (see
        :func:`geo.zoning.checks.check_zoning`).
    explanation
        Text stored with every zone (e.g. where the zoning comes from).

    Returns
    -------
    geopandas.GeoDataFrame
        ``zone_id, name`` (the zone id), ``population, n_communes, hub`` (None),
        ``explanation`` and the dissolved polygons, ordered by zone id.
    """
    check_communes(communes)
    frame = communes[["code", "population", "geometry"]].merge(
        assignment.rename(columns={"commune_code": "code"})[["code", "zone_id"]], on="code", how="inner"
    )
    frame["zone_id"] = frame["zone_id"].astype(str)
    dissolved = frame.dissolve(by="zone_id", aggfunc={"population": "sum", "code": "count"}, sort=True)
    dissolved = dissolved.rename(columns={"code": "n_communes"}).reset_index()
    dissolved["name"] = dissolved["zone_id"]
    dissolved["hub"] = None
    dissolved["explanation"] = explanation
    columns = ["zone_id", "name", "population", "n_communes", "hub", "explanation", "geometry"]
    return gpd.GeoDataFrame(dissolved[columns], geometry="geometry", crs=communes.crs)
