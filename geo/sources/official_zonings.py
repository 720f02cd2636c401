"""Official zonings per commune (INSEE): zones d'emploi and bassins de vie.

A CSV (policy of :mod:`geo.sources.tables`) named by ``[territories] zonages`` in the
manifest, one row per commune, with columns ``code_insee``, ``ze2020`` and ``libze2020``
(zone d'emploi 2020: code and name), ``bv2022`` and ``libbv2022`` (bassin de vie 2022),
and optionally ``ze_partie_regionale`` (set for the Breton part of a zone d'emploi that
straddles two Régions, e.g. Redon ``0062-53``). The names are INSEE's: a bassin de vie is
named after its main commune.

These become the built-in zonings ``zone-emploi`` and ``bassin-vie`` of
:data:`OFFICIAL_ZONINGS`, beside the EPCI, arrondissements and départements.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from geo.errors import DuplicateError, MissingColumnError, ValidationError
from geo.french import of_place
from geo.sources.tables import cell_text, read_csv_table, require_columns, require_data_rows

OFFICIAL_ZONINGS: dict[str, tuple[str, str, str]] = {
    "zone-emploi": ("ze2020", "libze2020", "Zone d'emploi"),
    "bassin-vie": ("bv2022", "libbv2022", "Bassin de vie"),
}
"""Built-in zoning id -> (code column, name column, the noun a zone's name starts with:
« Zone d'emploi de Rennes », « Bassin de vie d'Auray »)."""

PART_COLUMN = "ze_partie_regionale"
"""Optional column marking the Région's part of a zone d'emploi shared with another Région."""


def read_official_zonings(path: str | Path, commune_codes: pd.Series | list[str]) -> pd.DataFrame:
    """Read the official zonings of the Région's communes.

    Parameters
    ----------
    path
        The CSV file.
    commune_codes
        Codes of the Région's current communes; rows of other codes are refused (the file
        must describe the communes loaded), communes absent from the file are left without
        an official zone (each then forms a zone of its own, as a commune outside any EPCI).

    Returns
    -------
    pandas.DataFrame
        ``level`` (a key of :data:`OFFICIAL_ZONINGS`), ``commune_code``, ``zone_id``,
        ``name`` (« Zone d'emploi de Rennes », « Bassin de vie d'Auray »; « (partie
        régionale) » appended for a zone d'emploi shared with another Région), one
        row per commune and level having a zone.

    Raises
    ------
    MissingColumnError, ValidationError, DuplicateError
        A missing column, an unknown commune code, a code without name or a commune listed
        twice, naming the file, row and field.
    """
    table = read_csv_table(path)
    required = ["code_insee", *(column for code, name, _ in OFFICIAL_ZONINGS.values() for column in (code, name))]
    require_columns(table, required)
    require_data_rows(table)
    known = {str(code) for code in commune_codes}
    first_row: dict[str, int] = {}
    names: dict[tuple[str, str], tuple[str, int]] = {}
    records = []
    for row, values in table.rows:
        commune = cell_text(values["code_insee"])
        if commune not in known:
            msg = f"code {commune!r} is not a current commune of the Région"
            raise ValidationError(msg, file=table.file, row=row, field="code_insee")
        if commune in first_row:
            msg = f"commune {commune} is listed twice (rows {first_row[commune]} and {row})"
            raise DuplicateError(msg, file=table.file, row=row, field="code_insee")
        first_row[commune] = row
        for level, (code_column, name_column, _noun) in OFFICIAL_ZONINGS.items():
            zone = cell_text(values[code_column])
            name = cell_text(values[name_column])
            if not zone:
                continue
            if not name:
                msg = f"zone {zone} has no name"
                raise MissingColumnError(msg, file=table.file, row=row, field=name_column)
            name = f"{OFFICIAL_ZONINGS[level][2]} {of_place(name)}"
            if level == "zone-emploi" and cell_text(values.get(PART_COLUMN)):
                name = f"{name} (partie régionale)"
            seen = names.setdefault((level, zone), (name, row))
            if seen[0] != name:
                msg = f"zone {zone} is named {seen[0]!r} on row {seen[1]} and {name!r} here"
                raise ValidationError(msg, file=table.file, row=row, field=name_column)
            records.append({"level": level, "commune_code": commune, "zone_id": zone, "name": name})
    return pd.DataFrame(records, columns=["level", "commune_code", "zone_id", "name"])
