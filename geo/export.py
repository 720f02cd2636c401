"""Write the planners' layers to files: one styled GeoPackage, GeoJSON files or CSV files.

GeoPackage
    One file, every layer in the Région's projected CRS, plus the ``layer_styles`` table
    QGIS reads on opening (the travel-time choropleth, places, isochrones, white zones and
    zonings come styled), the ``inventaire`` table (per partner type: places loaded and
    expected, completeness, share at the building, vintages) and the ``metadonnees`` table
    (sources, vintages, approximation).
GeoJSON
    One file per layer with geometry, in WGS84 (RFC 7946); tables without geometry go to
    CSV next to them.
CSV
    One file per layer, geometry dropped, for spreadsheets: UTF-8 with a byte-order mark,
    ``;`` separator and decimal comma, the conventions of French spreadsheet software.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import pandas as pd
import pyogrio

from geo.analysis.inventory import INCOMPLETE_LABEL, TypeInventory
from geo.crs import WGS84
from geo.errors import ValidationError
from geo.french import APPROXIMATE_TIMES as APPROXIMATE_FR
from geo.vocabulary import SHARE_MINUTES

ExportFormat = Literal["gpkg", "geojson", "csv"]

EXPORT_FORMATS: dict[str, ExportFormat] = {"gpkg": "gpkg", "geojson": "geojson", "csv": "csv"}
"""The export formats, by name."""

TIME_CLASS_COLOURS: tuple[str, ...] = (
    "255,255,178,255",
    "254,204,92,255",
    "253,141,60,255",
    "240,59,32,255",
    "189,0,38,255",
)
"""Colours of the choropleth's classes (ColorBrewer YlOrRd, colour-blind safe), shortest first."""

TIME_CLASSES_MIN: tuple[tuple[float, float, str, str], ...] = tuple(
    (low, high, f"{low} à {high} min" if high < 100_000 else f"plus de {low} min", colour)
    for (low, high), colour in zip(itertools.pairwise((0, *SHARE_MINUTES, 100_000)), TIME_CLASS_COLOURS, strict=True)
)
"""Classes (minutes: the thresholds of the reported shares) and colours of the choropleth."""


LAYER_NAMES: tuple[str, ...] = (
    "communes",
    "lieux",
    "isochrones",
    "zones_blanches",
    "zonages",
    "indicateurs_territoires",
    "inventaire",
    "indicateurs_communes",
    "metadonnees",
)
"""Layers of an export, in the order they are written (optional ones only when not empty)."""


