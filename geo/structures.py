"""Structures of the SPRO network: the partner-type mapping and the structure files.

Three source formats are read into one canonical layer (``geo.schema.STRUCTURE_COLUMNS``):

- :func:`read_france_services`: the ANCT list of France services (CSV);
- :func:`read_partenaires`: the project's own one-schema CSV, for any partner type;
- :func:`read_annuaire_service_public`: the Service-public.fr "annuaire de l'administration"
  export (DILA), as JSON (bulk file or API records) or as the CSV of its API.

Every reader validates its file row by row and raises a ``geo.errors`` exception naming the
file, the row and the field. Rows are numbered as a planner sees them: for CSV the spreadsheet
row (header = row 1, first data row = 2), for JSON the 1-based position in the list. Readers
return points in the caller's projected CRS (metres), with exactly ``STRUCTURE_COLUMNS`` and an
index named ``source_row`` holding that row number, which :func:`assign_communes` uses in its
own messages (the storage layer ignores the index).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyproj

from geo.crs import WGS84
from geo.errors import CrsError, DuplicateError, GeometryError, MissingColumnError, ValidationError
from geo.schema import GEOCODING_PRECISIONS, MISSIONS, STRUCTURE_COLUMNS, WEEKDAYS

PUBLICS: tuple[str, ...] = (
    "tout_public",
    "jeunes",
    "scolaires",
    "etudiants",
    "adultes",
    "demandeurs_emploi",
    "salaries",
    "personnes_handicapees",
    "cadres",
    "femmes",
    "createurs_entreprise",
)
"""Publics a partner type is dedicated to (see ``data/README-partner-types.md``)."""

ROW_INDEX = "source_row"
"""Name of the index of reader outputs: the row of each structure in its source file."""

PARTNER_TYPE_COLUMNS: tuple[str, ...] = ("partner_type", "label", "missions", "publics", "receives_public")
"""Required columns of the partner-type mapping (``description`` and ``reference`` are optional)."""

FRANCE_SERVICES_COLUMNS: tuple[str, ...] = (
    "id_fs", "lib_fs", "adresse", "code_postal", "insee_com", "latitude", "longitude", "format_fs",
)
"""Required columns of the ANCT France services list (others are read when present)."""

PARTENAIRES_COLUMNS: tuple[str, ...] = ("type", "nom", "code_postal", "lat", "lon", "geocodage")
"""Required columns of ``partenaires.csv`` (``adresse, commune, code_insee, source, millesime`` optional)."""

ANNUAIRE_COLUMNS: tuple[str, ...] = ("id", "nom", "pivot", "adresse")
"""Required fields of an annuaire service (see ``data/README-annuaire.md``)."""

SITE_FORMATS_ANCT: dict[str, str] = {
    "Fixe": "fixe",
    "Itinérante": "itinerant",
    "Bus_équivalent": "bus",
    "Multisites": "multisites",
    "Fixe_antenne(s)": "fixe_antennes",
}
"""ANCT ``format_fs`` value -> ``geo.schema.SITE_FORMATS``."""

ANNUAIRE_PIVOT_TYPES: dict[str, str] = {
    "cio": "cio",
    "mission_locale": "mission_locale",
    "france_travail": "france_travail",
    "pole_emploi": "france_travail",  # name used before the 2024 renaming, still in older exports
    "cap_emploi": "cap_emploi",
    "apec": "apec",
    "cij": "information_jeunesse",  # "Information jeunesse, réseau local" (CRIJ, BIJ, PIJ)
    "cidf": "cidff",
    "cci": "cci",
    "chambre_metier": "cma",
    "chambre_agriculture": "chambre_agriculture",
    "suio": "suio_baip",
    "maison_emploi": "maison_emploi",
}
"""Service-public.fr ``pivot.type_service_local`` -> partner type. Other pivots are skipped and
counted. France services (``france_services``, formerly ``msap``) are deliberately absent: the
ANCT list is their source, and reading both would place every France services twice."""

FRANCE_SERVICES_SOURCE = "ANCT, liste des France services"
ANNUAIRE_SOURCE = "Service-public.fr, annuaire de l'administration (DILA)"
AREA_MARGIN_DEG = 0.5
"""Margin (degrees) around a CRS's area of use within which WGS84 points are accepted."""

_TRUE = frozenset({"true", "vrai", "oui", "yes", "1"})
_FALSE = frozenset({"false", "faux", "non", "no", "0"})
_DECIMAL = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)")
_POSTCODE = re.compile(r"\d{5}")
MAX_CELL_CHARS = 131_072
"""Longest value accepted in a CSV cell (the ``csv`` module's default limit): anything longer is
almost always an opening quote without its closing quote, which swallows the rest of the file."""
_MOJIBAKE_MARKERS = ("\u00c3", "\u00c2", "\u00e2\u20ac")  # "Ã", "Â", "â€": UTF-8 bytes read as Windows-1252
_PARTNER_KEY = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class _Table:
    """A CSV file read as text: its columns and its rows (spreadsheet row number, values)."""

    file: Path
    columns: tuple[str, ...]
    rows: list[tuple[int, dict[str, str]]]
    separator: str


@dataclass(frozen=True)
class _SourceFields:
    """Names, in the source file, of the fields that errors about a structure must name."""

    id: str
    partner_type: str
    latitude: str
    longitude: str
    commune_code: str


# --------------------------------------------------------------------------------------------
# Partner types
# --------------------------------------------------------------------------------------------


def read_partner_types(path: str | Path) -> pd.DataFrame:
    """Read the mapping from partner type to the SPRO missions and publics it serves.

    Parameters
    ----------
    path
        CSV (UTF-8, ``,`` or ``;``) with columns ``partner_type, label, missions, publics,
        receives_public`` and optionally ``description, reference``; list items are separated
        by ``|``. See ``data/README-partner-types.md``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``partner_type``, with columns ``label``, ``missions`` (list of
        ``geo.schema.MISSIONS``, in that order), ``publics`` (list of :data:`PUBLICS`, in that
        order), ``receives_public`` (bool) and ``description`` (str or None). No geometry.

    Raises
    ------
    MissingColumnError
        A required column is absent.
    DuplicateError
        A partner type appears twice (both rows are named).
    ValidationError
        An unknown mission or public, an invalid key or boolean; naming file, row and field.
    """
    table = _read_csv_table(path)
    _require_columns(table, PARTNER_TYPE_COLUMNS)
    records = []
    seen: dict[str, int] = {}
    for row, values in table.rows:
        record = _partner_type_record(values, file=table.file, row=row)
        key = record["partner_type"]
        if key in seen:
            msg = f"partner type '{key}' is defined twice (rows {seen[key]} and {row})"
            raise DuplicateError(msg, file=table.file, row=row, field="partner_type")
        seen[key] = row
        records.append(record)
    if not records:
        msg = "no partner type defined"
        raise ValidationError(msg, file=table.file)
    columns = ["partner_type", "label", "missions", "publics", "receives_public", "description"]
    return pd.DataFrame(records, columns=columns).set_index("partner_type")


