"""Reading a Région's whole set of sources, described by its ``atlas.toml`` manifest.

:func:`read_region_sources` reads and validates everything in memory, without writing
anywhere; the caller stores the result in one transaction, so a file that fails
validation leaves what was stored before untouched.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo import communes as commune_io
from geo import structures as structure_io
from geo import territories as territory_io
from geo.errors import MissingColumnError, ValidationError

MANIFEST = "atlas.toml"
STRUCTURE_READERS = {
    "france_services": structure_io.read_france_services,
    "partenaires": structure_io.read_partenaires,
    "annuaire": structure_io.read_annuaire_service_public,
}


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


def read_manifest(data_dir: str | Path) -> dict:
    """Read ``<data_dir>/atlas.toml`` and check its required keys."""
    path = Path(data_dir) / MANIFEST
    if not path.exists():
        msg = f"no {MANIFEST} manifest in {data_dir}"
        raise ValidationError(msg, file=path)
    try:
        manifest = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        msg = f"invalid TOML: {exc}"
        raise ValidationError(msg, file=path) from exc
    for key in ("region", "territories", "partner_types"):
        if key not in manifest:
            msg = f"missing key '{key}'"
            raise MissingColumnError(msg, file=path, field=key)
    for key in ("communes", "contours", "merger_events", "epci", "arrondissements", "departements", "regions"):
        if key not in manifest["territories"]:
            msg = f"missing key 'territories.{key}'"
            raise MissingColumnError(msg, file=path, field=f"territories.{key}")
    return manifest


def structure_sources(manifest: dict, data_dir: str | Path) -> list[StructureSource]:
    """The structures files listed in a manifest, with paths resolved."""
    base = Path(data_dir)
    sources = []
    for i, entry in enumerate(manifest.get("structures", []), start=1):
        for key in ("dataset", "format", "file"):
            if key not in entry:
                msg = f"structures entry {i} lacks '{key}'"
                raise MissingColumnError(msg, file=base / MANIFEST, row=i, field=key)
        sources.append(
            StructureSource(entry["dataset"], entry["format"], base / entry["file"], entry.get("vintage"))
        )
    return sources


def read_region_sources(
    data_dir: str | Path,
    *,
    crs: str,
    region: str | None = None,
    extra_structures: list[StructureSource] | None = None,
) -> RegionSources:
    """Read and validate every source of a Région, writing nothing.

    Parameters
    ----------
    data_dir
        Folder holding ``atlas.toml``.
    crs
        Projected CRS (metres) in which all geometries are returned, e.g. ``"EPSG:2154"``.
    region
        Expected INSEE region code; an error if the manifest is for another Région.
    extra_structures
        Structures files to read in addition to those of the manifest.
    """
    base = Path(data_dir)
    manifest = read_manifest(base)
    region_code = str(manifest["region"])
    if region is not None and region != region_code:
        msg = f"the manifest is for Région {region_code}, not {region}"
        raise ValidationError(msg, file=base / MANIFEST, field="region")
    files: dict[str, str] = {}

    def path_of(relative: str) -> Path:
        path = base / relative
        if not path.exists():
            msg = "file not found"
            raise ValidationError(msg, file=path)
        files[str(path)] = _sha256(path)
        return path

    terr = manifest["territories"]
    cog = commune_io.read_cog_communes(path_of(terr["communes"]), region=region_code)
    contours_path = path_of(terr["contours"])
    contours = commune_io.read_commune_contours(contours_path)
    events = commune_io.read_merger_events(path_of(terr["merger_events"]))
    communes, report = commune_io.reconcile_communes(contours, cog, events, crs=crs, contours_file=contours_path)
    epci_path = path_of(terr["epci"])
    epci = territory_io.read_epci(epci_path)
    communes = territory_io.assign_epci(communes, epci, file=epci_path)
    territories = territory_io.build_territories(
        communes,
        region=territory_io.read_named_units(path_of(terr["regions"]), region=region_code),
        departements=territory_io.read_named_units(path_of(terr["departements"]), region=region_code),
        arrondissements=territory_io.read_named_units(path_of(terr["arrondissements"]), region=region_code),
        epci=epci,
    )
    partner_types = structure_io.read_partner_types(path_of(manifest["partner_types"]["file"]))

    sources = structure_sources(manifest, base) + list(extra_structures or [])
    datasets = [s.dataset for s in sources]
    if len(set(datasets)) != len(datasets):
        msg = f"a dataset name is used twice: {datasets}"
        raise ValidationError(msg, file=base / MANIFEST, field="dataset")
    frames = []
    for source in sources:
        frames.append(read_structure_source(source, partner_types=partner_types, crs=crs, communes=communes))
        files[str(source.file)] = _sha256(source.file)
    structures = _concat_structures(frames, crs=crs)
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
    )


def read_structure_source(
    source: StructureSource, *, partner_types: pd.DataFrame, crs: str, communes: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Read one structures file with the reader of its format and place it in its commune."""
    reader = STRUCTURE_READERS.get(source.format)
    if reader is None:
        msg = f"unknown structures format {source.format!r} (known: {', '.join(STRUCTURE_READERS)})"
        raise ValidationError(msg, file=source.file, field="format")
    if not source.file.exists():
        msg = "file not found"
        raise ValidationError(msg, file=source.file)
    kwargs = {"partner_types": partner_types, "crs": crs, "dataset": source.dataset}
    if source.vintage and source.format == "france_services":
        kwargs["vintage"] = source.vintage
    frame = reader(source.file, **kwargs)
    return structure_io.assign_communes(frame, communes[["code", "name", "geometry"]], file=source.file)


def _concat_structures(frames: list[gpd.GeoDataFrame], *, crs: str) -> gpd.GeoDataFrame:
    from geo.schema import STRUCTURE_COLUMNS

    if not frames:
        return gpd.GeoDataFrame(columns=list(STRUCTURE_COLUMNS), geometry="geometry", crs=crs)
    combined = pd.concat([f[list(STRUCTURE_COLUMNS)] for f in frames], ignore_index=True)
    dup = combined[combined["structure_id"].duplicated(keep=False)]
    if not dup.empty:
        msg = f"structure id {dup.iloc[0]['structure_id']} appears in two datasets"
        raise ValidationError(msg, field="structure_id")
    return gpd.GeoDataFrame(combined, geometry="geometry", crs=crs)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
