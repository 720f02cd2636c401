"""Write the planners' layers to files: one styled GeoPackage, GeoJSON files or CSV files.

GeoPackage
    One file, every layer in the Région's projected CRS, plus the ``layer_styles`` table
    QGIS reads on opening (the travel-time choropleth, places, isochrones, white zones and
    zonings come styled) and the ``metadonnees`` table (sources, vintages, approximation).
GeoJSON
    One file per layer with geometry, in WGS84 (RFC 7946); tables without geometry go to
    CSV next to them.
CSV
    One file per layer, geometry dropped, for spreadsheets: UTF-8 with a byte-order mark,
    ``;`` separator and decimal comma, the conventions of French spreadsheet software.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import pandas as pd
import pyogrio

from geo.crs import WGS84
from geo.errors import ValidationError

ExportFormat = Literal["gpkg", "geojson", "csv"]

TIME_CLASSES_MIN: tuple[tuple[float, float, str, str], ...] = (
    (0, 10, "0 à 10 min", "255,255,178,255"),
    (10, 20, "10 à 20 min", "254,204,92,255"),
    (20, 30, "20 à 30 min", "253,141,60,255"),
    (30, 45, "30 à 45 min", "240,59,32,255"),
    (45, 100_000, "plus de 45 min", "189,0,38,255"),
)
"""Classes (minutes) and colours (ColorBrewer YlOrRd, colour-blind safe) of the choropleth."""


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