def _partner_type_record(values: Mapping[str, str], *, file: Path, row: int) -> dict[str, Any]:
    key = values["partner_type"].strip()
    if not _PARTNER_KEY.fullmatch(key):
        msg = f"invalid partner type {key!r}: use lowercase letters, digits and '_' (e.g. mission_locale)"
        raise ValidationError(msg, file=file, row=row, field="partner_type")
    return {
        "partner_type": key,
        "label": _required_text(values, "label", file=file, row=row),
        "missions": _vocabulary_list(values["missions"], MISSIONS, file=file, row=row, field="missions"),
        "publics": _vocabulary_list(values["publics"], PUBLICS, file=file, row=row, field="publics"),
        "receives_public": _parse_bool(values["receives_public"], file=file, row=row, field="receives_public"),
        "description": _blank_to_none(values.get("description")),
    }


def _vocabulary_list(text: str, vocabulary: tuple[str, ...], *, file: Path, row: int, field: str) -> list[str]:
    """Split ``a|b`` into known terms, in the vocabulary's order; unknown terms are an error."""
    items = {item.strip() for item in text.split("|") if item.strip()}
    unknown = sorted(items - set(vocabulary))
    if unknown:
        msg = f"unknown value(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(vocabulary)}"
        raise ValidationError(msg, file=file, row=row, field=field)
    return [term for term in vocabulary if term in items]


