"""Site lists in the common schema of ``data/bretagne/structures/sites-*.csv``: one file per
partner type, one row per site, the date of its source row, public reception when known.

Columns (``id, type, nom, code_insee, lat, lon, geocodage`` required; the others optional)::

    id, type, sous_type, nom, adresse, code_postal, commune, code_insee, code_insee_source,
    lat, lon, geocodage, telephone, courriel, site_web, horaires, accueil_public, source,
    licence, millesime, remplace_par, ...

- ``type`` is a key of the partner-type mapping; two spellings of the schema are
  understood: ``chambre_consulaire`` with the chamber in ``sous_type`` (``cci``, ``cma``,
  ``chambre_agriculture``), and ``suio`` for ``suio_baip``.
- ``geocodage`` says what ``lat``/``lon`` (WGS84) are: ``source`` (given by the source),
  ``adresse`` (geocoded), or ``approx_mairie:<code>`` / ``approx_mairie_signe_lon_corrige:<code>``
  (the town hall of the commune, **not the building**) and
  ``approx_point_interieur_commune:<code>`` (a point inside the commune), kept as
  ``approx_mairie`` and ``approx_commune`` precision.
- ``millesime`` dates the row (``2019-11``, ``2026-07 (HEAD du dépôt)``…): each place keeps
  the date of its own source row.
- ``accueil_public``: ``oui``/``non`` when the source says whether the site receives the
  public (France Travail's ``TYPE_SITE``), empty otherwise (as the partner type).
- A row without ``lat``/``lon`` (``geocodage`` then may be empty) is put at the town hall
  of its commune (``code_insee``, or ``code_postal`` and ``commune``) when the Région gives
  checked town-hall points, else at a point inside the commune
  (:func:`geo.sources.structures.assign_communes`).
- ``remplace_par``: the row is superseded by a more recent row (its identifier): it is not
  loaded, and the layer says so in ``attrs["superseded"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo.errors import ValidationError
from geo.sources.structures import SourceFields, build_layer
from geo.sources.tables import (
    Rejections,
    blank_to_none,
    cell_text,
    parse_yes_no,
    per_row,
    postcode,
    read_csv_table,
    require_columns,
    require_data_rows,
    required_text,
    web_address,
)

SITES_COLUMNS: tuple[str, ...] = ("id", "type", "nom", "code_insee", "lat", "lon", "geocodage")
"""Required columns of a site list."""

TYPE_SPELLINGS: dict[str, str] = {"suio": "suio_baip"}
"""Partner types spelled otherwise in the schema."""

CHAMBERS = "chambre_consulaire"
"""The schema's type for the three chambers, whose kind is in ``sous_type``."""

GEOCODING: dict[str, str] = {
    "source": "source",
    "adresse": "adresse",
    "approx_mairie": "approx_mairie",
    "approx_mairie_signe_lon_corrige": "approx_mairie",
    "approx_point_interieur_commune": "approx_commune",
}
"""``geocodage`` (before any ``:<code>``) -> geocoding precision of :mod:`geo.vocabulary`."""


def read_sites(
    path: str | Path,
    *,
    partner_types: pd.DataFrame,
    crs: str,
    dataset: str = "sites",
    rejections: Rejections | None = None,
) -> gpd.GeoDataFrame:
    """Read a site list of the common schema (see the module's docstring).

    Parameters
    ----------
    path
        The CSV file (policy of :mod:`geo.sources.tables`).
    partner_types
        Output of :func:`geo.sources.partner_types.read_partner_types`.
    crs
        Projected CRS (metres) of the returned points.
    dataset
        Dataset name; ``structure_id`` is ``"<dataset>:<id>"``.
    rejections
        A tolerant load's rejected rows (:data:`geo.sources.tables.Rejections`); None: strict.

    Returns
    -------
    geopandas.GeoDataFrame
        ``geo.schema.STRUCTURE_COLUMNS``, points in ``crs``, indexed by ``source_row``
        (spreadsheet row); ``attrs["superseded"]``: ``id -> (remplace_par, row)`` of the rows
        left out, each replacement an identifier of the file (else the row is in error).

    Raises
    ------
    MissingColumnError, ValidationError, CrsError, GeometryError, DuplicateError
        Naming the file, the spreadsheet row and the column.
    """
    table = read_csv_table(path)
    require_columns(table, SITES_COLUMNS)
    require_data_rows(table)
    current = [(row, values) for row, values in table.rows if not blank_to_none(values.get("remplace_par"))]
    ids = {cell_text(values["id"]) for _row, values in current}
    superseded: dict[str, tuple[str, int]] = {}

    def replaced(item: tuple[int, Mapping[str, str]]) -> None:
        row, values = item
        replaced_by = cell_text(values["remplace_par"])
        if replaced_by not in ids:
            msg = f"replaced by {replaced_by!r}, which is no identifier of a current row of this file"
            raise ValidationError(msg, file=table.file, row=row, field="remplace_par")
        superseded[cell_text(values["id"]) or f"row {row}"] = (replaced_by, row)

    per_row([(r, v) for r, v in table.rows if blank_to_none(v.get("remplace_par"))], replaced, rejections)
    if not current:
        msg = "every row is superseded (remplace_par): nothing to load"
        raise ValidationError(msg, file=table.file, row=2, field="remplace_par")
    records = per_row(
        current, lambda item: _site_record(item[1], file=table.file, row=item[0], dataset=dataset), rejections
    )
    fields = SourceFields(id="id", partner_type="type", latitude="lat", longitude="lon", commune_code="code_insee")
    layer = build_layer(
        records, file=table.file, crs=crs, partner_types=partner_types, fields=fields, rejections=rejections
    )
    layer.attrs["superseded"] = superseded
    return layer


def _site_record(values: Mapping[str, str], *, file: Path, row: int, dataset: str) -> dict[str, Any]:
    kind = cell_text(values["type"])
    partner_type = cell_text(values.get("sous_type")) if kind == CHAMBERS else TYPE_SPELLINGS.get(kind, kind)
    method = cell_text(values["geocodage"]).split(":", 1)[0]
    unplaced = not cell_text(values["lat"]) and not cell_text(values["lon"])
    if unplaced and not method:
        method = "approx_point_interieur_commune"  # placed at the town hall or inside the commune at load
    if method not in GEOCODING:
        msg = f"unknown geocodage {values['geocodage']!r}; expected one of {', '.join(GEOCODING)} (then :<code>)"
        raise ValidationError(msg, file=file, row=row, field="geocodage")
    return {
        "structure_id": f"{dataset}:{required_text(values, 'id', file=file, row=row)}",
        "dataset": dataset,
        "partner_type": partner_type,
        "name": required_text(values, "nom", file=file, row=row),
        "address": blank_to_none(values.get("adresse")),
        "postcode": postcode(values.get("code_postal", ""), file=file, row=row, field="code_postal"),
        "commune_code": blank_to_none(values["code_insee"]),
        "commune_name": blank_to_none(values.get("commune")),
        "phone": blank_to_none(values.get("telephone")),
        "email": blank_to_none(values.get("courriel")),
        "website": web_address(values.get("site_web"), file=file, row=row, field="site_web"),
        "site_format": "fixe",
        "opening_hours": {},
        "appointment": None,
        "receives_public": parse_yes_no(values.get("accueil_public", ""), file=file, row=row, field="accueil_public"),
        "geocoding": GEOCODING[method],
        "source": blank_to_none(values.get("source")) or file.name,
        "vintage": blank_to_none(values.get("millesime")),
        "_lat": values["lat"],
        "_lon": values["lon"],
        "_row": row,
    }
