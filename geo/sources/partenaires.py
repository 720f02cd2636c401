"""``partenaires.csv``: the project's one-schema CSV for places of any partner type."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo.errors import DuplicateError, ValidationError
from geo.sources.structures import SourceFields, build_layer
from geo.sources.tables import (
    Rejections,
    Table,
    blank_to_none,
    cell_text,
    parse_yes_no,
    per_row,
    postcode,
    read_csv_table,
    require_columns,
    require_data_rows,
    required_text,
    slug,
)
from geo.vocabulary import GEOCODING_ALIASES, GEOCODING_PRECISIONS

PARTENAIRES_COLUMNS: tuple[str, ...] = ("type", "nom", "code_postal", "lat", "lon", "geocodage")
"""Required columns of ``partenaires.csv`` (``adresse, commune, code_insee, source, millesime,
accueil_public`` optional)."""


def read_partenaires(
    path: str | Path,
    *,
    partner_types: pd.DataFrame,
    crs: str,
    dataset: str = "partenaires",
    rejections: Rejections | None = None,
) -> gpd.GeoDataFrame:
    """Read ``partenaires.csv``: structures of any partner type, one schema, WGS84 lat/lon.

    The file has no identifier column, so ``structure_id`` is derived from the content:
    ``"<dataset>:<type>-<slug of nom>-<code_postal>"``, stable as long as these three values do
    not change. Rows listing the same place again (same type, name and postcode, every other
    column equal but ``accueil_public``) are merged into one place, which receives the public
    when any of its rows says so: France Travail's referential lists an agency and the
    directorate sharing its building under the same name. The merges are listed in
    ``result.attrs["merged"]`` (identifier -> spreadsheet rows). Two rows with the same type,
    name and postcode that differ otherwise are an error.

    Parameters
    ----------
    path
        CSV with the columns of :data:`PARTENAIRES_COLUMNS` (``type`` is a key of the
        partner-type mapping, ``geocodage`` one of ``geo.schema.GEOCODING_PRECISIONS``) and
        optionally ``adresse, commune, code_insee, source, millesime`` and ``accueil_public``
        (``oui``/``non``: whether this place receives the public, when the source says it;
        empty: as its partner type).
    partner_types
        Output of :func:`read_partner_types`.
    crs
        Projected CRS (metres) of the returned points, e.g. ``"EPSG:2154"``.
    dataset
        Dataset name, prefix of ``structure_id``.
    rejections
        A tolerant load's rejected rows (:data:`geo.sources.tables.Rejections`); None: strict.

    Returns
    -------
    geopandas.GeoDataFrame
        ``geo.schema.STRUCTURE_COLUMNS``, points in ``crs``, indexed by ``source_row``
        (spreadsheet row); ``site_format`` is ``"fixe"``, ``opening_hours`` is ``{}``.

    Raises
    ------
    MissingColumnError, ValidationError, CrsError, GeometryError, DuplicateError
        Naming the file, the spreadsheet row and the column.
    """
    table = read_csv_table(path)
    require_columns(table, PARTENAIRES_COLUMNS)
    require_data_rows(table)
    merged: dict[str, tuple[int, ...]] = {}

    def place_record(place: tuple[str, list[tuple[int, dict[str, str]]]]) -> dict[str, Any]:
        structure_id, rows = place
        first_row, first_values = rows[0]
        record = _partenaire_record(
            first_values, file=table.file, row=first_row, dataset=dataset, structure_id=structure_id
        )
        flags = [
            parse_yes_no(values.get("accueil_public", ""), file=table.file, row=row, field="accueil_public")
            for row, values in rows
        ]
        record["receives_public"] = (
            True if True in flags else (False if flags and all(f is False for f in flags) else None)
        )
        if len(rows) > 1:
            merged[structure_id] = tuple(row for row, _values in rows)
        return record

    records = per_row(_places(table, dataset=dataset, rejections=rejections).items(), place_record, rejections)
    fields = SourceFields(id="nom", partner_type="type", latitude="lat", longitude="lon", commune_code="code_insee")
    layer = build_layer(
        records, file=table.file, crs=crs, partner_types=partner_types, fields=fields, rejections=rejections
    )
    layer.attrs["merged"] = merged
    return layer


def _places(
    table: Table, *, dataset: str, rejections: Rejections | None
) -> dict[str, list[tuple[int, dict[str, str]]]]:
    """Derived identifier -> the rows listing that place (several when it is listed again);
    rows sharing an identifier but differing beyond ``accueil_public`` are refused."""
    groups: dict[str, list[tuple[int, dict[str, str]]]] = {}

    def group(item: tuple[int, dict[str, str]]) -> None:
        row, values = item
        name = slug(values["nom"])
        if not name:
            msg = "a name is needed to identify the structure"
            raise ValidationError(msg, file=table.file, row=row, field="nom")
        key = f"{dataset}:{cell_text(values['type'])}-{name}-{''.join(values['code_postal'].split())}"
        members = groups.setdefault(key, [])
        if members and _without_flag(values) != _without_flag(members[0][1]):
            msg = (
                f"rows {members[0][0]} and {row} have the same type, name and postcode but differ "
                f"(identifier {key}): give the two structures distinct names"
            )
            raise DuplicateError(msg, file=table.file, row=row, field="nom")
        members.append((row, values))

    per_row(table.rows, group, rejections)
    return groups


def _without_flag(values: Mapping[str, str]) -> dict[str, str]:
    """A row's values but ``accueil_public``, which may differ between two listings of a place."""
    return {column: value for column, value in values.items() if column != "accueil_public"}


def _partenaire_record(
    values: Mapping[str, str], *, file: Path, row: int, dataset: str, structure_id: str
) -> dict[str, Any]:
    geocoding = cell_text(values["geocodage"])
    geocoding = GEOCODING_ALIASES.get(geocoding, geocoding)
    if not geocoding and not cell_text(values["lat"]) and not cell_text(values["lon"]):
        geocoding = "approx_commune"  # no coordinates: placed at the town hall or inside the commune at load
    if geocoding not in GEOCODING_PRECISIONS:
        msg = f"unknown geocoding precision {geocoding!r}; expected one of {', '.join(GEOCODING_PRECISIONS)}"
        raise ValidationError(msg, file=file, row=row, field="geocodage")
    return {
        "structure_id": structure_id,
        "dataset": dataset,
        "partner_type": cell_text(values["type"]),
        "name": required_text(values, "nom", file=file, row=row),
        "address": blank_to_none(values.get("adresse")),
        "postcode": postcode(values["code_postal"], file=file, row=row, field="code_postal"),
        "commune_code": blank_to_none(values.get("code_insee")),
        "commune_name": blank_to_none(values.get("commune")),
        "phone": None,
        "email": None,
        "website": None,
        "site_format": "fixe",
        "opening_hours": {},
        "appointment": None,
        "receives_public": None,  # set from every row listing the place (read_partenaires)
        "geocoding": geocoding,
        "source": blank_to_none(values.get("source")) or file.name,
        "vintage": blank_to_none(values.get("millesime")),
        "_lat": values["lat"],
        "_lon": values["lon"],
        "_row": row,
    }