def _parse_bool(text: str, *, file: Path, row: int, field: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    msg = f"expected true or false, got {text!r}"
    raise ValidationError(msg, file=file, row=row, field=field)


# --------------------------------------------------------------------------------------------
# France services (ANCT)
# --------------------------------------------------------------------------------------------


def read_france_services(
    path: str | Path,
    *,
    partner_types: pd.DataFrame,
    crs: str,
    vintage: str = "2024-08-01",
    dataset: str = "france_services",
) -> gpd.GeoDataFrame:
    """Read the ANCT list of France services (one row per site, WGS84 latitude/longitude).

    Parameters
    ----------
    path
        CSV with at least the columns of :data:`FRANCE_SERVICES_COLUMNS`; ``complement_adresse,
        lib_com, mail, telephone, h_lundi`` .. ``h_samedi`` (``h_dimanche``) and ``prise_rdv``
        are read when present. Coordinates in decimal degrees (``.`` or ``,``).
    partner_types
        Output of :func:`read_partner_types`; must define ``france_services``.
    crs
        Projected CRS (metres) of the returned points, e.g. ``"EPSG:2154"``.
    vintage
        Date or label of the list, stored in ``vintage``.
    dataset
        Dataset name; ``structure_id`` is ``"<dataset>:<id_fs>"``.

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
    table = _read_csv_table(path)
    _require_columns(table, FRANCE_SERVICES_COLUMNS)
    _require_data_rows(table)
    records = [
        _france_services_record(values, file=table.file, row=row, dataset=dataset, vintage=vintage)
        for row, values in table.rows
    ]
    fields = _SourceFields(id="id_fs", partner_type="partner_type", latitude="latitude",
                           longitude="longitude", commune_code="insee_com")
    return _build_layer(records, file=table.file, crs=crs, partner_types=partner_types, fields=fields)


def _france_services_record(
    values: Mapping[str, str], *, file: Path, row: int, dataset: str, vintage: str
) -> dict[str, Any]:
    source_id = _required_text(values, "id_fs", file=file, row=row)
    return {
        "structure_id": f"{dataset}:{source_id}",
        "dataset": dataset,
        "partner_type": "france_services",
        "name": _required_text(values, "lib_fs", file=file, row=row),
        "address": _join_text([values["adresse"], values.get("complement_adresse", "")]),
        "postcode": _postcode(values["code_postal"], file=file, row=row, field="code_postal"),
        "commune_code": _blank_to_none(values["insee_com"]),
        "commune_name": _blank_to_none(values.get("lib_com")),
        "phone": _blank_to_none(values.get("telephone")),
        "email": _blank_to_none(values.get("mail")),
        "website": None,
        "site_format": _anct_site_format(values["format_fs"], file=file, row=row),
        "opening_hours": _weekday_columns(values),
        "appointment": _parse_yes_no(values.get("prise_rdv", ""), file=file, row=row, field="prise_rdv"),
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


def _parse_yes_no(text: str, *, file: Path, row: int, field: str) -> bool | None:
    value = text.strip().lower()
    if not value:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    msg = f"expected Oui or Non, got {text!r}"
    raise ValidationError(msg, file=file, row=row, field=field)


# --------------------------------------------------------------------------------------------
# partenaires.csv
# --------------------------------------------------------------------------------------------


def read_partenaires(
    path: str | Path,
    *,
    partner_types: pd.DataFrame,
    crs: str,
    dataset: str = "partenaires",
) -> gpd.GeoDataFrame:
    """Read ``partenaires.csv``: structures of any partner type, one schema, WGS84 lat/lon.

    The file has no identifier column, so ``structure_id`` is derived from the content:
    ``"<dataset>:<type>-<slug of nom>-<code_postal>"``, stable as long as these three values do
    not change. Rows that are exact copies of each other (every column equal) are kept and
    numbered in file order (``-2``, ``-3``...), as the pilot file lists three agencies twice;
    two *different* rows with the same type, name and postcode are an error.

    Parameters
    ----------
    path
        CSV with the columns of :data:`PARTENAIRES_COLUMNS` (``type`` is a key of the
        partner-type mapping, ``geocodage`` one of ``geo.schema.GEOCODING_PRECISIONS``) and
        optionally ``adresse, commune, code_insee, source, millesime``.
    partner_types
        Output of :func:`read_partner_types`.
    crs
        Projected CRS (metres) of the returned points, e.g. ``"EPSG:2154"``.
    dataset
        Dataset name, prefix of ``structure_id``.

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
    table = _read_csv_table(path)
    _require_columns(table, PARTENAIRES_COLUMNS)
    _require_data_rows(table)
    ids = _partenaire_ids(table, dataset=dataset)
    records = [
        _partenaire_record(values, file=table.file, row=row, dataset=dataset, structure_id=ids[row])
        for row, values in table.rows
    ]
    fields = _SourceFields(id="nom", partner_type="type", latitude="lat", longitude="lon", commune_code="code_insee")
    return _build_layer(records, file=table.file, crs=crs, partner_types=partner_types, fields=fields)


def _partenaire_ids(table: _Table, *, dataset: str) -> dict[int, str]:
    """Row -> derived identifier; exact duplicate rows are numbered, conflicting ones refused."""
    groups: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for row, values in table.rows:
        slug = _slug(values["nom"])
        if not slug:
            msg = "a name is needed to identify the structure"
            raise ValidationError(msg, file=table.file, row=row, field="nom")
        key = f"{dataset}:{values['type'].strip()}-{slug}-{''.join(values['code_postal'].split())}"
        groups.setdefault(key, []).append((row, values))
    ids = {}
    for key, members in groups.items():
        first_row, first_values = members[0]
        ids[first_row] = key
        for rank, (row, values) in enumerate(members[1:], start=2):
            if values != first_values:
                msg = (
                    f"rows {first_row} and {row} have the same type, name and postcode but differ "
                    f"(identifier {key}): give the two structures distinct names"
                )
                raise DuplicateError(msg, file=table.file, row=row, field="nom")
            ids[row] = f"{key}-{rank}"
    return ids


def _partenaire_record(
    values: Mapping[str, str], *, file: Path, row: int, dataset: str, structure_id: str
) -> dict[str, Any]:
    geocoding = values["geocodage"].strip()
    if geocoding not in GEOCODING_PRECISIONS:
        msg = f"unknown geocoding precision {geocoding!r}; expected one of {', '.join(GEOCODING_PRECISIONS)}"
        raise ValidationError(msg, file=file, row=row, field="geocodage")
    return {
        "structure_id": structure_id,
        "dataset": dataset,
        "partner_type": values["type"].strip(),
        "name": _required_text(values, "nom", file=file, row=row),
        "address": _blank_to_none(values.get("adresse")),
        "postcode": _postcode(values["code_postal"], file=file, row=row, field="code_postal"),
        "commune_code": _blank_to_none(values.get("code_insee")),
        "commune_name": _blank_to_none(values.get("commune")),
        "phone": None,
        "email": None,
        "website": None,
        "site_format": "fixe",
        "opening_hours": {},
        "appointment": None,
        "geocoding": geocoding,
        "source": _blank_to_none(values.get("source")) or file.name,
        "vintage": _blank_to_none(values.get("millesime")),
        "_lat": values["lat"],
        "_lon": values["lon"],
        "_row": row,
    }


def _slug(text: str) -> str:
    """Lowercase ASCII words joined by ``-`` ("Mission locale Vitré" -> "mission-locale-vitre")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


# --------------------------------------------------------------------------------------------
# Service-public.fr annuaire (DILA)
# --------------------------------------------------------------------------------------------


def read_annuaire_service_public(
    path: str | Path,
    *,
    partner_types: pd.DataFrame,
    crs: str,
    dataset: str = "annuaire",
) -> gpd.GeoDataFrame:
    """Read the Service-public.fr "annuaire de l'administration" export (DILA, Licence Ouverte).

    Services whose ``pivot[].type_service_local`` is a key of :data:`ANNUAIRE_PIVOT_TYPES` are
    read; the others (mairies, CAF...) are skipped and counted in
    ``result.attrs["skipped_types"]`` (pivot -> number of services). The point is that of the
    first physical address (``type_adresse`` "Adresse") with coordinates. Fields holding lists
    may also be JSON text, as in the API's records and CSV export. See ``data/README-annuaire.md``.

    Parameters
    ----------
    path
        JSON: an object with a ``service`` list (the data.gouv.fr bulk file), or a bare list
        (API records); or CSV (UTF-8, ``;`` or ``,``) of the API export, one service per row.
    partner_types
        Output of :func:`read_partner_types`; every mapped partner type read must be defined.
    crs
        Projected CRS (metres) of the returned points, e.g. ``"EPSG:2154"``.
    dataset
        Dataset name; ``structure_id`` is ``"<dataset>:<id>"`` (the DILA UUID).

    Returns
    -------
    geopandas.GeoDataFrame
        ``geo.schema.STRUCTURE_COLUMNS``, points in ``crs``, indexed by ``source_row`` (1-based
        position in the JSON list, or spreadsheet row for CSV). ``opening_hours`` is built from
        ``plage_ouverture`` (weekday -> ``"09:00 - 12:00 / 14:00 - 17:00"``), ``vintage`` from
        ``date_modification`` (ISO date), ``site_format`` is ``"fixe"``, ``appointment`` None.

    Raises
    ------
    MissingColumnError, ValidationError, CrsError, GeometryError, DuplicateError
        Naming the file, the row and the field.
    """
    file = Path(path)
    services = _read_annuaire_services(file)
    if not services:
        msg = "no service in the file: an empty or truncated export?"
        raise ValidationError(msg, file=file, field="service")
    records = []
    skipped: Counter[str] = Counter()
    for row, service in services:
        partner_type, pivot = _annuaire_partner_type(service, file=file, row=row)
        if partner_type is None:
            skipped[pivot] += 1
            continue
        records.append(_annuaire_record(service, file=file, row=row, dataset=dataset, partner_type=partner_type))
    fields = _SourceFields(id="id", partner_type="pivot", latitude="adresse.latitude",
                           longitude="adresse.longitude", commune_code="code_insee_commune")
    layer = _build_layer(records, file=file, crs=crs, partner_types=partner_types, fields=fields)
    layer.attrs["skipped_types"] = dict(sorted(skipped.items()))
    return layer


def _annuaire_records(data: Any) -> list[tuple[int, Any]]:
    services = data.get("service") if isinstance(data, dict) else data
    return list(enumerate(services, start=1)) if isinstance(services, list) else []


def _read_annuaire_services(file: Path) -> list[tuple[int, dict[str, Any]]]:
    """(row, service) pairs from the JSON or CSV form of the export."""
    raw = _read_bytes(file)
    if file.suffix.lower() == ".csv" or not raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"{", b"[")):
        table = _read_csv_table(file)
        _require_columns(table, ANNUAIRE_COLUMNS)
        return [(row, dict(values)) for row, values in table.rows]
    data = _read_json(file, records=_annuaire_records)
    services = data.get("service") if isinstance(data, dict) else data
    if not isinstance(services, list):
        msg = "expected an object with a 'service' list, or a list of services"
        raise ValidationError(msg, file=file, field="service")
    for row, service in enumerate(services, start=1):
        if not isinstance(service, dict):
            msg = f"expected a service object, got {type(service).__name__}"
            raise ValidationError(msg, file=file, row=row)
    return list(enumerate(services, start=1))


def _annuaire_partner_type(service: Mapping[str, Any], *, file: Path, row: int) -> tuple[str | None, str]:
    """(partner type or None, pivot name used for counting) of one service."""
    pivots = _embedded_list(service.get("pivot"), file=file, row=row, field="pivot")
    names = [str(p.get("type_service_local") or "") if isinstance(p, dict) else str(p) for p in pivots]
    names = [name.strip() for name in names if name.strip()]
    for name in names:
        if name in ANNUAIRE_PIVOT_TYPES:
            return ANNUAIRE_PIVOT_TYPES[name], name
    return None, names[0] if names else "(sans pivot)"


def _annuaire_record(
    service: Mapping[str, Any], *, file: Path, row: int, dataset: str, partner_type: str
) -> dict[str, Any]:
    for key in ("id", "nom"):
        if not _text(service.get(key)):
            msg = f"missing '{key}'"
            raise MissingColumnError(msg, file=file, row=row, field=key)
    address = _annuaire_address(service, file=file, row=row)
    url = _text(service.get("url_service_public"))
    return {
        "structure_id": f"{dataset}:{_text(service['id'])}",
        "dataset": dataset,
        "partner_type": partner_type,
        "name": _text(service["nom"]),
        "address": _join_text(
            [_text(address.get(k)) for k in ("complement1", "complement2", "numero_voie", "service_distribution")]
        ),
        "postcode": _text(address.get("code_postal")) or None,
        "commune_code": _text(service.get("code_insee_commune")) or _text(address.get("code_insee_commune")) or None,
        "commune_name": _text(address.get("nom_commune")) or None,
        "phone": _first_value(service.get("telephone"), file=file, row=row, field="telephone"),
        "email": _first_value(service.get("adresse_courriel"), file=file, row=row, field="adresse_courriel"),
        "website": _first_value(service.get("site_internet"), file=file, row=row, field="site_internet"),
        "site_format": "fixe",
        "opening_hours": _annuaire_hours(service.get("plage_ouverture"), file=file, row=row),
        "appointment": None,
        "geocoding": "source",
        "source": f"{ANNUAIRE_SOURCE}, {url}" if url else ANNUAIRE_SOURCE,
        "vintage": _iso_date(_text(service.get("date_modification")), file=file, row=row, field="date_modification"),
        "_lat": _text(address.get("latitude")),
        "_lon": _text(address.get("longitude")),
        "_row": row,
    }


def _annuaire_address(service: Mapping[str, Any], *, file: Path, row: int) -> dict[str, Any]:
    """The physical address with coordinates, else any address with coordinates, else the first."""
    addresses = [a for a in _embedded_list(service.get("adresse"), file=file, row=row, field="adresse")
                 if isinstance(a, dict)]
    located = [a for a in addresses if _text(a.get("latitude")) and _text(a.get("longitude"))]
    physical = [a for a in located if _text(a.get("type_adresse")).lower() == "adresse"]
    return (physical or located or addresses or [{}])[0]


def _annuaire_hours(value: Any, *, file: Path, row: int) -> dict[str, str]:
    """``plage_ouverture`` -> weekday -> "09:00 - 12:00 / 14:00 - 17:00" (days in week order)."""
    slots: dict[str, list[str]] = {}
    for plage in _embedded_list(value, file=file, row=row, field="plage_ouverture"):
        if not isinstance(plage, dict):
            continue
        times = [
            f"{_hhmm(plage.get(f'valeur_heure_debut_{i}'), file=file, row=row)} - "
            f"{_hhmm(plage.get(f'valeur_heure_fin_{i}'), file=file, row=row)}"
            for i in (1, 2)
            if _text(plage.get(f"valeur_heure_debut_{i}")) and _text(plage.get(f"valeur_heure_fin_{i}"))
        ]
        for day in _day_range(plage.get("nom_jour_debut"), plage.get("nom_jour_fin"), file=file, row=row):
            slots.setdefault(day, []).extend(times)
    return {day: " / ".join(slots[day]) for day in WEEKDAYS if slots.get(day)}


def _day_range(first: Any, last: Any, *, file: Path, row: int) -> list[str]:
    """Weekdays from ``first`` to ``last`` inclusive ("Lundi", "Vendredi" -> lundi..vendredi)."""
    start = _weekday(first, file=file, row=row)
    end = _weekday(last, file=file, row=row) if _text(last) else start
    i, j = WEEKDAYS.index(start), WEEKDAYS.index(end)
    return list(WEEKDAYS[i : j + 1]) if i <= j else list(WEEKDAYS[i:] + WEEKDAYS[: j + 1])


def _weekday(value: Any, *, file: Path, row: int) -> str:
    name = _slug(_text(value))
    if name not in WEEKDAYS:
        msg = f"unknown weekday {_text(value)!r} in nom_jour_debut/nom_jour_fin"
        raise ValidationError(msg, file=file, row=row, field="plage_ouverture")
    return name


def _hhmm(value: Any, *, file: Path, row: int) -> str:
    """"09:00:00" or "9:00" -> "09:00" (00:00 to 24:00)."""
    match = re.fullmatch(r"(\d{1,2})[:h](\d{2})(:\d{2})?", _text(value))
    hours, minutes = (int(match.group(1)), int(match.group(2))) if match else (-1, -1)
    if not (0 <= hours < 24 and 0 <= minutes < 60) and (hours, minutes) != (24, 0):
        msg = f"unreadable time {_text(value)!r} in valeur_heure_*: expected HH:MM between 00:00 and 24:00"
        raise ValidationError(msg, file=file, row=row, field="plage_ouverture")
    return f"{hours:02d}:{minutes:02d}"


def _iso_date(text: str, *, file: Path | None = None, row: int | None = None, field: str | None = None) -> str | None:
    """"09/08/2023 13:30:19" or "2023-08-09T13:30:19+00:00" -> "2023-08-09"; "" -> None.

    Anything else, or a date that does not exist (31/02/2024), is a ValidationError.
    """
    if not text:
        return None
    if match := re.match(r"(\d{2})/(\d{2})/(\d{4})(?![\d/])", text):
        day, month, year = (int(g) for g in match.groups())
    elif match := re.match(r"(\d{4})-(\d{2})-(\d{2})(?![\d-])", text):
        year, month, day = (int(g) for g in match.groups())
    else:
        msg = f"unreadable date {text!r}: expected DD/MM/YYYY or YYYY-MM-DD"
        raise ValidationError(msg, file=file, row=row, field=field)
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError as exc:
        msg = f"{text!r} is not a real date ({exc})"
        raise ValidationError(msg, file=file, row=row, field=field) from exc


def _embedded_list(value: Any, *, file: Path, row: int, field: str) -> list[Any]:
    """A list field, given as a list, a single object, JSON text or nothing."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if not text.startswith(("[", "{")):
            return [text]
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            msg = f"invalid JSON text: {exc.msg}"
            raise ValidationError(msg, file=file, row=row, field=field) from exc
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _first_value(value: Any, *, file: Path, row: int, field: str) -> str | None:
    """First non-empty item of a list of strings or of ``{"valeur": ...}`` objects."""
    for item in _embedded_list(value, file=file, row=row, field=field):
        text = _text(item.get("valeur")) if isinstance(item, dict) else _text(item)
        if text:
            return text
    return None


# --------------------------------------------------------------------------------------------
# Shared validation: one canonical layer from validated records
# --------------------------------------------------------------------------------------------


def _build_layer(
    records: list[dict[str, Any]],
    *,
    file: Path,
    crs: str,
    partner_types: pd.DataFrame,
    fields: _SourceFields,
) -> gpd.GeoDataFrame:
    """Validate coordinates, identifiers and partner types, then project to ``crs``."""
    area = _area_of_use(crs)
    lonlat = [_coordinates(rec, area=area, crs=crs, file=file, fields=fields) for rec in records]
    _check_unique_ids(records, file=file, field=fields.id)
    entries = [
        _partner_type_entry(partner_types, rec["partner_type"], file=file, row=rec["_row"], field=fields.partner_type)
        for rec in records
    ]
    base = [c for c in STRUCTURE_COLUMNS if c not in ("missions", "publics", "geometry")]
    rows = [
        {**{c: rec[c] for c in base}, "missions": list(entry["missions"]), "publics": list(entry["publics"])}
        for rec, entry in zip(records, entries, strict=True)
    ]
    index = pd.Index([rec["_row"] for rec in records], name=ROW_INDEX, dtype="int64")
    columns = [c for c in STRUCTURE_COLUMNS if c != "geometry"]
    # dtype=object keeps None (not NaN) for missing text, and Python lists and dicts as they are
    frame = pd.DataFrame(rows, columns=columns, index=index, dtype=object)
    points = gpd.GeoSeries(gpd.points_from_xy([p[0] for p in lonlat], [p[1] for p in lonlat]), crs=WGS84)
    layer = gpd.GeoDataFrame(frame, geometry=points.to_crs(crs).values, crs=crs)[list(STRUCTURE_COLUMNS)]
    layer.attrs["source_fields"] = {
        "latitude": fields.latitude, "longitude": fields.longitude, "commune_code": fields.commune_code,
    }
    return layer


def _coordinates(
    record: Mapping[str, Any], *, area: tuple[float, float, float, float] | None, crs: str, file: Path,
    fields: _SourceFields,
) -> tuple[float, float]:
    """(lon, lat) in degrees of one record, checked against WGS84 ranges and the CRS's area."""
    row = record["_row"]
    lat = _parse_degrees(record["_lat"], file=file, row=row, field=fields.latitude)
    lon = _parse_degrees(record["_lon"], file=file, row=row, field=fields.longitude)
    _check_degree_ranges(lat, lon, file=file, row=row, fields=fields)
    if area is not None and not _in_area(lon, lat, area):
        if _in_area(lat, lon, area):
            msg = (
                f"latitude {lat} and longitude {lon} are probably swapped: the point falls outside "
                f"the area of {crs}, and inside it once swapped"
            )
            raise CrsError(msg, file=file, row=row, field=fields.latitude)
        msg = f"the point (latitude {lat}, longitude {lon}) is outside the area where {crs} is used"
        raise GeometryError(msg, file=file, row=row, field=fields.latitude)
    return lon, lat


def _parse_degrees(text: Any, *, file: Path, row: int, field: str) -> float:
    """Decimal degrees from text such as "48.1113", "48,1113" or "-2.74"."""
    value = _text(text)
    if not value:
        msg = "empty coordinate: the structure cannot be placed on the map"
        raise GeometryError(msg, file=file, row=row, field=field)
    if not _DECIMAL.fullmatch(value):
        msg = f"unparsable coordinate {value!r}: expected decimal degrees such as 48.1113 or 48,1113"
        raise GeometryError(msg, file=file, row=row, field=field)
    return float(value.replace(",", "."))


def _check_degree_ranges(lat: float, lon: float, *, file: Path, row: int, fields: _SourceFields) -> None:
    """Refuse projected metres (e.g. Lambert-93) and values beyond WGS84 ranges."""
    if abs(lat) <= 90 and abs(lon) <= 180:
        return
    if max(abs(lat), abs(lon)) > 360:
        field = fields.latitude if abs(lat) > 360 else fields.longitude
        msg = (
            f"latitude {lat} / longitude {lon} look like projected coordinates in metres (e.g. "
            f"Lambert-93, EPSG:2154), not WGS84 degrees: convert them to latitude/longitude (EPSG:4326)"
        )
        raise CrsError(msg, file=file, row=row, field=field)
    if abs(lat) > 90 and abs(lon) <= 90:
        msg = f"latitude {lat} is beyond ±90°: not a latitude (latitude and longitude swapped, or a typo?)"
        raise CrsError(msg, file=file, row=row, field=fields.latitude)
    msg = f"latitude {lat} / longitude {lon} are outside WGS84 ranges (±90°, ±180°)"
    raise CrsError(msg, file=file, row=row, field=fields.latitude if abs(lat) > 90 else fields.longitude)


def _area_of_use(crs: str) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) in degrees where ``crs`` is used, widened by a margin."""
    area = pyproj.CRS.from_user_input(crs).area_of_use
    if area is None:
        return None
    m = AREA_MARGIN_DEG
    return area.west - m, max(area.south - m, -90.0), area.east + m, min(area.north + m, 90.0)


def _in_area(lon: float, lat: float, area: tuple[float, float, float, float]) -> bool:
    west, south, east, north = area
    if not south <= lat <= north:
        return False
    if west <= east:
        return west <= lon <= east
    return lon >= west or lon <= east  # area crossing the antimeridian


def _check_unique_ids(records: list[dict[str, Any]], *, file: Path, field: str) -> None:
    first_row: dict[str, int] = {}
    for rec in records:
        sid, row = rec["structure_id"], rec["_row"]
        if sid in first_row:
            msg = f"identifier {sid} appears twice (rows {first_row[sid]} and {row})"
            raise DuplicateError(msg, file=file, row=row, field=field)
        first_row[sid] = row


def _partner_type_entry(partner_types: pd.DataFrame, key: str, *, file: Path, row: int, field: str) -> pd.Series:
    if key not in partner_types.index:
        msg = (
            f"unknown partner type {key!r}: add it to the partner-type mapping "
            f"(known: {', '.join(map(str, partner_types.index))})"
        )
        raise ValidationError(msg, file=file, row=row, field=field)
    return partner_types.loc[key]


# --------------------------------------------------------------------------------------------
# Communes
# --------------------------------------------------------------------------------------------


def assign_communes(
    structures: gpd.GeoDataFrame,
    communes: gpd.GeoDataFrame,
    *,
    file: str | Path | None = None,
    tolerance_m: float = 2000.0,
) -> gpd.GeoDataFrame:
    """Place every structure in a current commune of the Région.

    Where ``commune_code`` is empty it is found by spatial join: the commune containing the
    point, else the nearest one within ``tolerance_m`` (points on the coast or near simplified
    boundaries). Where the source gives a code, it must be a current commune code and the point
    must lie within ``tolerance_m`` of that commune. ``commune_name`` is then set from
    ``communes`` for every row (the COG name, whatever the source wrote).

    Parameters
    ----------
    structures
        A reader's output (``geo.schema.STRUCTURE_COLUMNS``), indexed by ``source_row``.
    communes
        Current communes with columns ``code``, ``name`` and (Multi)Polygon geometries, in the
        same projected CRS (metres) as ``structures``.
    file
        The structures' source file, named in error messages.
    tolerance_m
        Largest distance (metres) between a point and its commune.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``structures`` (same CRS, index and columns) with ``commune_code`` and
        ``commune_name`` filled.

    Raises
    ------
    CrsError
        The two layers have no CRS or different CRSs.
    MissingColumnError
        ``communes`` lacks ``code`` or ``name``.
    ValidationError
        A given commune code is not a current commune of the Région, or is more than
        ``tolerance_m`` from the point (naming the row and the source's field).
    GeometryError
        A point is farther than ``tolerance_m`` from every commune: outside the Région.
    """
    _check_same_crs(structures, communes, file=file)
    for column in ("code", "name"):
        if column not in communes.columns:
            msg = f"the communes layer has no '{column}' column"
            raise MissingColumnError(msg, field=column)
    result = structures.copy()
    if result.empty:
        return result
    fields = {"latitude": "latitude", "longitude": "longitude", "commune_code": "commune_code",
              **structures.attrs.get("source_fields", {})}
    names = dict(zip(communes["code"].astype(str), communes["name"], strict=True))
    given = [_text(code) or None for code in structures["commune_code"]]
    rows = [int(row) for row in structures.index]
    _check_known_codes(given, rows, names, file=file, field=fields["commune_code"])
    located = _locate_points(structures.geometry, communes, tolerance_m=tolerance_m)
    _check_inside_region(structures, located, communes, file=file, fields=fields, tolerance_m=tolerance_m)
    _check_near_given_communes(structures, given, communes, file=file, fields=fields, tolerance_m=tolerance_m)
    codes = [code or loc for code, loc in zip(given, located, strict=True)]
    result["commune_code"] = codes
    result["commune_name"] = [names[code] for code in codes]
    return result


def _check_same_crs(structures: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, *, file: str | Path | None) -> None:
    if structures.crs is None or communes.crs is None:
        which = "structures" if structures.crs is None else "communes"
        msg = f"the {which} layer has no CRS"
        raise CrsError(msg, file=file, field="geometry")
    if not structures.crs.equals(communes.crs, ignore_axis_order=True):
        msg = f"structures are in {structures.crs.to_string()} but communes in {communes.crs.to_string()}"
        raise CrsError(msg, file=file, field="geometry")


def _check_known_codes(
    given: list[str | None], rows: list[int], names: Mapping[str, str], *, file: str | Path | None, field: str
) -> None:
    for code, row in zip(given, rows, strict=True):
        if code is not None and code not in names:
            msg = (
                f"commune code {code!r} is not a current commune of the Région (COG in force): "
                f"a merged commune, a commune outside the Région or a typo?"
            )
            raise ValidationError(msg, file=file, row=row, field=field)


def _locate_points(points: gpd.GeoSeries, communes: gpd.GeoDataFrame, *, tolerance_m: float) -> list[str | None]:
    """Code of the commune containing each point, else the nearest within ``tolerance_m``, else None."""
    pts = gpd.GeoDataFrame({"_pos": range(len(points))}, geometry=points.values, crs=points.crs)
    polys = gpd.GeoDataFrame({"_code": communes["code"].astype(str).to_numpy()},
                             geometry=communes.geometry.values, crs=communes.crs)
    located: list[str | None] = [None] * len(points)
    inside = gpd.sjoin(pts, polys, how="inner", predicate="intersects")
    for pos, code in _first_match(inside, ["_pos", "_code"]):
        located[pos] = code
    missing = [pos for pos, code in enumerate(located) if code is None]
    if missing:
        near = gpd.sjoin_nearest(pts.iloc[missing], polys, how="inner", max_distance=tolerance_m,
                                 distance_col="_dist")
        for pos, code in _first_match(near, ["_pos", "_dist", "_code"]):
            located[pos] = code
    return located


def _first_match(joined: pd.DataFrame, order: list[str]) -> Iterable[tuple[int, str]]:
    """One (position, code) per point: the first by ``order`` (ties broken by commune code)."""
    first = joined.sort_values(order).drop_duplicates("_pos")
    return zip(first["_pos"].astype(int), first["_code"], strict=True)


def _check_inside_region(
    structures: gpd.GeoDataFrame, located: list[str | None], communes: gpd.GeoDataFrame, *,
    file: str | Path | None, fields: Mapping[str, str], tolerance_m: float,
) -> None:
    for pos, code in enumerate(located):
        if code is None:
            point = structures.geometry.iloc[pos]
            distance_km = communes.geometry.distance(point).min() / 1000
            lon, lat = _to_degrees(point, structures.crs)
            msg = (
                f"the point (latitude {lat:.5f}, longitude {lon:.5f}) is {distance_km:.1f} km from the "
                f"nearest commune (tolerance {tolerance_m / 1000:g} km): outside the Région"
            )
            raise GeometryError(msg, file=file, row=int(structures.index[pos]),
                                field=f"{fields['latitude']}/{fields['longitude']}")


def _check_near_given_communes(
    structures: gpd.GeoDataFrame, given: list[str | None], communes: gpd.GeoDataFrame, *,
    file: str | Path | None, fields: Mapping[str, str], tolerance_m: float,
) -> None:
    polygons = dict(zip(communes["code"].astype(str), communes.geometry, strict=True))
    for pos, code in enumerate(given):
        if code is None:
            continue
        distance = polygons[code].distance(structures.geometry.iloc[pos])
        if distance > tolerance_m:
            msg = (
                f"the point is {distance / 1000:.1f} km from commune {code} given in this row "
                f"(tolerance {tolerance_m / 1000:g} km): wrong coordinates or wrong commune code?"
            )
            raise ValidationError(msg, file=file, row=int(structures.index[pos]), field=fields["commune_code"])


def _to_degrees(point: Any, crs: Any) -> tuple[float, float]:
    transformer = pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)
    return transformer.transform(point.x, point.y)


# --------------------------------------------------------------------------------------------
# CSV reading and small text helpers
# --------------------------------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        msg = "file not found"
        raise ValidationError(msg, file=path) from exc
    except OSError as exc:  # a folder, no permission...
        msg = f"cannot read the file: {exc.strerror or exc}"
        raise ValidationError(msg, file=path) from exc


def _read_csv_table(path: str | Path) -> _Table:
    """Read a CSV as text: UTF-8 (BOM accepted), ``,`` or ``;`` (sniffed from the header).

    Refused with a ValidationError naming the row and, when known, the column: a file that is
    not UTF-8 (Latin-1, UTF-16) or holds NUL bytes, an empty file, a row whose number of values
    differs from the header's, a value longer than :data:`MAX_CELL_CHARS`, and text that was
    already garbled by a wrong decoding (``Ã©`` for ``é``).
    """
    file = Path(path)
    text = _decode_utf8(_read_bytes(file), file)
    if not text.strip():
        msg = "empty file: expected a header row"
        raise ValidationError(msg, file=file)
    separator = _sniff_separator(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    check_mojibake = any(marker in text for marker in _MOJIBAKE_MARKERS)
    row = 1  # spreadsheet row being read (a quoted value may span several lines)
    previous_limit = csv.field_size_limit(max(len(text), MAX_CELL_CHARS))  # long cells are refused below
    try:
        header = [cell.strip() for cell in next(reader)]
        _check_cells(header, header, file=file, row=1, check_mojibake=check_mojibake)
        duplicated = sorted({name for name in header if header.count(name) > 1})
        if duplicated:
            msg = f"column(s) {', '.join(duplicated)} appear more than once in the header"
            raise ValidationError(msg, file=file, row=1, field=duplicated[0])
        rows = []
        row = 2
        for cells in reader:
            if any(cell.strip() for cell in cells):  # else a blank spreadsheet row
                _check_cells(cells, header, file=file, row=row, check_mojibake=check_mojibake)
                rows.append((row, _row_values(header, cells, file=file, row=row, separator=separator)))
            row += 1
    except csv.Error as exc:
        msg = f"unreadable CSV: {exc}"
        raise ValidationError(msg, file=file, row=row) from exc
    finally:
        csv.field_size_limit(previous_limit)
    return _Table(file=file, columns=tuple(header), rows=rows, separator=separator)


def _check_cells(cells: list[str], header: list[str], *, file: Path, row: int, check_mojibake: bool) -> None:
    """Refuse over-long values and garbled (double-decoded) text, naming the column."""
    if not check_mojibake and max(map(len, cells), default=0) <= MAX_CELL_CHARS:
        return  # the common case, kept fast for large files
    for col, cell in enumerate(cells):
        field = header[col] if col < len(header) else None
        if len(cell) > MAX_CELL_CHARS:
            msg = (
                f"a value of {len(cell):,} characters (at most {MAX_CELL_CHARS:,}): an opening quote without "
                f"its closing quote, which swallows the following rows, or a file that is not a CSV?"
            )
            raise ValidationError(msg, file=file, row=row, field=field)
        if check_mojibake and (fixed := _undo_mojibake(cell)) is not None:
            msg = (
                f"garbled text {_excerpt(cell)!r} (should read {_excerpt(fixed)!r}): the file was decoded "
                f"with the wrong encoding before being saved as UTF-8; fix the accents or export it again"
            )
            raise ValidationError(msg, file=file, row=row, field=field)


def _undo_mojibake(text: str) -> str | None:
    """The original text when ``text`` is UTF-8 decoded as Windows-1252 or Latin-1 ("Ã©" for "é")."""
    if not any(marker in text for marker in _MOJIBAKE_MARKERS):
        return None
    for encoding in ("cp1252", "latin-1"):
        try:
            fixed = text.encode(encoding).decode("utf-8")
        except UnicodeError:
            continue
        if fixed != text:
            return fixed
    return None


def _excerpt(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _row_values(header: list[str], cells: list[str], *, file: Path, row: int, separator: str) -> dict[str, str]:
    if len(cells) > len(header) and not any(cell.strip() for cell in cells[len(header):]):
        cells = cells[: len(header)]  # trailing empty cells, as some spreadsheets write them
    multiline = next((col for col, cell in enumerate(cells) if "\n" in cell or "\r" in cell), None)
    if len(cells) != len(header) and multiline is not None:
        field = header[multiline] if multiline < len(header) else None
        lines = cells[multiline].count("\n") + 1
        msg = (
            f"{len(cells)} values where the header has {len(header)} columns, and a value running over "
            f"{lines} lines: a quote (\") opened in this value is probably never closed"
        )
        raise ValidationError(msg, file=file, row=row, field=field)
    if len(cells) > len(header):
        msg = (
            f"{len(cells)} values where the header has {len(header)} columns (separator {separator!r}): "
            f"an unquoted separator inside a value?"
        )
        raise ValidationError(msg, file=file, row=row)
    if len(cells) < len(header):
        msg = (
            f"{len(cells)} values where the header has {len(header)} columns (separator {separator!r}): "
            f"no value from column '{header[len(cells)]}' on; the row is cut short (truncated file?) "
            f"or a separator is missing"
        )
        raise ValidationError(msg, file=file, row=row, field=header[len(cells)])
    return dict(zip(header, cells, strict=True))


def _read_json(
    file: Path, *, records: Callable[[Any], Iterable[tuple[int, Any]]] | None = None
) -> Any:
    """Parse a UTF-8 JSON file (BOM accepted) with errors naming what is wrong.

    ``records`` gives the (row, record) pairs of the parsed document, used to name the row
    and the field of text that is not UTF-8 or that was garbled by a wrong decoding.
    """
    raw = _read_bytes(file)
    if not raw.strip(b"\xef\xbb\xbf \t\r\n"):
        msg = "empty file: expected JSON"
        raise ValidationError(msg, file=file)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        msg = "the file is UTF-16 text; save it as UTF-8"
        raise ValidationError(msg, file=file)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        row, field = _locate_in_json(raw.decode("latin-1"), records, _not_utf8)
        msg = (
            f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); it was probably saved "
            f"as Latin-1/Windows-1252. Convert it to UTF-8, e.g. `iconv -f WINDOWS-1252 -t UTF-8 old > new`"
        )
        raise ValidationError(msg, file=file, row=row, field=field) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        cut = not text.rstrip().endswith(("}", "]"))
        what = exc.msg.removesuffix(" starting at")
        msg = f"invalid JSON at line {exc.lineno}, column {exc.colno}: {what}" + (
            " (the file does not end with '}' or ']': truncated file?)" if cut else ""
        )
        raise ValidationError(msg, file=file) from exc
    if records is not None and any(marker in text for marker in _MOJIBAKE_MARKERS):
        row, field = _locate_in_json(data, records, lambda value: _undo_mojibake(value) is not None)
        if row is not None:
            msg = (
                "garbled text (such as 'Ã©' for 'é'): the file was decoded with the wrong encoding "
                "before being saved as UTF-8; fix the accents or export it again"
            )
            raise ValidationError(msg, file=file, row=row, field=field)
    return data


def _not_utf8(value: str) -> bool:
    """For text decoded as Latin-1: whether its bytes are not valid UTF-8."""
    try:
        value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return True
    return False


def _locate_in_json(
    document: Any, records: Callable[[Any], Iterable[tuple[int, Any]]] | None, bad: Callable[[str], bool]
) -> tuple[int | None, str | None]:
    """(row, top-level field) of the first string value of a record for which ``bad`` is true."""
    if records is None:
        return None, None
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError:
            return None, None
    try:
        pairs = list(records(document))
    except (AttributeError, TypeError, KeyError):
        return None, None

    def has_bad(value: Any) -> bool:
        if isinstance(value, str):
            return bad(value)
        if isinstance(value, dict):
            return any(has_bad(k) or has_bad(v) for k, v in value.items())
        if isinstance(value, list):
            return any(has_bad(v) for v in value)
        return False

    for row, record in pairs:
        if isinstance(record, dict):
            for key, value in record.items():
                if has_bad(key) or has_bad(value):
                    return row, str(key)
        elif has_bad(record):
            return row, None
    return None, None


def _decode_utf8(raw: bytes, file: Path) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        msg = "the file is UTF-16 text (Excel « Texte Unicode »); save it as « CSV UTF-8 » instead"
        raise ValidationError(msg, file=file, row=1)
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        utf16 = max(raw[0::2].count(0), raw[1::2].count(0)) > len(raw) // 4
        kind = "UTF-16 text without byte order mark" if utf16 else "a binary file"
        msg = f"NUL bytes in the file: {kind}, not a CSV in UTF-8; save it as « CSV UTF-8 »"
        raise ValidationError(msg, file=file, row=line)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row, field = _locate_non_utf8(raw, exc.start)
        msg = (
            f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x}); it was probably saved as "
            f"Latin-1/Windows-1252 (e.g. by Excel). Convert it to UTF-8, e.g. "
            f"`iconv -f WINDOWS-1252 -t UTF-8 old.csv > new.csv`, or save it as « CSV UTF-8 »"
        )
        raise ValidationError(msg, file=file, row=row, field=field) from exc


def _locate_non_utf8(raw: bytes, position: int) -> tuple[int, str | None]:
    """Spreadsheet row and column of the first cell that is not valid UTF-8."""
    text = raw.decode("latin-1")  # never fails: one character per byte
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_separator(text))
    header: list[str] = []
    for row, cells in enumerate(reader, start=1):
        cells = [cell.encode("latin-1").decode("utf-8", errors="replace").lstrip("\ufeff").strip()
                 if row == 1 else cell for cell in cells]
        if row == 1:
            header = cells
            if any("\ufffd" in cell for cell in cells):
                return 1, None
            continue
        for col, cell in enumerate(cells):
            try:
                cell.encode("latin-1").decode("utf-8")
            except UnicodeDecodeError:
                return row, header[col] if col < len(header) else None
    return raw[:position].count(b"\n") + 1, None


def _sniff_separator(text: str) -> str:
    """``;`` when the header line holds more ``;`` than ``,``, else ``,``."""
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    return ";" if first_line.count(";") > first_line.count(",") else ","


def _require_columns(table: _Table, required: Iterable[str]) -> None:
    for column in required:
        if column not in table.columns:
            msg = (
                f"missing column '{column}' (found: {', '.join(table.columns)}; "
                f"separator {table.separator!r})"
            )
            raise MissingColumnError(msg, file=table.file, row=1, field=column)  # row 1: the header


def _require_data_rows(table: _Table) -> None:
    """Refuse a structures file holding only its header: a load would empty the dataset."""
    if not table.rows:
        msg = (
            "no data row after the header: an empty or truncated export? (loading it would empty the "
            "dataset)"
        )
        raise ValidationError(msg, file=table.file, row=2)


def _postcode(text: str, *, file: Path, row: int, field: str) -> str | None:
    """A French postcode (5 digits, spaces ignored) or None when empty."""
    value = _blank_to_none(text)
    if value is not None and not _POSTCODE.fullmatch("".join(value.split())):
        msg = f"postcode {value!r} is not 5 digits (a leading 0 lost by a spreadsheet, or text in a numeric column?)"
        raise ValidationError(msg, file=file, row=row, field=field)
    return value


def _required_text(values: Mapping[str, str], column: str, *, file: Path, row: int) -> str:
    text = " ".join(values[column].split())
    if not text:
        msg = "empty value"
        raise ValidationError(msg, file=file, row=row, field=column)
    return text


def _text(value: Any) -> str:
    """A scalar as stripped text ("" for None, NaN or lists)."""
    if value is None or isinstance(value, (list, dict)):
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value).strip()


def _blank_to_none(value: Any) -> str | None:
    text = " ".join(_text(value).split())
    return text or None


def _join_text(parts: Iterable[str]) -> str | None:
    """Non-empty parts joined by ", " (address lines), or None."""
    kept = [" ".join(part.split()) for part in parts if part and part.strip()]
    return ", ".join(kept) or None


__all__ = [
    "ANNUAIRE_PIVOT_TYPES",
    "PUBLICS",
    "ROW_INDEX",
    "SITE_FORMATS_ANCT",
    "assign_communes",
    "read_annuaire_service_public",
    "read_france_services",
    "read_partenaires",
    "read_partner_types",
]
