"""Reading a Région's whole set of sources, described by its ``atlas.toml`` manifest.

:func:`read_region_sources` reads and validates everything in memory, without writing
anywhere; the caller stores the result in one transaction, so a file that fails
validation leaves what was stored before untouched.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo.crs import projected_crs_for_region
from geo.errors import MissingColumnError, ValidationError
from geo.sources import communes as commune_io
from geo.sources import territories as territory_io
from geo.sources.annuaire import read_annuaire_service_public
from geo.sources.france_services import read_france_services
from geo.sources.official_zonings import read_official_zonings
from geo.sources.partenaires import read_partenaires
from geo.sources.partner_types import DEFAULT_PARTNER_TYPES, read_partner_types
from geo.sources.sites import read_sites
from geo.sources.structures import assign_communes, concat_structures, merge_same_places
from geo.sources.tables import Rejections, cell_text, read_text, reject
from geo.sources.town_halls import read_town_halls

MANIFEST = "atlas.toml"
OPTIONAL_TERRITORY_FILES = ("merger_events", "town_halls", "zonages")
"""Keys of ``[territories]`` a Région may leave out: mergers the COG list does not describe
(none since the contours' vintage), town-hall points (places without coordinates then go to
a point inside their commune), official zonings per commune (zones d'emploi, bassins de vie:
:mod:`geo.sources.official_zonings`; without them only the EPCI, arrondissements and
départements are built-in zonings)."""
STRUCTURE_READERS = {
    "france_services": read_france_services,
    "partenaires": read_partenaires,
    "annuaire": read_annuaire_service_public,
    "sites": read_sites,
}
"""Structures file formats (``format`` in the manifest) and their readers."""


@dataclass(frozen=True)
class StructureSource:
    """One structures file of the manifest (or given on the command line)."""

    dataset: str
    format: str
    file: Path
    vintage: str | None = None


@dataclass
class RegionSources:
    """Everything read from a Région's sources, validated, in the Région's CRS.

    Attributes
    ----------
    region_code, crs
        INSEE code and projected CRS (metres) of every geometry below.
    communes
        Current communes (``geo.schema.COMMUNE_COLUMNS``).
    territories
        Région, départements, arrondissements and EPCI dissolved from the communes.
    partner_types
        The mapping partner type -> missions, publics (indexed by ``partner_type``).
    structures
        All structures of the datasets read, ``geo.schema.STRUCTURE_COLUMNS``.
    datasets
        Names of the structure datasets read (a load replaces exactly these).
    files
        Path -> SHA-256 of every file read, for the load record.
    report
        What the COG reconciliation did.
    merged_places
        ``(structure_id kept, listings merged into it)`` for every place listed more than once:
        rows of one file (``"<file>, row <n>"``, :func:`geo.sources.partenaires.read_partenaires`)
        or places of the same type, name and address (:func:`geo.sources.structures.merge_same_places`).
    superseded
        ``(file, id, id of the row replacing it)`` of the rows a source marks as superseded
        (:func:`geo.sources.sites.read_sites`), left out because their replacement is loaded
        (a tolerant load that rejects the replacement rejects them too: neither is loaded).
    territories_source
        Sources and vintages of the communes, populations and contours in words (``vintage``
        of the manifest's ``[territories]``), cited by the pages and the report.
    placed
        ``structure_id -> approx_mairie | approx_commune`` of the places given without
        coordinates and put at their commune's town hall or inside it.
    town_halls_misplaced
        ``(row, commune code, metres)`` of the town-hall points lying outside their commune, not used.
    rejections
        The rows a tolerant load left out (``skip_invalid_rows``), each error naming its file,
        row and field; empty for a strict load, which stops at the first.
    delegated_names
        ``(current commune code, name)`` of the communes déléguées or associées of the COG
        list, under which the public may still search their commune (:mod:`geo.names`).
    official_zones
        :func:`geo.sources.official_zonings.read_official_zonings` of ``[territories]
        zonages``, None when the manifest names none.
    """

    region_code: str
    crs: str
    communes: gpd.GeoDataFrame
    territories: gpd.GeoDataFrame
    partner_types: pd.DataFrame
    structures: gpd.GeoDataFrame
    datasets: list[str]
    files: dict[str, str] = field(default_factory=dict)
    report: commune_io.ReconciliationReport | None = None
    merged_places: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    superseded: list[tuple[str, str, str]] = field(default_factory=list)
    territories_source: str | None = None
    placed: dict[str, str] = field(default_factory=dict)
    town_halls_misplaced: list[tuple[int, str, float]] = field(default_factory=list)
    rejections: list[ValidationError] = field(default_factory=list)
    delegated_names: list[tuple[str, str]] = field(default_factory=list)
    official_zones: pd.DataFrame | None = None

    def rejected_rows(self) -> list[tuple[str, int | None, str | None, str]]:
        """``(file, row, field, reason)`` of every row a tolerant load left out."""
        return [(str(e.file), e.row, e.field, e.message) for e in self.rejections]

    def places_without_public(self) -> gpd.GeoDataFrame:
        """The places that receive no public: by their own flag, else by their partner type."""
        by_type = self.structures["partner_type"].map(self.partner_types["receives_public"])
        own = self.structures["receives_public"]
        receives = own.where(own.notna(), by_type).astype(bool)
        return self.structures[~receives.to_numpy()]


def read_manifest(data_dir: str | Path) -> dict:
    """Read ``<data_dir>/atlas.toml`` and check its required keys."""
    path = Path(data_dir) / MANIFEST
    if not path.is_file():
        msg = f"no {MANIFEST} manifest in {data_dir}"
        raise ValidationError(msg, file=path)
    text = read_text(path)
    try:
        manifest = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"invalid TOML: {exc}"
        raise ValidationError(msg, file=path) from exc
    except RecursionError as exc:
        msg = "TOML nested too deep (arrays or tables inside one another hundreds of times): not a manifest"
        raise ValidationError(msg, file=path) from exc
    manifest.setdefault("partner_types", {})
    for key in ("region", "territories"):
        if key not in manifest:
            msg = f"missing key '{key}'"
            raise MissingColumnError(msg, file=path, field=key)
    if isinstance(manifest["region"], bool) or not isinstance(manifest["region"], (str, int)):
        msg = f'the region must be an INSEE code such as "53", got {manifest["region"]!r}'
        raise ValidationError(msg, file=path, field="region")
    for table in ("territories", "partner_types"):
        if not isinstance(manifest[table], dict):
            msg = f"'{table}' must be a TOML table, got {manifest[table]!r}"
            raise ValidationError(msg, file=path, field=table)
    for key in ("communes", "contours", "epci", "arrondissements", "departements", "regions"):
        if key not in manifest["territories"]:
            msg = f"missing key 'territories.{key}'"
            raise MissingColumnError(msg, file=path, field=f"territories.{key}")
        _check_relative_path(manifest["territories"][key], file=path, field=f"territories.{key}")
    for key in OPTIONAL_TERRITORY_FILES:
        if key in manifest["territories"]:
            _check_relative_path(manifest["territories"][key], file=path, field=f"territories.{key}")
    if "file" in manifest["partner_types"]:  # optional: the project's mapping by default
        _check_relative_path(manifest["partner_types"]["file"], file=path, field="partner_types.file")
    if not isinstance(manifest.get("structures", []), list):
        msg = "'structures' must be a list of TOML tables (one double-bracketed structures header per file)"
        raise ValidationError(msg, file=path, field="structures")
    return manifest


def expected_sites(manifest: dict, partner_types: pd.DataFrame, *, file: Path) -> list[int | None]:
    """The Région's census per partner type (``[expected_sites]`` of the manifest), in the
    order of ``partner_types``; None where the manifest says nothing (unknown)."""
    declared = manifest.get("expected_sites", {})
    if not isinstance(declared, dict):
        msg = f"'expected_sites' must be a TOML table (partner type = number of sites), got {declared!r}"
        raise ValidationError(msg, file=file, field="expected_sites")
    for key, value in declared.items():
        if key not in partner_types.index:
            msg = f"unknown partner type {key!r} (known: {', '.join(map(str, partner_types.index))})"
            raise ValidationError(msg, file=file, field=f"expected_sites.{key}")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            msg = f"expected a number of sites (an integer, 0 or more), got {value!r}"
            raise ValidationError(msg, file=file, field=f"expected_sites.{key}")
    return [declared.get(key) for key in partner_types.index]


def _check_relative_path(value: object, *, file: Path, field: str, row: int | None = None) -> None:
    if not isinstance(value, str) or not value.strip():
        msg = f"expected a file path (text), got {value!r}"
        raise ValidationError(msg, file=file, row=row, field=field)


def structure_sources(manifest: dict, data_dir: str | Path) -> list[StructureSource]:
    """The structures files listed in a manifest, with paths resolved."""
    base = Path(data_dir)
    manifest_file = base / MANIFEST
    sources = []
    for i, entry in enumerate(manifest.get("structures", []), start=1):
        if not isinstance(entry, dict):
            msg = f"structures entry {i} must be a TOML table, got {entry!r}"
            raise ValidationError(msg, file=manifest_file, row=i, field="structures")
        for key in ("dataset", "format", "file"):
            if key not in entry:
                msg = f"structures entry {i} lacks '{key}'"
                raise MissingColumnError(msg, file=manifest_file, row=i, field=key)
            _check_relative_path(entry[key], file=manifest_file, row=i, field=key)
        vintage = _vintage(entry.get("vintage"), file=manifest_file, row=i)
        sources.append(StructureSource(entry["dataset"], entry["format"], base / entry["file"], vintage))
    return sources


def _vintage(value: object, *, file: Path, row: int | None, field: str = "vintage") -> str | None:
    """A source's vintage: a TOML date, an ISO date text (checked) or another label."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        msg = f"expected a date or a text label, got {value!r}"
        raise ValidationError(msg, file=file, row=row, field=field)
    if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", value.strip()):
        try:
            dt.date.fromisoformat("-".join(part.zfill(2) for part in value.strip().split("-")))
        except ValueError as exc:
            msg = f"{value!r} is not a real date ({exc})"
            raise ValidationError(msg, file=file, row=row, field=field) from exc
    return cell_text(value) or None


def read_region_sources(
    data_dir: str | Path,
    *,
    crs: str | None = None,
    region: str | None = None,
    extra_structures: list[StructureSource] | None = None,
    skip_invalid_rows: bool = False,
) -> RegionSources:
    """Read and validate every source of a Région, writing nothing.

    Parameters
    ----------
    data_dir
        Folder holding ``atlas.toml``.
    crs
        Projected CRS (metres) in which all geometries are returned, e.g. ``"EPSG:2154"``;
        by default the one of the manifest's Région (:func:`geo.crs.projected_crs_for_region`).
    region
        Expected INSEE region code; an error if the manifest is for another Région.
    extra_structures
        Structures files to read in addition to those of the manifest.
    skip_invalid_rows
        Tolerant load: a structures row in error is left out and its error kept in
        ``rejections``, instead of stopping everything. Errors of a whole file, of the
        territories and of the partner types still stop the load, and so does a structures
        file whose every row is rejected (loading it would empty its dataset).
    """
    base = Path(data_dir)
    manifest = read_manifest(base)
    region_code = str(manifest["region"]).strip()
    if region is not None and region != region_code:
        msg = f"the manifest is for Région {region_code}, not {region}"
        raise ValidationError(msg, file=base / MANIFEST, field="region")
    crs = crs or projected_crs_for_region(region_code)
    files: dict[str, str] = {}

    def path_of(relative: str, field: str) -> Path:
        path = base / relative
        if not path.is_file():
            msg = f"{'file not found' if not path.exists() else 'not a file'} (given as {field} in {base / MANIFEST})"
            raise ValidationError(msg, file=path)
        files[str(path)] = _sha256(path)
        return path

    # Everything cheap is checked first, so that a bad file fails fast; the costly dissolves last.
    terr = manifest["territories"]
    paths = {
        key: path_of(terr[key], f"territories.{key}")
        for key in (
            "communes",
            "contours",
            "epci",
            "regions",
            "departements",
            "arrondissements",
            *(key for key in OPTIONAL_TERRITORY_FILES if key in terr),
        )
    }
    if "file" in manifest["partner_types"]:
        partner_types_path = path_of(manifest["partner_types"]["file"], "partner_types.file")
    else:
        partner_types_path = DEFAULT_PARTNER_TYPES
        files[str(partner_types_path)] = _sha256(partner_types_path)
    sources = structure_sources(manifest, base) + list(extra_structures or [])
    datasets = [s.dataset for s in sources]
    if len(set(datasets)) != len(datasets):
        msg = f"a dataset name is used twice: {datasets}"
        raise ValidationError(msg, file=base / MANIFEST, field="dataset")
    for source in sources:
        _check_structure_source(source)
    partner_types = read_partner_types(partner_types_path)
    partner_types["expected_sites"] = pd.Series(
        expected_sites(manifest, partner_types, file=base / MANIFEST), index=partner_types.index, dtype=object
    )
    rejections: Rejections | None = [] if skip_invalid_rows else None
    layers = []
    for source in sources:
        layers.append(
            (source, _read_structure_file(source, partner_types=partner_types, crs=crs, rejections=rejections))
        )
        files[str(source.file)] = _sha256(source.file)

    cog = commune_io.read_cog_communes(paths["communes"], region=region_code)
    contours = commune_io.read_commune_contours(paths["contours"])
    events = commune_io.read_merger_events(paths["merger_events"]) if "merger_events" in paths else {}
    epci = territory_io.read_epci(paths["epci"])
    units = {
        level: territory_io.read_named_units(paths[key], region=region_code)
        for level, key in (
            ("region", "regions"),
            ("departement", "departements"),
            ("arrondissement", "arrondissements"),
        )
    }
    units["region"] = units["region"][units["region"]["code"] == region_code]  # a national list holds them all
    if units["region"].empty:
        msg = f"Région {region_code} is not in this list of régions"
        raise ValidationError(msg, file=paths["regions"], field="code")
    communes, report = commune_io.reconcile_communes(contours, cog, events, crs=crs, contours_file=paths["contours"])
    communes = territory_io.assign_epci(communes, epci, file=paths["epci"])
    town_halls = read_town_halls(paths["town_halls"], communes) if "town_halls" in paths else None
    official = read_official_zonings(paths["zonages"], communes["code"]) if "zonages" in paths else None
    frames = [
        assign_communes(
            layer,
            communes[["code", "name", "postcodes", "geometry"]],
            file=source.file,
            town_halls=None if town_halls is None else town_halls.points,
            rejections=rejections,
        )
        for source, layer in layers
    ]
    for (source, _layer), frame in zip(layers, frames, strict=True):
        rejected = sum(error.file == str(source.file) for error in rejections or [])
        if rejected and frame.empty:
            msg = (
                f"every row was rejected ({rejected}): loading the file would empty the dataset "
                f"{source.dataset!r}; fix the file, or leave it out of {MANIFEST}"
            )
            raise ValidationError(msg, file=source.file)
    structures = concat_structures(frames, crs=crs, files=[source.file for source, _ in layers], rejections=rejections)
    kept_ids = set(structures["structure_id"])  # every row that passed, before the merges
    structures, merges = merge_same_places(structures)
    superseded = []
    for source, layer in layers:
        for old, (new, row) in layer.attrs.get("superseded", {}).items():
            if f"{source.dataset}:{new}" in kept_ids:
                superseded.append((str(source.file), old, new))
            else:  # only in a tolerant load: the replacement's own row was rejected
                msg = f"replaced by {new!r}, whose row was rejected: neither is loaded"
                reject(ValidationError(msg, file=source.file, row=row, field="remplace_par"), rejections)
    territories = territory_io.build_territories(
        communes,
        region=units["region"],
        departements=units["departement"],
        arrondissements=units["arrondissement"],
        epci=epci,
        files={
            "region": paths["regions"],
            "departement": paths["departements"],
            "arrondissement": paths["arrondissements"],
            "epci": paths["epci"],
        },
    )
    return RegionSources(
        region_code=region_code,
        crs=crs,
        communes=communes,
        territories=territories,
        partner_types=partner_types,
        structures=structures,
        datasets=datasets,
        files=files,
        report=report,
        territories_source=_vintage(terr.get("vintage"), file=base / MANIFEST, row=None, field="territories.vintage"),
        merged_places=[
            (structure_id, tuple(f"{source.file.name}, row {row}" for row in rows))
            for source, layer in layers
            for structure_id, rows in layer.attrs.get("merged", {}).items()
            if structure_id in kept_ids
        ]
        + merges,
        superseded=superseded,
        placed={
            structure_id: precision
            for frame in frames
            for structure_id, precision in frame.attrs.get("placed", {}).items()
            if structure_id in kept_ids
        },
        town_halls_misplaced=[] if town_halls is None else town_halls.misplaced,
        rejections=rejections or [],
        delegated_names=[
            (str(code), str(name))
            for code, name, kind in zip(cog["chef_lieu"], cog["name"], cog["type"], strict=True)
            if kind in commune_io.ABSORBED_TYPES
        ],
        official_zones=official,
    )


def _check_structure_source(source: StructureSource) -> None:
    if source.format not in STRUCTURE_READERS:
        msg = f"unknown structures format {source.format!r} (known: {', '.join(STRUCTURE_READERS)})"
        raise ValidationError(msg, file=source.file, field="format")
    if not source.file.is_file():
        msg = "file not found" if not source.file.exists() else "not a file"
        raise ValidationError(msg, file=source.file)


def _read_structure_file(
    source: StructureSource, *, partner_types: pd.DataFrame, crs: str, rejections: Rejections | None
) -> gpd.GeoDataFrame:
    """Read and validate one structures file, without placing it in the communes."""
    _check_structure_source(source)
    kwargs = {"partner_types": partner_types, "crs": crs, "dataset": source.dataset, "rejections": rejections}
    if source.vintage and source.format == "france_services":
        kwargs["vintage"] = source.vintage
    return STRUCTURE_READERS[source.format](source.file, **kwargs)


def _sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:  # no permission...
        msg = f"cannot read the file: {exc.strerror or exc}"
        raise ValidationError(msg, file=path) from exc
