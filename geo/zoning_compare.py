"""Compare two zonings, validate a planner's zoning, and read one from a file.

A zoning is a mapping commune -> zone: a DataFrame ``commune_code, zone_id`` (the
assignment of :mod:`geo.zones`; ``code``/``commune`` and ``zone`` are accepted too).

Comparison (:func:`compare_zonings`)
    The overlap table (communes and inhabitants of every pair of zones), the adjusted Rand
    index over communes and its population-weighted variant (each inhabitant is an
    element: pairs of inhabitants placed together or apart by both zonings), the
    population of the communes whose zones do not correspond, and a per-commune
    ``differs`` flag for a difference map.

Validation (:func:`validate_zoning`)
    Every commune of the Région exactly once; zones in several pieces are warned about.

Readers (:func:`read_zoning_csv`, :func:`read_zoning_polygons`)
    CSV ``code`` (or ``commune``) and ``zone``, UTF-8 or Latin-1, ``;`` or ``,``; or zone
    polygons (GeoPackage, GeoJSON… through pyogrio), each commune going to the polygon
    covering most of its area. Errors name the file, the row and the field.

Populations are in inhabitants, geometries in the communes' projected CRS (metres).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import scipy.sparse
import shapely

from geo.errors import CrsError, GeometryError, MissingColumnError, ValidationError
from geo.zones import commune_adjacency, zone_pieces

CODE_COLUMNS: tuple[str, ...] = ("code", "commune", "commune_code", "code_commune", "insee", "code_insee")
"""Accepted names of the commune column of a CSV zoning (case-insensitive), in order of preference."""

ZONE_COLUMNS: tuple[str, ...] = ("zone", "zone_id")
"""Accepted names of the zone column (case-insensitive), in order of preference."""

ENCODINGS: tuple[str, ...] = ("utf-8-sig", "cp1252", "latin-1")
"""Encodings tried in turn: UTF-8 (with or without BOM), Windows-1252, then Latin-1."""


# ---------------------------------------------------------------- comparison
@dataclass
class ZoningComparison:
    """Result of :func:`compare_zonings`.

    Attributes
    ----------
    overlap
        Contingency table: ``zone_a, zone_b, n_communes, population`` (inhabitants), one
        row per pair of zones sharing at least one commune.
    ari
        Adjusted Rand index over communes (1 = same partition, about 0 = chance).
    ari_population
        Adjusted Rand index over inhabitants (population-weighted variant).
    mismatched_population
        Inhabitants of the communes flagged ``differs``.
    mismatched_share
        The same, as a share of the population compared (0–1).
    communes
        GeoDataFrame ``commune_code, zone_a, zone_b, match_b`` (best-matching zone of B
        for the commune's zone of A), ``match_a`` (best match of A for its zone of B),
        ``differs``, ``population`` and the geometry.
    """

    overlap: pd.DataFrame
    ari: float
    ari_population: float
    mismatched_population: int
    mismatched_share: float
    communes: gpd.GeoDataFrame


def adjusted_rand_index(
    labels_a: np.ndarray, labels_b: np.ndarray, weights: np.ndarray | None = None
) -> float:
    """Adjusted Rand index of two partitions, optionally weighting each element.

    Parameters
    ----------
    labels_a, labels_b
        Zone of each element in each partition (same length).
    weights
        Number of individuals each element stands for (e.g. a commune's inhabitants);
        None counts each element once. With weights, the index is computed on the
        pairs of individuals (contingency counts are sums of weights).

    Returns
    -------
    float
        1.0 for identical partitions (also when both are trivial), about 0 for independent
        ones, negative when worse than chance. Equals
        ``sklearn.metrics.adjusted_rand_score`` without weights.
    """
    a = pd.factorize(pd.Series(labels_a, dtype=object))[0]
    b = pd.factorize(pd.Series(labels_b, dtype=object))[0]
    if a.size != b.size:
        msg = f"the partitions differ in length: {a.size} and {b.size}"
        raise ValidationError(msg)
    w = np.ones(a.size) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != a.shape:
        msg = f"weights have shape {w.shape}, expected {a.shape}"
        raise ValidationError(msg, field="weights")
    if a.size == 0:
        return 1.0
    table = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(table, (a, b), w)
    total = table.sum()
    index = _pairs(table).sum()
    rows = _pairs(table.sum(axis=1)).sum()
    cols = _pairs(table.sum(axis=0)).sum()
    all_pairs = _pairs(np.array([total]))[0]
    if all_pairs <= 0:
        return 1.0
    expected = rows * cols / all_pairs
    maximum = (rows + cols) / 2.0
    if np.isclose(maximum, expected, rtol=1e-12, atol=1e-12):
        return 1.0
    return float((index - expected) / (maximum - expected))


def compare_zonings(
    zoning_a: pd.DataFrame | pd.Series,
    zoning_b: pd.DataFrame | pd.Series,
    communes: gpd.GeoDataFrame,
) -> ZoningComparison:
    """Compare two zonings of the same communes.

    Parameters
    ----------
    zoning_a, zoning_b
        Mappings ``commune_code, zone_id`` (or a Series commune code -> zone), each
        covering every commune of ``communes`` once (see :func:`validate_zoning`).
    communes
        ``code``, ``population`` (inhabitants) and polygons.

    Returns
    -------
    ZoningComparison

    Raises
    ------
    geo.errors.ValidationError
        When a zoning misses a commune, names an unknown one or repeats one.

    Notes
    -----
    The best match of a zone of A is the zone of B holding most of its inhabitants (then
    most of its communes, then the first zone id). A commune *differs* when its zone of B
    is not the best match of its zone of A, or its zone of A is not the best match of
    its zone of B: with identical zonings (up to zone names) no commune differs.
    """
    codes = communes["code"].astype(str).to_numpy()
    population = communes["population"].to_numpy(dtype=np.float64)
    zone_a = _aligned(zoning_a, codes, "zoning_a")
    zone_b = _aligned(zoning_b, codes, "zoning_b")
    frame = pd.DataFrame(
        {"commune_code": codes, "zone_a": zone_a, "zone_b": zone_b, "population": population}
    )
    overlap = (
        frame.groupby(["zone_a", "zone_b"], sort=True)
        .agg(n_communes=("commune_code", "size"), population=("population", "sum"))
        .reset_index()
    )
    match_b = _best_match(overlap, "zone_a", "zone_b")
    match_a = _best_match(overlap, "zone_b", "zone_a")
    frame["match_b"] = frame["zone_a"].map(match_b)
    frame["match_a"] = frame["zone_b"].map(match_a)
    differs = (frame["zone_b"] != frame["match_b"]) | (frame["zone_a"] != frame["match_a"])
    frame["differs"] = differs.to_numpy(dtype=bool)
    mismatched = float(population[frame["differs"].to_numpy()].sum())
    total = float(population.sum())
    overlap["population"] = overlap["population"].round().astype(np.int64)
    frame["population"] = np.round(population).astype(np.int64)
    result = gpd.GeoDataFrame(
        frame[["commune_code", "zone_a", "zone_b", "match_b", "match_a", "differs", "population"]],
        geometry=communes.geometry.to_numpy(),
        crs=communes.crs,
    )
    return ZoningComparison(
        overlap=overlap,
        ari=adjusted_rand_index(zone_a, zone_b),
        ari_population=adjusted_rand_index(zone_a, zone_b, population),
        mismatched_population=int(round(mismatched)),
        mismatched_share=mismatched / total if total > 0 else 0.0,
        communes=result,
    )


# ---------------------------------------------------------------- validation
@dataclass(frozen=True)
class ZoningIssue:
    """A problem of a zoning.

    Attributes
    ----------
    kind
        ``missing`` (a commune of the Région in no zone), ``unknown`` (a code that is not
        a commune of the Région), ``duplicate`` (a commune listed more than once),
        ``empty_zone`` (a row without zone) or ``not_contiguous`` (a zone in several
        pieces).
    severity
        ``"error"`` (the zoning cannot be used as is) or ``"warning"``.
    message
        Plain words (English), naming the file and rows when known.
    commune_code, zone_id
        What it is about, when it is about one commune or one zone.
    rows
        1-based data rows of the zoning concerned (CSV line minus the header, feature
        number for polygons, position + 1 for a DataFrame without ``row`` column).
    file
        Source file, when the zoning was read from one.
    """

    kind: str
    severity: str
    message: str
    commune_code: str | None = None
    zone_id: str | None = None
    rows: tuple[int, ...] = ()
    file: str | None = None

    def to_error(self) -> ValidationError:
        """The issue as a :class:`~geo.errors.ValidationError` (first row, commune field)."""
        return ValidationError(
            self.message,
            file=self.file,
            row=self.rows[0] if self.rows else None,
            field="code" if self.commune_code else None,
        )


def validate_zoning(
    mapping: pd.DataFrame | pd.Series,
    communes: gpd.GeoDataFrame,
    *,
    adjacency: scipy.sparse.spmatrix | None = None,
) -> list[ZoningIssue]:
    """Check that a zoning covers every commune exactly once; warn about split zones.

    Parameters
    ----------
    mapping
        ``commune_code, zone_id`` (or ``code``/``commune`` and ``zone``), optionally
        ``row`` (source row numbers, as the readers give) and ``attrs["source"]``
        (the file).
    communes
        ``code`` and polygons in a projected CRS (metres).
    adjacency
        Precomputed :func:`geo.zones.commune_adjacency` (default Queen, islands bridged).

    Returns
    -------
    list[ZoningIssue]
        Errors first (duplicates, unknown codes, empty zones, missing communes), then
        contiguity warnings; empty when the zoning is sound.
    """
    frame = _frame(mapping)
    source = _source(mapping)
    codes = communes["code"].astype(str).to_numpy()
    known = set(codes)
    issues: list[ZoningIssue] = []

    empty = frame["zone_id"].isna() | (frame["zone_id"].astype(str).str.strip() == "")
    for _, row in frame[empty].iterrows():
        issues.append(
            ZoningIssue(
                "empty_zone",
                "error",
                _where(source, (row["row"],)) + f"commune {row['commune_code']} has no zone",
                row["commune_code"],
                None,
                (int(row["row"]),),
                source,
            )
        )
    frame = frame[~empty]
    for code, group in frame[frame["commune_code"].duplicated(keep=False)].groupby("commune_code", sort=True):
        rows = tuple(int(r) for r in group["row"])
        zones = ", ".join(sorted(set(group["zone_id"].astype(str))))
        issues.append(
            ZoningIssue(
                "duplicate",
                "error",
                _where(source, rows) + f"commune {code} is listed {len(rows)} times (zones {zones})",
                str(code),
                None,
                rows,
                source,
            )
        )
    for _, row in frame[~frame["commune_code"].isin(known)].iterrows():
        issues.append(
            ZoningIssue(
                "unknown",
                "error",
                _where(source, (row["row"],)) + f"code {row['commune_code']} is not a commune of the Région",
                row["commune_code"],
                str(row["zone_id"]),
                (int(row["row"]),),
                source,
            )
        )
    listed = set(frame["commune_code"])
    for position, code in enumerate(codes):
        if code not in listed:
            issues.append(
                ZoningIssue(
                    "missing",
                    "error",
                    (f"{source}: " if source else "")
                    + f"commune {code} (row {position + 1} of the communes) is in no zone",
                    str(code),
                    None,
                    (),
                    source,
                )
            )

    first = (
        frame[frame["commune_code"].isin(known)]
        .drop_duplicates("commune_code")
        .set_index("commune_code")["zone_id"]
        .astype(str)
    )
    labels = first.reindex(codes).to_numpy(dtype=object)
    assigned = pd.notna(labels)
    if assigned.any():
        adjacency = commune_adjacency(communes) if adjacency is None else adjacency
        pieces = zone_pieces(adjacency, np.where(assigned, labels, "\x00none"))
        for zone in sorted(set(labels[assigned])):
            members = np.flatnonzero(labels == zone)
            n_pieces = np.unique(pieces[members]).size
            if n_pieces > 1:
                sizes = pd.Series(pieces[members]).value_counts()
                small = members[pieces[members] != sizes.index[0]]
                listed_codes = ", ".join(codes[small][:10]) + (" …" if small.size > 10 else "")
                issues.append(
                    ZoningIssue(
                        "not_contiguous",
                        "warning",
                        (f"{source}: " if source else "")
                        + f"zone {zone} is in {n_pieces} pieces "
                        + f"(apart from its largest piece: {listed_codes})",
                        None,
                        str(zone),
                        (),
                        source,
                    )
                )
    return issues


# ------------------------------------------------------------------- readers
def read_zoning_csv(
    path: str | Path, *, code_column: str | None = None, zone_column: str | None = None
) -> pd.DataFrame:
    """Read a planner's zoning from a CSV file (commune -> zone).

    Parameters
    ----------
    path
        CSV file with a header; ``;`` or ``,`` separated (tab too), UTF-8 (BOM allowed)
        or Latin-1 / Windows-1252 (as saved by a spreadsheet).
    code_column, zone_column
        Column names; default: the first of :data:`CODE_COLUMNS` / :data:`ZONE_COLUMNS`
        found (case-insensitive).

    Returns
    -------
    pandas.DataFrame
        ``commune_code, zone_id`` (str, stripped) and ``row`` (1-based data row: line
        number minus the header); ``attrs["source"]`` is the path. Four-digit numeric
        codes get their leading zero back (``1004`` -> ``01004``, as spreadsheets drop it).

    Raises
    ------
    geo.errors.MissingColumnError
        When the commune or zone column is missing.
    geo.errors.ValidationError
        When the file is empty or unreadable, or a row has an empty code or zone.
    """
    path = Path(path)
    text = _decode(path)
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        msg = "the file is empty (a header line with the commune and zone columns is expected)"
        raise ValidationError(msg, file=path, row=None)
    delimiter = _delimiter(lines[0])
    reader = csv.reader(lines, delimiter=delimiter)
    header = [h.strip() for h in next(reader)]
    lowered = [h.lower() for h in header]
    code_index = _column_index(
        lowered, [code_column] if code_column else CODE_COLUMNS, path, "commune code", header
    )
    zone_index = _column_index(lowered, [zone_column] if zone_column else ZONE_COLUMNS, path, "zone", header)
    codes, zones, rows = [], [], []
    for row_number, record in enumerate(reader, start=1):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) <= max(code_index, zone_index):
            msg = f"the row has {len(record)} field(s), {len(header)} expected (separator {delimiter!r})"
            raise ValidationError(msg, file=path, row=row_number)
        code = _normalise_code(record[code_index])
        zone = record[zone_index].strip()
        if not code:
            raise ValidationError("empty commune code", file=path, row=row_number, field=header[code_index])
        if not zone:
            raise ValidationError("empty zone", file=path, row=row_number, field=header[zone_index])
        codes.append(code)
        zones.append(zone)
        rows.append(row_number)
    frame = pd.DataFrame(
        {"commune_code": codes, "zone_id": zones, "row": rows}, columns=["commune_code", "zone_id", "row"]
    )
    frame["row"] = frame["row"].astype(np.int64)
    frame.attrs["source"] = str(path)
    return frame


def read_zoning_polygons(
    path: str | Path,
    communes: gpd.GeoDataFrame,
    *,
    zone_column: str | None = None,
    layer: str | int | None = None,
) -> pd.DataFrame:
    """Read zone polygons and give each commune the zone covering most of its area.

    Parameters
    ----------
    path
        Any vector file pyogrio reads (GeoPackage, GeoJSON, Shapefile…), with a CRS
        (GeoJSON without one is taken as WGS84, per its specification).
    communes
        ``code`` and polygons in a projected CRS (metres).
    zone_column
        Property naming the zone; default: the first of :data:`ZONE_COLUMNS` found
        (case-insensitive).
    layer
        Layer name or index of a multi-layer file (default: the first).

    Returns
    -------
    pandas.DataFrame
        ``commune_code, zone_id, row`` (1-based feature number of the polygon chosen),
        ``share`` (fraction of the commune's area in that zone, 0–1); communes touching
        no polygon are absent (:func:`validate_zoning` reports them).
        ``attrs["source"]`` is the path.

    Raises
    ------
    geo.errors.MissingColumnError
        When the zone property is missing.
    geo.errors.CrsError
        When the file has no CRS.
    geo.errors.GeometryError
        When a feature has no geometry or one that is not a polygon.
    geo.errors.ValidationError
        When the file cannot be read, or a feature has an empty zone.
    """
    path = Path(path)
    try:
        zones = pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:  # pyogrio raises its own DataSourceError / DataLayerError
        msg = f"cannot read the zone polygons: {exc}"
        raise ValidationError(msg, file=path) from exc
    if not isinstance(zones, gpd.GeoDataFrame) or zones.geometry is None:
        raise GeometryError("the file has no geometry column", file=path)
    lowered = {c.lower(): c for c in zones.columns if c != zones.geometry.name}
    wanted = [zone_column] if zone_column else ZONE_COLUMNS
    column = next((lowered[w.lower()] for w in wanted if w.lower() in lowered), None)
    if column is None:
        found = ", ".join(lowered.values()) or "none"
        msg = f"no zone property ({' or '.join(wanted)}); properties found: {found}"
        raise MissingColumnError(msg, file=path, field=wanted[0])
    if zones.crs is None:
        msg = "the zone polygons have no CRS"
        raise CrsError(msg, file=path)
    geoms = zones.geometry.to_numpy()
    bad = np.flatnonzero(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if bad.size:
        raise GeometryError("empty or missing geometry", file=path, row=int(bad[0]) + 1, field="geometry")
    not_polygon = np.flatnonzero(~np.isin(shapely.get_type_id(geoms), [3, 6]))
    if not_polygon.size:
        kind = shapely.get_type_id(geoms[not_polygon[0]])
        msg = f"geometry must be a (Multi)Polygon, got type id {kind}"
        raise GeometryError(msg, file=path, row=int(not_polygon[0]) + 1, field="geometry")
    values = zones[column]
    empty = values.isna().to_numpy() | (values.astype(str).str.strip() == "").to_numpy()
    if empty.any():
        raise ValidationError("empty zone", file=path, row=int(np.flatnonzero(empty)[0]) + 1, field=column)
    if communes.crs is not None and not zones.crs.equals(communes.crs):
        zones = zones.to_crs(communes.crs)
    zone_geoms = shapely.make_valid(zones.geometry.to_numpy())
    commune_geoms = communes.geometry.to_numpy()
    commune_index, zone_index = shapely.STRtree(zone_geoms).query(commune_geoms, predicate="intersects")
    area = shapely.area(shapely.intersection(commune_geoms[commune_index], zone_geoms[zone_index]))
    zone_ids = values.astype(str).str.strip().to_numpy()
    pairs = pd.DataFrame(
        {"commune": commune_index, "zone_id": zone_ids[zone_index], "feature": zone_index, "area": area}
    )
    pairs = pairs[pairs["area"] > 0]
    # Several features may share a zone id: add their areas up; ties go to the first feature.
    per_zone = (
        pairs.groupby(["commune", "zone_id"], sort=False)
        .agg(area=("area", "sum"), feature=("feature", "min"))
        .reset_index()
    )
    per_zone = per_zone.sort_values(
        ["commune", "area", "feature"], ascending=[True, False, True], kind="stable"
    )
    best = per_zone.drop_duplicates("commune")
    commune_area = shapely.area(commune_geoms[best["commune"].to_numpy()])
    frame = pd.DataFrame(
        {
            "commune_code": communes["code"].astype(str).to_numpy()[best["commune"].to_numpy()],
            "zone_id": best["zone_id"].to_numpy(),
            "row": best["feature"].to_numpy(dtype=np.int64) + 1,
            "share": np.minimum(best["area"].to_numpy() / np.where(commune_area > 0, commune_area, 1.0), 1.0),
        }
    ).reset_index(drop=True)
    frame.attrs["source"] = str(path)
    return frame


# ------------------------------------------------------------------- helpers
def _pairs(counts: np.ndarray) -> np.ndarray:
    """Number of unordered pairs among ``counts`` individuals (``n (n - 1) / 2``)."""
    return counts * (counts - 1.0) / 2.0


def _best_match(overlap: pd.DataFrame, source: str, target: str) -> pd.Series:
    """Zone of ``target`` holding most inhabitants (then communes) of each ``source`` zone."""
    ranked = overlap.sort_values(
        [source, "population", "n_communes", target], ascending=[True, False, False, True], kind="stable"
    )
    best = ranked.drop_duplicates(source)
    return pd.Series(best[target].to_numpy(), index=best[source].to_numpy())


def _frame(mapping: pd.DataFrame | pd.Series) -> pd.DataFrame:
    """``commune_code, zone_id, row`` (codes and zones as str or NaN) from a mapping."""
    if isinstance(mapping, pd.Series):
        frame = pd.DataFrame({"commune_code": mapping.index.to_numpy(), "zone_id": mapping.to_numpy()})
    else:
        code = next((c for c in ("commune_code", *CODE_COLUMNS) if c in mapping.columns), None)
        zone = next((c for c in ("zone_id", *ZONE_COLUMNS) if c in mapping.columns), None)
        if code is None or zone is None:
            missing = "commune_code" if code is None else "zone_id"
            msg = f"the zoning lacks the column '{missing}'"
            raise MissingColumnError(msg, file=_source(mapping), field=missing)
        frame = pd.DataFrame({"commune_code": mapping[code].to_numpy(), "zone_id": mapping[zone].to_numpy()})
        if "row" in mapping.columns:
            frame["row"] = mapping["row"].to_numpy()
    if "row" not in frame.columns:
        frame["row"] = np.arange(1, len(frame) + 1)
    frame["commune_code"] = frame["commune_code"].astype(str).str.strip()
    frame["zone_id"] = frame["zone_id"].map(lambda z: None if pd.isna(z) else str(z).strip()).astype(object)
    return frame.reset_index(drop=True)


def _aligned(mapping: pd.DataFrame | pd.Series, codes: np.ndarray, name: str) -> np.ndarray:
    """Zone of every commune of ``codes``, from a mapping that covers each exactly once."""
    frame = _frame(mapping)
    frame = frame[frame["zone_id"].notna() & (frame["zone_id"] != "")]
    duplicated = frame["commune_code"].duplicated()
    if duplicated.any():
        msg = f"{name}: commune {frame['commune_code'][duplicated].iloc[0]} is listed more than once"
        raise ValidationError(
            msg, file=_source(mapping), row=int(frame["row"][duplicated].iloc[0]), field="code"
        )
    unknown = ~frame["commune_code"].isin(set(codes))
    if unknown.any():
        msg = f"{name}: code {frame['commune_code'][unknown].iloc[0]} is not a commune of the Région"
        raise ValidationError(
            msg, file=_source(mapping), row=int(frame["row"][unknown].iloc[0]), field="code"
        )
    zones = frame.set_index("commune_code")["zone_id"].reindex(codes)
    if zones.isna().any():
        missing = codes[zones.isna().to_numpy()]
        msg = f"{name}: {missing.size} commune(s) in no zone, e.g. {', '.join(missing[:5])}"
        raise ValidationError(msg, file=_source(mapping), field="code")
    return zones.to_numpy(dtype=object)


def _source(mapping: pd.DataFrame | pd.Series) -> str | None:
    source = getattr(mapping, "attrs", {}).get("source")
    return str(source) if source else None


def _where(source: str | None, rows: tuple[int, ...]) -> str:
    parts = [source] if source else []
    if rows:
        parts.append(("row " if len(rows) == 1 else "rows ") + ", ".join(str(int(r)) for r in rows))
    return ", ".join(parts) + ": " if parts else ""


def _decode(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        msg = f"cannot read the file: {exc.strerror or exc}"
        raise ValidationError(msg, file=path) from exc
    for encoding in ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    msg = "the file is neither UTF-8 nor Latin-1"  # unreachable: Latin-1 decodes any byte
    raise ValidationError(msg, file=path)


def _delimiter(header: str) -> str:
    """The separator of the header line: the most frequent of ``;``, ``,`` and tab."""
    counts = {sep: header.count(sep) for sep in (";", ",", "\t")}
    best = max(counts, key=lambda sep: (counts[sep], sep == ";"))
    return best if counts[best] else ";"


def _column_index(lowered: list[str], wanted, path: Path, what: str, header: list[str]) -> int:
    for name in wanted:
        if name and name.lower() in lowered:
            return lowered.index(name.lower())
    msg = f"no {what} column ({' or '.join(wanted)}); columns found: {', '.join(header)}"
    raise MissingColumnError(msg, file=path, field=wanted[0])


def _normalise_code(value: str) -> str:
    code = value.strip().strip('"').strip()
    if code.isdigit() and len(code) == 4:
        code = "0" + code
    return code.upper() if code[:2].lower() in ("2a", "2b") else code
