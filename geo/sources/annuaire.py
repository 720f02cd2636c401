"""The Service-public.fr "annuaire de l'administration" export (DILA), JSON or CSV."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo.errors import MissingColumnError, ValidationError
from geo.sources.structures import SourceFields, build_layer
from geo.sources.tables import (
    Rejections,
    cell_text,
    embedded_list,
    first_value,
    iso_date,
    join_text,
    per_row,
    read_bytes,
    read_csv_table,
    read_json,
    require_columns,
    slug,
    web_address,
)
from geo.vocabulary import WEEKDAYS

ANNUAIRE_COLUMNS: tuple[str, ...] = ("id", "nom", "pivot", "adresse")
"""Required fields of an annuaire service (see ``data/README-annuaire.md``)."""

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

ANNUAIRE_SOURCE = "Service-public.fr, annuaire de l'administration (DILA)"


def read_annuaire_service_public(
    path: str | Path,
    *,
    partner_types: pd.DataFrame,
    crs: str,
    dataset: str = "annuaire",
    rejections: Rejections | None = None,
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
    rejections
        A tolerant load's rejected rows (:data:`geo.sources.tables.Rejections`); None: strict.

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
    skipped: Counter[str] = Counter()

    def record(item: tuple[int, dict[str, Any]]) -> dict[str, Any] | None:
        row, service = item
        partner_type, pivot = _annuaire_partner_type(service, file=file, row=row)
        if partner_type is None:
            skipped[pivot] += 1
            return None
        return _annuaire_record(service, file=file, row=row, dataset=dataset, partner_type=partner_type)

    records = [r for r in per_row(services, record, rejections) if r is not None]
    fields = SourceFields(
        id="id",
        partner_type="pivot",
        latitude="adresse.latitude",
        longitude="adresse.longitude",
        commune_code="code_insee_commune",
        postcode="adresse.code_postal",
        commune_name="adresse.nom_commune",
    )
    layer = build_layer(records, file=file, crs=crs, partner_types=partner_types, fields=fields, rejections=rejections)
    layer.attrs["skipped_types"] = dict(sorted(skipped.items()))
    return layer


def _annuaire_records(data: Any) -> list[tuple[int, Any]]:
    services = data.get("service") if isinstance(data, dict) else data
    return list(enumerate(services, start=1)) if isinstance(services, list) else []


def _read_annuaire_services(file: Path) -> list[tuple[int, dict[str, Any]]]:
    """(row, service) pairs from the JSON or CSV form of the export."""
    raw = read_bytes(file)
    if file.suffix.lower() == ".csv" or not raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"{", b"[")):
        table = read_csv_table(file)
        require_columns(table, ANNUAIRE_COLUMNS)
        return [(row, dict(values)) for row, values in table.rows]
    data = read_json(file, records=_annuaire_records)
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
    pivots = embedded_list(service.get("pivot"), file=file, row=row, field="pivot")
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
        if not cell_text(service.get(key)):
            msg = f"missing '{key}'"
            raise MissingColumnError(msg, file=file, row=row, field=key)
    address = _annuaire_address(service, file=file, row=row)
    url = cell_text(service.get("url_service_public"))
    return {
        "structure_id": f"{dataset}:{cell_text(service['id'])}",
        "dataset": dataset,
        "partner_type": partner_type,
        "name": cell_text(service["nom"]),
        "address": join_text(
            [cell_text(address.get(k)) for k in ("complement1", "complement2", "numero_voie", "service_distribution")]
        ),
        "postcode": cell_text(address.get("code_postal")) or None,
        "commune_code": cell_text(service.get("code_insee_commune"))
        or cell_text(address.get("code_insee_commune"))
        or None,
        "commune_name": cell_text(address.get("nom_commune")) or None,
        "phone": first_value(service.get("telephone"), file=file, row=row, field="telephone"),
        "email": first_value(service.get("adresse_courriel"), file=file, row=row, field="adresse_courriel"),
        "website": web_address(
            first_value(service.get("site_internet"), file=file, row=row, field="site_internet"),
            file=file,
            row=row,
            field="site_internet",
        ),
        "site_format": "fixe",
        "opening_hours": _annuaire_hours(service.get("plage_ouverture"), file=file, row=row),
        "appointment": None,
        "receives_public": None,
        "geocoding": "source",
        "source": f"{ANNUAIRE_SOURCE}, {url}" if url else ANNUAIRE_SOURCE,
        "vintage": iso_date(cell_text(service.get("date_modification")), file=file, row=row, field="date_modification"),
        "_lat": cell_text(address.get("latitude")),
        "_lon": cell_text(address.get("longitude")),
        "_row": row,
    }


def _annuaire_address(service: Mapping[str, Any], *, file: Path, row: int) -> dict[str, Any]:
    """The physical address with coordinates, else any address with coordinates, else the first."""
    addresses = [
        a for a in embedded_list(service.get("adresse"), file=file, row=row, field="adresse") if isinstance(a, dict)
    ]
    located = [a for a in addresses if cell_text(a.get("latitude")) and cell_text(a.get("longitude"))]
    physical = [a for a in located if cell_text(a.get("type_adresse")).lower() == "adresse"]
    return (physical or located or addresses or [{}])[0]


def _annuaire_hours(value: Any, *, file: Path, row: int) -> dict[str, str]:
    """``plage_ouverture`` -> weekday -> "09:00 - 12:00 / 14:00 - 17:00" (days in week order)."""
    slots: dict[str, list[str]] = {}
    for plage in embedded_list(value, file=file, row=row, field="plage_ouverture"):
        if not isinstance(plage, dict):
            continue
        times = [
            f"{_hhmm(plage.get(f'valeur_heure_debut_{i}'), file=file, row=row)} - "
            f"{_hhmm(plage.get(f'valeur_heure_fin_{i}'), file=file, row=row)}"
            for i in (1, 2)
            if cell_text(plage.get(f"valeur_heure_debut_{i}")) and cell_text(plage.get(f"valeur_heure_fin_{i}"))
        ]
        for day in _day_range(plage.get("nom_jour_debut"), plage.get("nom_jour_fin"), file=file, row=row):
            slots.setdefault(day, []).extend(times)
    return {day: " / ".join(slots[day]) for day in WEEKDAYS if slots.get(day)}


def _day_range(first: Any, last: Any, *, file: Path, row: int) -> list[str]:
    """Weekdays from ``first`` to ``last`` inclusive ("Lundi", "Vendredi" -> lundi..vendredi)."""
    start = _weekday(first, file=file, row=row)
    end = _weekday(last, file=file, row=row) if cell_text(last) else start
    i, j = WEEKDAYS.index(start), WEEKDAYS.index(end)
    return list(WEEKDAYS[i : j + 1]) if i <= j else list(WEEKDAYS[i:] + WEEKDAYS[: j + 1])


def _weekday(value: Any, *, file: Path, row: int) -> str:
    name = slug(cell_text(value))
    if name not in WEEKDAYS:
        msg = f"unknown weekday {cell_text(value)!r} in nom_jour_debut/nom_jour_fin"
        raise ValidationError(msg, file=file, row=row, field="plage_ouverture")
    return name


def _hhmm(value: Any, *, file: Path, row: int) -> str:
    """ "09:00:00" or "9:00" -> "09:00" (00:00 to 24:00)."""
    match = re.fullmatch(r"(\d{1,2})[:h](\d{2})(:\d{2})?", cell_text(value))
    hours, minutes = (int(match.group(1)), int(match.group(2))) if match else (-1, -1)
    if not (0 <= hours < 24 and 0 <= minutes < 60) and (hours, minutes) != (24, 0):
        msg = f"unreadable time {cell_text(value)!r} in valeur_heure_*: expected HH:MM between 00:00 and 24:00"
        raise ValidationError(msg, file=file, row=row, field="plage_ouverture")
    return f"{hours:02d}:{minutes:02d}"
