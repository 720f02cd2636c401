"""The ANCT list of France services (CSV), read into the canonical structures layer."""

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
    join_text,
    parse_yes_no,
    per_row,
    postcode,
    read_csv_table,
    require_columns,
    require_data_rows,
    required_text,
)
from geo.vocabulary import WEEKDAYS

FRANCE_SERVICES_COLUMNS: tuple[str, ...] = (
    "id_fs",
    "lib_fs",
    "adresse",
    "code_postal",
    "insee_com",
    "latitude",
    "longitude",
    "format_fs",
)
"""Required columns of the ANCT France services list (others are read when present)."""

SITE_FORMATS_ANCT: dict[str, str] = {
    "Fixe": "fixe",
    "Itinérante": "itinerant",
    "Bus_équivalent": "bus",
    "Multisites": "multisites",
    "Fixe_antenne(s)": "fixe_antennes",
}
"""ANCT ``format_fs`` value -> ``geo.schema.SITE_FORMATS``."""

FRANCE_SERVICES_SOURCE = "ANCT, liste des France services"


def read_france_services(
    path: str | Path,
    *,
    partner_types: pd.DataFrame,
    crs: str,
    vintage: str = "2024-08-01",
    dataset: str = "france_services",
    rejections: Rejections | None = None,
) -> gpd.GeoDataFrame:
    """Read the ANCT list of France services (one row per site, WGS84 latitude/longitude).

    Parameters
    ----------
    path
        CSV with at least the columns of :data:`FRANCE_SERVICES_COLUMNS`; ``complement_adresse,
        lib_com, mail, telephone, h_lundi`` .. ``h_samedi`` (``h_dimanche``), ``prise_rdv`` and
        ``accueil_public`` (``oui``/``non``, a column the Région may add to mark a site that
        receives no public) are read when present. Coordinates in decimal degrees (``.`` or ``,``).
    partner_types
        Output of :func:`read_partner_types`; must define ``france_services``.
    crs
        Projected CRS (metres) of the returned points, e.g. ``"EPSG:2154"``.
    vintage
        Date or label of the list, stored in ``vintage``.
    dataset
        Dataset name; ``structure_id`` is ``"<dataset>:<id_fs>"``.
    rejections
        A tolerant load's rejected rows (:data:`geo.sources.tables.Rejections`); None: strict.

    Returns
    -------
    geopandas.GeoDataFrame
        ``geo.schema.STRUCTURE_COLUMNS``, points in ``crs``, indexed by ``source_row``
        (spreadsheet row). ``site_format`` maps ``format_fs`` (Fixe -> fixe, Itinérante ->
        itinerant, Bus_équivalent -> bus, Multisites -> multisites, Fixe_antenne(s) ->
        fixe_antennes); ``opening_hours`` maps weekday -> published text, empty days omitted;
        ``appointment`` comes from ``prise_rdv`` (Oui/Non); ``geocoding`` is ``"source"``.

    Raises
    ------
    MissingColumnError, ValidationError, CrsError, GeometryError, DuplicateError
        Naming the file, the spreadsheet row and the column.
    """
    table = read_csv_table(path)
    require_columns(table, FRANCE_SERVICES_COLUMNS)
    require_data_rows(table)
    records = per_row(
        table.rows,
        lambda item: _france_services_record(item[1], file=table.file, row=item[0], dataset=dataset, vintage=vintage),
        rejections,
    )
    fields = SourceFields(
        id="id_fs",
        partner_type="partner_type",
        latitude="latitude",
        longitude="longitude",
        commune_code="insee_com",
        commune_name="lib_com",
    )
    return build_layer(
        records, file=table.file, crs=crs, partner_types=partner_types, fields=fields, rejections=rejections
    )


def _france_services_record(
    values: Mapping[str, str], *, file: Path, row: int, dataset: str, vintage: str
) -> dict[str, Any]:
    source_id = required_text(values, "id_fs", file=file, row=row)
    return {
        "structure_id": f"{dataset}:{source_id}",
        "dataset": dataset,
        "partner_type": "france_services",
        "name": required_text(values, "lib_fs", file=file, row=row),
        "address": join_text([values["adresse"], values.get("complement_adresse", "")]),
        "postcode": postcode(values["code_postal"], file=file, row=row, field="code_postal"),
        "commune_code": blank_to_none(values["insee_com"]),
        "commune_name": blank_to_none(values.get("lib_com")),
        "phone": blank_to_none(values.get("telephone")),
        "email": blank_to_none(values.get("mail")),
        "website": None,
        "site_format": _anct_site_format(values["format_fs"], file=file, row=row),
        "opening_hours": _weekday_columns(values),
        "appointment": parse_yes_no(values.get("prise_rdv", ""), file=file, row=row, field="prise_rdv"),
        "receives_public": parse_yes_no(values.get("accueil_public", ""), file=file, row=row, field="accueil_public"),
        "geocoding": "source",
        "source": FRANCE_SERVICES_SOURCE,
        "vintage": vintage,
        "_lat": values["latitude"],
        "_lon": values["longitude"],
        "_row": row,
    }


def _anct_site_format(text: str, *, file: Path, row: int) -> str:
    value = text.strip()
    folded = {key.casefold(): fmt for key, fmt in SITE_FORMATS_ANCT.items()}
    if value.casefold() in folded:
        return folded[value.casefold()]
    msg = f"unknown site format {text!r}; expected one of {', '.join(SITE_FORMATS_ANCT)}"
    raise ValidationError(msg, file=file, row=row, field="format_fs")


def _weekday_columns(values: Mapping[str, str]) -> dict[str, str]:
    """Opening hours from ``h_<weekday>`` columns, whitespace normalised, empty days omitted."""
    hours = {}
    for day in WEEKDAYS:
        text = " ".join(values.get(f"h_{day}", "").split())
        if text:
            hours[day] = text
    return hours
