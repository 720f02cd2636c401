"""Candidate sites of a what-if: the real options a planner weighs (a vacant office, a
partner's premises, a France services that could host a permanence).

A CSV (policy of :mod:`geo.sources.tables`), one row per candidate:

- ``nom`` (required): how the planner names the option;
- where it is, by the first of: ``lat`` and ``lon`` (WGS84 decimal degrees: the site's own
  point), ``code_insee`` (the commune: the site is put at the commune's origin, where its
  inhabitants are taken to start), or ``adresse`` with ``commune`` (its name) and/or
  ``code_postal`` (the commune is found from them, the site put at its origin: no street
  geocoding is done offline, and the result says so);
- ``cout`` (optional): the cost of opening it, in any unit as long as ``--budget`` uses the
  same, non-negative;
- ``capacite`` (optional): how many inhabitants it could serve; not a constraint of the
  model, checked afterwards (a chosen site whose new public exceeds it is flagged).

English column names (``name, commune_code, address, postcode, commune, cost, capacity``)
are accepted too. Every error names the file, the row and the field; its message is in
French, as the planner reads it.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from geo.crs import WGS84
from geo.errors import GeometryError, MissingColumnError, ValidationError
from geo.sources.tables import cell_text, read_csv_table, require_data_rows, slug

ALIASES: dict[str, tuple[str, ...]] = {
    "nom": ("nom", "name"),
    "lat": ("lat", "latitude"),
    "lon": ("lon", "longitude"),
    "code_insee": ("code_insee", "commune_code"),
    "adresse": ("adresse", "address"),
    "commune": ("commune",),
    "code_postal": ("code_postal", "postcode"),
    "cout": ("cout", "coût", "cost"),
    "capacite": ("capacite", "capacité", "capacity"),
}
"""Column of the candidate file -> the names accepted for it."""

POSITIONS: dict[str, str] = {
    "coordonnees": "à ses coordonnées",
    "commune": "au point de départ de la commune",
    "adresse": "au point de départ de la commune de l'adresse, non géocodée",
}
"""How a candidate was placed, in French."""


def read_candidates(path: str | Path, communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Read a candidate file and place each candidate in a commune of the Région.

    Parameters
    ----------
    path
        The CSV file.
    communes
        ``code``, ``name`` and polygons in the Région's projected CRS (metres).

    Returns
    -------
    geopandas.GeoDataFrame
        ``row`` (spreadsheet row), ``name``, ``commune_code``, ``position`` (a key of
        :data:`POSITIONS`), ``cost`` and ``capacity`` (float, NaN when not given) and the
        given point (in the communes' CRS; None when the candidate is placed at its
        commune's origin).

    Raises
    ------
    MissingColumnError, ValidationError, GeometryError
        No ``nom`` column, no way to place a row, an unknown commune, a point outside the
        Région, a negative or unparsable cost or capacity; naming file, row and field.
    """
    table = read_csv_table(path)
    require_data_rows(table)
    columns = {key: next((c for c in names if c in table.columns), None) for key, names in ALIASES.items()}
    if columns["nom"] is None:
        raise MissingColumnError(
            "il manque la colonne « nom » (le nom de chaque lieu candidat)", file=table.file, row=1, field="nom"
        )
    if not (columns["lat"] and columns["lon"]) and not columns["code_insee"] and not columns["adresse"]:
        msg = "il faut une colonne pour placer les candidats : lat et lon, code_insee, ou adresse avec commune ou code_postal"
        raise MissingColumnError(msg, file=table.file, row=1, field="code_insee")
    codes = communes["code"].astype(str)
    by_name: dict[str, list[str]] = {}
    for code, name in zip(codes, communes["name"], strict=True):
        by_name.setdefault(slug(str(name)), []).append(code)
    records = []
    for row, values in table.rows:

        def value(key: str, values: dict[str, str] = values) -> str:
            column = columns[key]
            return cell_text(values.get(column, "")) if column else ""

        name = value("nom")
        if not name:
            raise ValidationError("nom vide : chaque candidat a besoin d'un nom", file=table.file, row=row, field="nom")
        point = None
        if value("lat") or value("lon"):
            lat = _degrees(value("lat"), 90.0, file=table.file, row=row, field=columns["lat"] or "lat")
            lon = _degrees(value("lon"), 180.0, file=table.file, row=row, field=columns["lon"] or "lon")
            point = gpd.GeoSeries([shapely.Point(lon, lat)], crs=WGS84).to_crs(communes.crs).iloc[0]
            inside = communes.sindex.query(point, predicate="within")
            if inside.size == 0:
                msg = f"le point ({lat}, {lon}) n'est dans aucune commune de la Région"
                raise GeometryError(msg, file=table.file, row=row, field=columns["lat"])
            commune, position = str(codes.iloc[int(inside[0])]), "coordonnees"
        elif value("code_insee"):
            commune, position = value("code_insee"), "commune"
            if commune not in set(codes):
                msg = f"le code {commune!r} n'est pas une commune de la Région"
                raise ValidationError(msg, file=table.file, row=row, field=columns["code_insee"])
        elif value("adresse"):
            found = _commune_of_address(value("commune"), value("code_postal"), by_name)
            if found is None:
                msg = (
                    f"commune introuvable d'après la commune {value('commune')!r} et le code postal "
                    f"{value('code_postal')!r} : donner code_insee ou lat/lon"
                )
                raise ValidationError(msg, file=table.file, row=row, field=columns["commune"] or columns["adresse"])
            commune, position = found, "adresse"
        else:
            msg = "aucune position : donner lat/lon, code_insee ou adresse"
            raise ValidationError(msg, file=table.file, row=row, field=columns["code_insee"] or "code_insee")
        records.append(
            {
                "row": row,
                "name": name,
                "commune_code": commune,
                "position": position,
                "cost": _amount(value("cout"), file=table.file, row=row, field=columns["cout"] or "cout"),
                "capacity": _amount(
                    value("capacite"), file=table.file, row=row, field=columns["capacite"] or "capacite"
                ),
                "geometry": point,
            }
        )
    return gpd.GeoDataFrame(records, geometry="geometry", crs=communes.crs)