def planner_layers(tables: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """The layers a planner opens, from the stored tables (:func:`storage.export.export_tables`).

    Columns are named in French (snake_case) and times are in minutes. The ``communes``
    layer carries, per mode and main category (:data:`geo.vocabulary.MAIN_CATEGORIES`),
    the time to the nearest place (``t_<mode>_<category>``, minutes, one decimal) and
    its name (``lieu_<mode>_<category>``), the number of partner networks within 30
    minutes and the 2SFCA ratio for ``any`` (``reseaux_30min_<mode>``,
    ``ratio_2sfca_<mode>``), whether that mode's times are approximate
    (``approximatif_<mode>``) and whether one of them crosses by boat (``bateau_<mode>``,
    « dont traversée en bateau »; per category in ``indicateurs_communes.bateau``).

    Returns
    -------
    dict
        Layer name -> (Geo)DataFrame, in the order of :data:`LAYER_NAMES`; ``communes``,
        ``lieux`` and ``metadonnees`` always, the others only when they have rows.
    """
    communes = tables["communes"].rename(columns={"name": "nom"})
    access = tables["access"]
    if not access.empty:
        access = access.assign(
            key=access["mode"] + "_" + access["category"].str.replace(":", "_"), minutes=_minutes(access["seconds"])
        )
        minutes = access.pivot(index="code", columns="key", values="minutes").astype(float).round(1)
        minutes.columns = [f"t_{key}" for key in minutes.columns]
        names = access.pivot(index="code", columns="key", values="structure_name")
        names.columns = [f"lieu_{key}" for key in names.columns]
        choice = access[access["category"] == "any"].pivot(
            index="code", columns="mode", values=["n_operators_30", "fca"]
        )
        choice.columns = [
            f"{'reseaux_30min' if kind == 'n_operators_30' else 'ratio_2sfca'}_{mode}" for kind, mode in choice.columns
        ]
        approximate = access.pivot_table(index="code", columns="mode", values="approximate", aggfunc="max")
        approximate.columns = [f"approximatif_{mode}" for mode in approximate.columns]
        ferry = access.assign(ferry=access["ferry"].fillna(False).astype(bool)).pivot_table(
            index="code", columns="mode", values="ferry", aggfunc="max"
        )
        ferry.columns = [f"bateau_{mode}" for mode in ferry.columns]
        wide = minutes.join(names).join(choice).join(approximate).join(ferry)
        communes = communes.merge(wide, left_on="code", right_index=True, how="left")
    places = tables["places"].assign(
        missions=lambda f: f["missions"].map(", ".join), publics=lambda f: f["publics"].map(", ".join)
    )
    layers: dict[str, pd.DataFrame] = {
        "communes": communes,
        "lieux": places.rename(
            columns={
                "name": "nom",
                "partner_label": "type_libelle",
                "address": "adresse",
                "postcode": "code_postal",
                "commune_name": "commune",
                "phone": "telephone",
                "website": "site_web",
                "site_format": "format",
                "geocoding": "geocodage",
                "vintage": "millesime",
            }
        ),
        "isochrones": tables["isochrones"].rename(columns={"name": "nom", "approximate": "approximatif"}),
        "zones_blanches": tables["gaps"]
        .assign(minutes=lambda f: _minutes(f["seconds"]), seuil_minutes=lambda f: _minutes(f["threshold_s"]))[
            [
                "kind",
                "mode",
                "category",
                "commune_code",
                "commune_name",
                "population",
                "minutes",
                "seuil_minutes",
                "approximate",
                "inventory_incomplete",
                "geometry",
            ]
        ]
        .rename(
            columns={
                "kind": "type",
                "category": "categorie",
                "commune_name": "commune",
                "approximate": "approximatif",
                "inventory_incomplete": "inventaire_incomplet",
            }
        ),
        "zonages": tables["zones"].rename(
            columns={
                "zoning_id": "zonage",
                "zoning_label": "zonage_libelle",
                "method": "methode",
                "name": "nom",
                "hub_structure_id": "pole",
                "explanation": "explication",
            }
        ),
        "indicateurs_territoires": tables["indicators"].rename(
            columns={
                "level": "niveau",
                "category": "categorie",
                "population_unreached": "population_non_desservie",
                "mean_min": "moyenne_min",
                "median_min": "mediane_min",
                "share_10": "part_10min",
                "share_20": "part_20min",
                "share_30": "part_30min",
                "share_45": "part_45min",
                "mean_operators_30": "reseaux_30min",
                "mean_fca": "ratio_2sfca",
                "approximate": "approximatif",
                "inventory_incomplete": "inventaire_incomplet",
            }
        ),
        "inventaire": _inventory_layer(tables["facts"]["inventory"]),
        "indicateurs_communes": tables["commune_access"]
        .assign(minutes=lambda f: _minutes(f["seconds"]))[
            [
                "commune_code",
                "mode",
                "category",
                "minutes",
                "structure_id",
                "n_operators_30",
                "fca",
                "approximate",
                "ferry",
                "inventory_incomplete",
            ]
        ]
        .rename(
            columns={
                "category": "categorie",
                "structure_id": "lieu",
                "n_operators_30": "reseaux_30min",
                "fca": "ratio_2sfca",
                "approximate": "approximatif",
                "ferry": "bateau",
                "inventory_incomplete": "inventaire_incomplet",
            }
        ),
        "metadonnees": pd.DataFrame(metadata_rows(tables["facts"]), columns=["cle", "valeur"]),
    }
    always = ("communes", "lieux", "metadonnees")
    return {name: layers[name] for name in LAYER_NAMES if name in always or not layers[name].empty}


def _inventory_layer(inventory: Iterable[TypeInventory]) -> pd.DataFrame:
    """One row per partner type: places loaded and expected, completeness (null for the types
    that receive no public), shares at the building and with hours, vintages."""
    rows = [
        (
            t.partner_type,
            t.label,
            t.receives_public,
            t.n_sites,
            t.n_without_public,
            t.expected,
            t.complete if t.receives_public else None,
            t.share_at_building,
            t.share_with_hours,
            t.vintage_min,
            t.vintage_max,
        )
        for t in inventory
    ]
    columns = [
        "type",
        "libelle",
        "accueil_public",
        "lieux",
        "lieux_sans_accueil_public",
        "lieux_attendus",
        "inventaire_complet",
        "part_au_batiment",
        "part_avec_horaires",
        "millesime_min",
        "millesime_max",
    ]
    return pd.DataFrame(rows, columns=columns).astype(
        {"accueil_public": "boolean", "inventaire_complet": "boolean", "lieux_attendus": "Int64"}
    )


def _minutes(seconds: pd.Series) -> pd.Series:
    """Seconds as minutes (float; NaN where unknown, even when no value is known)."""
    return pd.to_numeric(seconds, errors="coerce").astype(float) / 60


def metadata_rows(facts: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Key/value rows stating sources, vintages, networks and whether times are approximate."""
    rows: list[tuple[str, str]] = [
        ("region", str(facts["region"])),
        ("systeme_de_coordonnees", str(facts["crs"])),
    ]
    if facts["loaded_at"] is not None:
        rows.append(("chargement", facts["loaded_at"].isoformat(timespec="seconds")))
        rows += [(f"source:{path}", f"sha256 {digest}") for path, digest in sorted(facts["files"].items())]
        rows.append(("lignes_rejetees", str(facts.get("rejected_rows", 0))))
    if facts.get("incomplete_categories"):
        rows.append(
            (
                "inventaire_incomplet",
                "chiffres à publier avec la mention « inventaire incomplet » (des types de lieux qu'ils comptent "
                "n'ont pas tous leurs lieux) : " + ", ".join(facts["incomplete_categories"]),
            )
        )
    for entry in facts["inventory"]:
        if not (entry.n_sites or entry.n_without_public):
            continue
        expected = "inconnu" if entry.expected is None else str(entry.expected)
        state = INCOMPLETE_LABEL if entry.receives_public and not entry.complete else "inventaire complet"
        rows.append(
            (
                f"lieux:{entry.partner_type}",
                f"{entry.n_sites} lieux accueillant du public (attendus : {expected}, {state})"
                + (f", {entry.n_without_public} sans accueil du public" if entry.n_without_public else "")
                + f", millésimes {entry.vintages}",
            )
        )
    for run in facts["runs"].itertuples(index=False):
        state = f"APPROXIMATIFS ({APPROXIMATE_FR})" if run.approximate else f"réseau OpenStreetMap {run.network}"
        rows.append((f"temps_{run.mode}", f"{state}, calculés le {run.computed_at:%Y-%m-%d}"))
    rows.append(
        (
            "unites",
            "temps en minutes ; populations : populations légales INSEE ; ratio 2SFCA en lieux pour 10 000 habitants",
        )
    )
    rows.append(("logiciel", "Atlas SPRO"))
    return rows


def write_layers(
    layers: Mapping[str, pd.DataFrame],
    output: str | Path,
    *,
    fmt: ExportFormat,
    time_column: str = "t_drive_any",
) -> list[Path]:
    """Write ``layers`` (name -> DataFrame or GeoDataFrame) to ``output``.

    Parameters
    ----------
    layers
        Layers keyed by name; GeoDataFrames keep their CRS (metres) in the GeoPackage.
    output
        ``.gpkg`` file for ``gpkg`` (replaced if it exists); a directory for ``geojson``
        and ``csv`` (created if needed, files inside replaced).
    fmt
        ``"gpkg"``, ``"geojson"`` or ``"csv"``.
    time_column
        Column of the ``communes`` layer the GeoPackage style colours by.

    Returns
    -------
    list of pathlib.Path
        Files written.
    """
    output = Path(output)
    if fmt == "gpkg":
        if output.suffix.lower() != ".gpkg":
            msg = f"a GeoPackage file name ends with .gpkg, got {output.name}"
            raise ValidationError(msg, file=output)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.unlink(missing_ok=True)
        for name, frame in layers.items():
            pyogrio.write_dataframe(_clean(frame), output, layer=name, driver="GPKG")
        styles = layer_styles(layers, time_column=time_column)
        if not styles.empty:
            pyogrio.write_dataframe(styles, output, layer="layer_styles", driver="GPKG")
        return [output]
    if fmt not in ("geojson", "csv"):
        msg = f"unknown export format {fmt!r}; expected gpkg, geojson or csv"
        raise ValidationError(msg, field="format")
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in layers.items():
        if fmt == "geojson" and isinstance(frame, gpd.GeoDataFrame):
            path = output / f"{name}.geojson"
            path.unlink(missing_ok=True)
            pyogrio.write_dataframe(_clean(frame).to_crs(WGS84), path, driver="GeoJSON", layer=name)
        else:
            path = output / f"{name}.csv"
            table = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
            table.to_csv(path, sep=";", decimal=",", index=False, encoding="utf-8-sig")
        written.append(path)
    return written


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    """Lists and dicts as text, so that every driver accepts them."""
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object and column != "geometry":
            sample = frame[column].dropna()
            if not sample.empty and isinstance(sample.iloc[0], list | dict | tuple):
                frame[column] = frame[column].map(lambda v: None if v is None else str(v))
    return frame


def layer_styles(layers: Mapping[str, pd.DataFrame], *, time_column: str) -> pd.DataFrame:
    """The ``layer_styles`` table of a GeoPackage (QGIS QML styles, used by default)."""
    qml: dict[str, str] = {}
    if "communes" in layers and time_column in layers["communes"].columns:
        qml["communes"] = _graduated_qml(time_column)
    if "lieux" in layers:
        qml["lieux"] = _single_qml("marker", "31,120,180,255", "255,255,255,255")
    if "isochrones" in layers:
        qml["isochrones"] = _single_qml("fill", "31,120,180,40", "31,120,180,255")
    if "zones_blanches" in layers:
        qml["zones_blanches"] = _single_qml("fill", "227,26,28,90", "227,26,28,255")
    if "zonages" in layers:
        qml["zonages"] = _single_qml("fill", "0,0,0,0", "51,51,51,255", outline_width="0.6")
    rows = [
        {
            "f_table_catalog": "",
            "f_table_schema": "",
            "f_table_name": name,
            "f_geometry_column": "geom",
            "styleName": f"atlas_{name}",
            "styleQML": style,
            "styleSLD": "",
            "useAsDefault": True,
            "description": "Style Atlas SPRO",
            "owner": "",
            "ui": "",
        }
        for name, style in qml.items()
    ]
    return pd.DataFrame(rows)


def _symbol(kind: str, name: str, color: str, outline: str, outline_width: str = "0.1") -> str:
    layer_class = "SimpleFill" if kind == "fill" else "SimpleMarker"
    return (
        f'<symbol type="{kind}" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
        f'<layer class="{layer_class}" enabled="1" pass="0" locked="0"><Option type="Map">'
        f'<Option name="color" type="QString" value="{color}"/>'
        f'<Option name="outline_color" type="QString" value="{outline}"/>'
        f'<Option name="outline_width" type="QString" value="{outline_width}"/>'
        '<Option name="style" type="QString" value="solid"/>'
        '<Option name="size" type="QString" value="2.4"/>'
        "</Option></layer></symbol>"
    )


def _graduated_qml(column: str) -> str:
    ranges = "".join(
        f'<range lower="{lo}" upper="{hi}" symbol="{i}" label={quoteattr(label)} render="true"/>'
        for i, (lo, hi, label, _) in enumerate(TIME_CLASSES_MIN)
    )
    symbols = "".join(
        _symbol("fill", str(i), color, "110,110,110,255") for i, (*_, color) in enumerate(TIME_CLASSES_MIN)
    )
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
        '<qgis version="3.28" styleCategories="Symbology">'
        f'<renderer-v2 type="graduatedSymbol" attr={quoteattr(column)} graduatedMethod="GraduatedColor" '
        'symbollevels="0" enableorderby="0" forceraster="0">'
        f"<ranges>{ranges}</ranges><symbols>{symbols}</symbols></renderer-v2></qgis>"
    )


def _single_qml(kind: str, color: str, outline: str, *, outline_width: str = "0.2") -> str:
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
        '<qgis version="3.28" styleCategories="Symbology">'
        '<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
        f"<symbols>{_symbol(kind, '0', color, outline, outline_width)}</symbols></renderer-v2></qgis>"
    )
