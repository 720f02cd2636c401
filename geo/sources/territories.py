"""Higher territorial levels built from the communes: EPCI, arrondissements, départements, région.

Geometries are dissolved from the reconciled commune polygons (so every level nests
exactly) and populations are the sums of the communes' populations légales. Only the
communes of the Région count: an EPCI straddling two Régions gets the population and the
area of its members inside the Région, and is flagged ``straddles_region``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo.errors import DuplicateError, MissingColumnError, ValidationError
from geo.sources.tables import cell_text, code_text, read_json_list

LEVELS: tuple[str, ...] = ("region", "departement", "arrondissement", "epci", "commune")
"""Territorial levels, from the largest to the smallest."""


def read_epci(path: str | Path) -> pd.DataFrame:
    """Read EPCI with their members (``@etalab/decoupage-administratif`` format).

    Returns
    -------
    pandas.DataFrame
        Columns ``code`` (SIREN), ``name``, ``kind`` (CC, CA, CU, METRO), ``members``
        (list of commune codes, all Régions).
    """
    records = read_json_list(path)
    rows = []
    seen: dict[str, int] = {}
    for i, rec in enumerate(records, start=1):
        for key in ("code", "nom", "membres"):
            if key not in rec:
                msg = f"missing property '{key}'"
                raise MissingColumnError(msg, file=path, row=i, field=key)
        code = code_text(rec["code"])
        if not code:
            msg = "empty EPCI code (SIREN)"
            raise ValidationError(msg, file=path, row=i, field="code")
        if code in seen:
            msg = f"EPCI {code} is listed twice (rows {seen[code]} and {i})"
            raise DuplicateError(msg, file=path, row=i, field="code")
        seen[code] = i
        if not isinstance(rec["membres"], list):
            msg = f"expected a list of member communes, got {type(rec['membres']).__name__}"
            raise ValidationError(msg, file=path, row=i, field="membres")
        members = []
        for member in rec["membres"]:
            member_code = code_text(member.get("code")) if isinstance(member, dict) else None
            if not member_code:
                msg = f"a member without a commune code: {member!r}"
                raise ValidationError(msg, file=path, row=i, field="membres")
            members.append(member_code)
        rows.append({"code": code, "name": cell_text(rec["nom"]), "kind": rec.get("type"), "members": members})
    return pd.DataFrame(rows, columns=["code", "name", "kind", "members"])


def read_named_units(path: str | Path, *, region: str) -> pd.DataFrame:
    """Read a list of départements, arrondissements or régions: ``code, name, chef_lieu``.

    Entries carrying a ``region`` property of another Région are ignored.
    """
    records = read_json_list(path)
    rows = []
    for i, rec in enumerate(records, start=1):
        for key in ("code", "nom"):
            if key not in rec:
                msg = f"missing property '{key}'"
                raise MissingColumnError(msg, file=path, row=i, field=key)
        code = code_text(rec["code"])
        if not code:
            msg = "empty code"
            raise ValidationError(msg, file=path, row=i, field="code")
        if code_text(rec.get("region", region)) != region and code != region:
            continue
        rows.append({"code": code, "name": cell_text(rec["nom"]), "chef_lieu": rec.get("chefLieu")})
    return pd.DataFrame(rows, columns=["code", "name", "chef_lieu"])


def assign_epci(communes: gpd.GeoDataFrame, epci: pd.DataFrame, *, file: str | Path | None = None) -> gpd.GeoDataFrame:
    """Add the ``epci`` column (SIREN, or None for a commune outside any EPCI).

    Raises
    ------
    ValidationError
        When a commune of the Région belongs to two EPCI.
    """
    owner: dict[str, str] = {}
    row_of: dict[str, int] = {}
    for row, (code, members) in enumerate(zip(epci["code"], epci["members"], strict=True), start=1):
        row_of[code] = row
        for member in members:
            if member in owner and owner[member] != code:
                msg = (
                    f"commune {member} is a member of both EPCI {owner[member]} (row {row_of[owner[member]]}) "
                    f"and {code}"
                )
                raise ValidationError(msg, file=file, row=row, field="membres")
            owner[member] = code
    out = communes.copy()
    out["epci"] = [owner.get(c) for c in out["code"]]
    return out


def build_territories(
    communes: gpd.GeoDataFrame,
    *,
    region: pd.DataFrame,
    departements: pd.DataFrame,
    arrondissements: pd.DataFrame,
    epci: pd.DataFrame,
    files: Mapping[str, str | Path] | None = None,
) -> gpd.GeoDataFrame:
    """Dissolve communes into every higher level.

    Parameters
    ----------
    communes
        Reconciled communes with ``code, name, departement, arrondissement, epci,
        population, geometry`` in the Région's projected CRS.
    region, departements, arrondissements, epci
        Names of the units (``code, name``); ``epci`` also has ``kind`` and ``members``.
    files
        Level -> the file each list was read from, named in error messages.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per unit with ``level, code, name, kind, population, n_communes,
        straddles_region, geometry`` (same CRS as ``communes``). Levels are ``region``,
        ``departement``, ``arrondissement`` and ``epci``.
    """
    files = files or {}
    if region.empty:
        msg = "the Région is not in the list of régions"
        raise ValidationError(msg, file=files.get("region"), field="code")
    parts = []
    in_region = set(communes["code"])
    specs = [
        ("region", None, region),
        ("departement", "departement", departements),
        ("arrondissement", "arrondissement", arrondissements),
        ("epci", "epci", epci),
    ]
    keyed_levels = []
    for level, column, names in specs:  # every list is checked before the (costly) dissolves
        keyed = communes.assign(_unit=region["code"].iloc[0] if column is None else communes[column])
        keyed = keyed[keyed["_unit"].notna()]
        names_idx = names.set_index("code")
        unknown = sorted(set(keyed["_unit"]) - set(names_idx.index))
        if unknown:
            example = keyed.loc[keyed["_unit"] == unknown[0], "code"].iloc[0]
            msg = (
                f"{level} code(s) used by communes but absent from the {level} list: {', '.join(unknown)} "
                f"(e.g. commune {example})"
            )
            raise ValidationError(msg, file=files.get(level), field="code")
        keyed_levels.append((level, keyed, names_idx))
    for level, keyed, names_idx in keyed_levels:
        dissolved = keyed.dissolve(by="_unit", aggfunc={"population": "sum", "code": "count"})
        dissolved = dissolved.rename(columns={"code": "n_communes"})
        frame = dissolved.join(names_idx[["name"]], how="left")
        frame["level"] = level
        frame["kind"] = names_idx["kind"].reindex(frame.index) if "kind" in names_idx else None
        if level == "epci":
            members = names_idx["members"].reindex(frame.index)
            frame["straddles_region"] = [bool(set(m) - in_region) for m in members]
        else:
            frame["straddles_region"] = False
        parts.append(frame.reset_index(names="code"))
    result = pd.concat(parts, ignore_index=True)
    result["population"] = result["population"].astype("int64")
    result["n_communes"] = result["n_communes"].astype("int64")
    columns = ["level", "code", "name", "kind", "population", "n_communes", "straddles_region", "geometry"]
    return gpd.GeoDataFrame(result[columns], geometry="geometry", crs=communes.crs)