def _commune_of_address(name: str, postcode: str, by_name: dict[str, list[str]]) -> str | None:
    """The commune named ``name`` (its département checked against the postcode), else None."""
    found = by_name.get(slug(name), []) if name else []
    if postcode:
        found = [code for code in found if code[:2] == postcode[:2]] or found
    return found[0] if len(found) == 1 else None


def _degrees(text: str, bound: float, *, file: Path, row: int, field: str) -> float:
    """Decimal degrees ("48.11", "48,11") within ``[-bound, bound]``."""
    if not text:
        raise GeometryError("coordonnée vide : donner lat et lon", file=file, row=row, field=field)
    try:
        number = float(text.replace(",", "."))
    except ValueError as exc:
        msg = f"coordonnée illisible {text!r} : attendu des degrés décimaux comme 48.1113"
        raise GeometryError(msg, file=file, row=row, field=field) from exc
    if not -bound <= number <= bound:
        msg = f"coordonnée {text!r} hors de [-{bound:g}, {bound:g}] degrés"
        raise GeometryError(msg, file=file, row=row, field=field)
    return number


def _amount(text: str, *, file: Path, row: int, field: str) -> float:
    """A non-negative number ("12000", "12 000", "1,5"), NaN when empty."""
    if not text:
        return float("nan")
    cleaned = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace(",", ".")
    try:
        number = float(cleaned)
    except ValueError as exc:
        msg = f"nombre illisible {text!r}"
        raise ValidationError(msg, file=file, row=row, field=field) from exc
    if not number >= 0 or number == float("inf"):
        msg = f"{text!r} doit être un nombre positif ou nul"
        raise ValidationError(msg, file=file, row=row, field=field)
    return number


def candidate_frame(candidates: gpd.GeoDataFrame) -> pd.DataFrame:
    """The candidates as the result tables list them (no geometry)."""
    return pd.DataFrame(candidates.drop(columns="geometry"))
