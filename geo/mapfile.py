"""The shareable map: one self-contained HTML file built with folium, which opens offline.

:func:`build_map_file` takes the layers of :func:`storage.maps.map_layers` (GeoDataFrames in
the Région's projected CRS) and returns the HTML text. What makes the file safe to share:

- **Nothing is fetched.** Leaflet's script and stylesheet (vendored, see
  ``webapp/static/vendor/README.md``) are inlined, its images as ``data:`` URIs; folium's
  default CDN assets (jQuery, Bootstrap, Font Awesome…) are not used; there is **no tile
  layer** (no basemap: the communes and départements drawn are the only background).
- **Data are never markup.** Layer names are escaped (Leaflet's layer control sets them
  as ``innerHTML``). Names come from third-party files: folium inserts popup and
  tooltip strings as raw HTML and evaluates ``${…}`` in some of its templates, so no folium
  popup or tooltip is used. Each feature carries plain text properties, embedded by
  folium's HTML-safe JSON (``<``, ``>``, ``&``, ``'`` as ``\\u…``), and the tooltip is
  built by a fixed function that sets ``textContent``. The page's own text (title, legend,
  the table of communes) is escaped with :func:`html.escape`.
- **Accessible.** ``lang="fr"``, a ``<title>`` and a heading, zoom allowed (folium's
  ``user-scalable=no`` removed), zoom buttons titled in French, the layer control always
  open (radio buttons and checkboxes reachable with the keyboard), a legend in words with
  units, and the same figures as a table of communes (text alternative of the map).

No Flask, no SQL.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import geopandas as gpd
import pandas as pd

from geo.french import NBSP, duration, typography
from geo.maps import TIME_COLOURS, UNREACHED_COLOUR, _classify, _dissolve, simplify, time_classes

if TYPE_CHECKING:
    from branca.element import Figure, MacroElement

Style = Callable[[Any], dict[str, Any]]
"""A folium ``style_function``: a feature to its Leaflet path options."""

WGS84 = "EPSG:4326"
SIMPLIFY_M = 400.0
"""Simplification of the polygons (metres): small file, outlines still recognisable at the
zooms a Région is read at."""

TOOLTIP_JS = """function (feature, layer) {
    layer.bindTooltip(function () {
        var box = document.createElement('div');
        box.textContent = feature.properties.texte;
        return box;
    }, {sticky: true});
}"""
"""Every tooltip: the feature's ``texte`` property as text (never parsed as HTML)."""


@dataclass(frozen=True)
class LeafletAssets:
    """Leaflet's script and stylesheet as text, the stylesheet's images inlined."""

    js: str
    css: str

    @classmethod
    def from_dir(cls, directory: Path) -> LeafletAssets:
        """Read ``leaflet.js``, ``leaflet.css`` and ``images/*.png`` from ``directory`` (the
        vendored copy); every ``url(images/x.png)`` of the stylesheet becomes a data URI."""
        css = (directory / "leaflet.css").read_text(encoding="utf-8")

        def inline(match: re.Match[str]) -> str:
            data = (directory / "images" / match.group(1)).read_bytes()
            return f"url(data:image/png;base64,{base64.b64encode(data).decode('ascii')})"

        css = re.sub(r"url\(images/([\w.-]+\.png)\)", inline, css)
        return cls(js=(directory / "leaflet.js").read_text(encoding="utf-8"), css=css)


def _text(value: object) -> str:
    """Escaped HTML text, with French typography (no-break spaces before « : » and units)."""
    return html.escape(typography(str(value)), quote=True)


def _script_safe(code: str) -> str:
    """Script text that cannot end its ``<script>`` element early."""
    return code.replace("</", "<\\/")


def _geojson(frame: gpd.GeoDataFrame, columns: list[str]) -> dict[str, Any]:
    """``frame`` (geometry and ``columns``) as a GeoJSON mapping in WGS84, coordinates
    rounded to 4 decimals (about 10 m, well under the simplification)."""
    import shapely

    data = frame[[*columns, "geometry"]].to_crs(WGS84)
    data = data.set_geometry(shapely.set_precision(data.geometry.to_numpy(), 1e-4))
    return data.__geo_interface__


def build_map_file(
    layers: Mapping[str, Any],
    *,
    title: str,
    leaflet: LeafletAssets,
    mode_phrase: str,
    note: str = "",
) -> str:
    """The shareable map as one HTML document (UTF-8 text).

    Layers (choose one): the time from each commune to the nearest place of each category of
    ``layers["categories"]`` (any place, then each mission), in the classes of
    :func:`geo.maps.time_classes`. Overlays (tick): the white zones (communes beyond the
    threshold for at least one mission), the places receiving the public, the
    départements, and the communes (a tooltip gives each commune's times). ``note`` is shown
    under the title (e.g. how the times were computed).
    """
    import folium
    from branca.element import Element

    class OfflineMap(folium.Map):
        """A folium map that links no external script or stylesheet."""

        default_js: list[tuple[str, str]] = []  # noqa: RUF012 - folium's attribute, never mutated
        default_css: list[tuple[str, str]] = []  # noqa: RUF012

    communes = simplify(layers["communes"], SIMPLIFY_M)
    departements = simplify(layers["departements"], SIMPLIFY_M)
    times, categories = layers["times"], layers["categories"]
    bounds = communes.to_crs(WGS84).total_bounds if not communes.empty else (-5.0, 47.0, -1.0, 49.0)
    centre = [(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2]
    fmap = OfflineMap(location=centre, zoom_start=8, tiles=None, zoom_control=False, control_scale=True)
    _french_zoom().add_to(fmap)
    fmap.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    root = cast("Figure", fmap.get_root())
    root.header.add_child(Element(f"<style>{leaflet.css}</style>"), name="leaflet_inline_css")
    root.header.add_child(Element(f"<script>{_script_safe(leaflet.js)}</script>"), name="leaflet_inline_js")
    root.header.add_child(Element(f"<style>{PAGE_CSS}</style>"), name="atlas_css")

    classes = time_classes()
    wide = pd.DataFrame({"code": communes["code"]})
    for index, row in enumerate(categories.itertuples(index=False)):
        seconds = times[times["category"] == row.code].set_index("code")["seconds"].astype(float)
        minutes = communes["code"].map(seconds / 60.0)
        klass = _classify(minutes, classes)
        wide[row.code] = communes["code"].map(seconds)
        label = f"{row.label}" + (" (inventaire incomplet)" if row.inventory_incomplete else "")
        group = folium.FeatureGroup(name=_text(f"Temps : {label}"), overlay=False, show=index == 0)
        for position, (_, _, class_label) in enumerate([*classes, (0.0, 0.0, "non atteint")]):
            value = position if position < len(classes) else -1
            subset = communes[klass.to_numpy() == value]
            if subset.empty:
                continue
            shape = gpd.GeoDataFrame(
                {"texte": [f"{label} : {class_label}"]}, geometry=_dissolve(subset), crs=subset.crs
            )
            colour = TIME_COLOURS[value] if value >= 0 else UNREACHED_COLOUR
            folium.GeoJson(
                _geojson(shape, ["texte"]),
                style_function=_fill(colour),
                on_each_feature=folium.JsCode(TOOLTIP_JS),
            ).add_to(group)
        group.add_to(fmap)

    gaps = layers["gaps"]
    missions = gaps[gaps["category"].str.fullmatch(r"mission:[a-z_]+")]
    white_note = ""
    if not missions.empty:
        counts = missions.groupby("code")["category"].nunique()
        threshold = duration(float(missions["threshold_s"].min()))
        white = communes[communes["code"].isin(counts.index)]
        group = folium.FeatureGroup(name=f"Zones blanches (au-delà de {threshold})", overlay=True, show=False)
        folium.GeoJson(
            _geojson(
                gpd.GeoDataFrame({"texte": ["zone blanche"]}, geometry=_dissolve(white), crs=white.crs), ["texte"]
            ),
            style_function=_hatch(),
            interactive=False,
        ).add_to(group)
        group.add_to(fmap)
        wide["zone_blanche"] = communes["code"].map(counts).fillna(0).astype(int)
        white_note = f"au-delà de {threshold} {mode_phrase}"

    if not departements.empty:
        group = folium.FeatureGroup(name="Départements (limites)", overlay=True, show=True)
        folium.GeoJson(
            _geojson(departements.assign(texte=departements["name"].astype(str)), ["texte"]),
            style_function=_outline(),
            interactive=False,
        ).add_to(group)
        group.add_to(fmap)

    texts = communes[["code", "name"]].merge(wide, on="code", how="left")
    commune_text = texts.apply(lambda r: _commune_text(r, categories, white_note), axis=1) if not texts.empty else []
    group = folium.FeatureGroup(name="Communes (survol : temps de chaque commune)", overlay=True, show=True)
    folium.GeoJson(
        _geojson(communes.assign(texte=list(commune_text)), ["texte"]),
        style_function=_outline(weight=0.3, colour="#7f7f7f", fill_opacity=0.0),
        on_each_feature=folium.JsCode(TOOLTIP_JS),
    ).add_to(group)
    group.add_to(fmap)

    # last: the points stay above the communes' (transparent) hover layer
    places = layers["places"]
    if not places.empty:
        points = places.assign(texte=places["name"].astype(str) + " (" + places["partner_label"].astype(str) + ")")
        group = folium.FeatureGroup(name="Lieux accueillant du public", overlay=True, show=True)
        folium.GeoJson(
            _geojson(points, ["texte"]),
            marker=folium.CircleMarker(
                radius=4, weight=1, color="#1b1b1b", fill=True, fill_color="#b34700", fill_opacity=0.9
            ),
            on_each_feature=folium.JsCode(TOOLTIP_JS),
        ).add_to(group)
        group.add_to(fmap)

    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    root.html.add_child(Element(_page_top(title, note, classes, mode_phrase, white_note)), index=0)
    return _finish(root.render(), title, fmap.get_name(), after_map=_table(texts, categories, mode_phrase))


def _french_zoom() -> MacroElement:
    """Leaflet's zoom buttons titled in French, added right after the map is created."""
    from branca.element import MacroElement
    from folium.template import Template

    class FrenchZoom(MacroElement):
        _template = Template(
            "{% macro script(this, kwargs) %}"
            "L.control.zoom({zoomInTitle: 'Zoom avant', zoomOutTitle: 'Zoom arrière'})"
            ".addTo({{ this._parent.get_name() }});"
            "{% endmacro %}"
        )

    return FrenchZoom()


def _fill(colour: str) -> Style:
    return lambda _feature: {"fillColor": colour, "fillOpacity": 0.85, "color": colour, "weight": 0.5}


def _hatch() -> Style:
    return lambda _feature: {
        "fillColor": "#1b1b1b",
        "fillOpacity": 0.35,
        "color": "#1b1b1b",
        "weight": 1.2,
        "dashArray": "4 3",
    }


def _outline(weight: float = 1.5, colour: str = "#1b1b1b", fill_opacity: float = 0.0) -> Style:
    return lambda _feature: {"fill": True, "fillOpacity": fill_opacity, "color": colour, "weight": weight}


def _commune_text(row: pd.Series, categories: pd.DataFrame, threshold: str) -> str:
    """« Commune — Tout lieu : 12 min ; Mission : accueil : 15 min… ; zone blanche pour 2 missions »."""
    parts = [
        f"{c.label} : {duration(row.get(c.code)) if pd.notna(row.get(c.code)) else 'non atteint'}"
        for c in categories.itertuples()
    ]
    white = int(row.get("zone_blanche", 0) or 0)
    if white:
        parts.append(f"zone blanche pour {white} mission(s) sur 4 ({threshold})")
    return f"{row['name']} — " + " ; ".join(parts)


PAGE_CSS = """
body { font-family: system-ui, sans-serif; color: #1b1b1b; }
.atlas-top { position: relative; z-index: 1000; background: #fff; padding: .4rem .8rem; border-bottom: 1px solid #7f7f7f; }
.atlas-top h1 { font-size: 1.2rem; margin: 0 0 .2rem; }
.atlas-top p { margin: .2rem 0; font-size: .9rem; }
.atlas-legend { display: flex; flex-wrap: wrap; gap: .2rem 1rem; list-style: none; padding: 0; margin: .2rem 0; font-size: .9rem; }
.atlas-swatch { display: inline-block; width: 1.1em; height: 1.1em; border: 1px solid #1b1b1b; vertical-align: -.2em; margin-right: .3em; }
.atlas-map { position: relative; height: 72vh; }
.atlas-map > .folium-map { position: absolute; inset: 0; }
.atlas-table { margin: 1rem .8rem; }
.atlas-table table { border-collapse: collapse; font-size: .85rem; }
.atlas-table th, .atlas-table td { border: 1px solid #bdbdbd; padding: .15rem .4rem; text-align: left; }
.leaflet-container:focus-visible, .leaflet-control-layers input:focus-visible, summary:focus-visible { outline: 3px solid #b34700; outline-offset: 2px; }
"""


def _page_top(title: str, note: str, classes: list[tuple[float, float, str]], mode_phrase: str, white_note: str) -> str:
    """The heading, the note, the legend in words and how to use the map (escaped text)."""
    swatches = "".join(
        f'<li><span class="atlas-swatch" style="background:{colour}"></span>{_text(label)}</li>'
        for colour, (_, _, label) in zip(TIME_COLOURS, classes, strict=True)
    )
    swatches += f'<li><span class="atlas-swatch" style="background:{UNREACHED_COLOUR}"></span>non atteint</li>'
    legend = f"Légende : temps {mode_phrase} du bourg de chaque commune au lieu le plus proche (minutes)."
    white = (
        f"Couche « Zones blanches » : grisé sombre à bord tireté, les communes {white_note} pour au moins une "
        "mission (le survol d'une commune dit pour combien)."
    )
    usage = (
        "Choisissez la mission et les couches dans le panneau en haut à droite de la carte (clavier : Tab, puis "
        "Espace). Sans fond de carte : ce fichier ne charge rien depuis Internet. Les mêmes chiffres sont dans le "
    )
    return (
        '<header class="atlas-top">'
        f"<h1>{_text(title)}</h1>"
        + (f"<p>{_text(note)}</p>" if note else "")
        + f'<p id="legende-titre">{_text(legend)}</p>'
        + f'<ul class="atlas-legend" aria-labelledby="legende-titre">{swatches}</ul>'
        + (f"<p>{_text(white)}</p>" if white_note else "")
        + f'<p>{_text(usage)}<a href="#tableau-communes">tableau des communes</a> sous la carte.</p>'
        "</header>"
    )


def _table(texts: pd.DataFrame, categories: pd.DataFrame, mode_phrase: str) -> str:
    head = "".join(f'<th scope="col">{_text(c.label)} (min)</th>' for c in categories.itertuples())
    rows = []
    for values in texts.to_dict("records"):  # not itertuples: it renames « mission:accueil »
        cells = "".join(
            f"<td>{_text(duration(values.get(c.code)) if pd.notna(values.get(c.code)) else 'non atteint')}</td>"
            for c in categories.itertuples()
        )
        rows.append(f'<tr><th scope="row">{_text(values["name"])} ({_text(values["code"])})</th>{cells}</tr>')
    return (
        '<section class="atlas-table" aria-labelledby="tableau-communes">'
        f'<h2 id="tableau-communes">Tableau des communes : temps {_text(mode_phrase)} jusqu\'au lieu le plus proche</h2>'
        f"<details><summary>Afficher les {len(rows)} communes</summary>"
        f'<table><thead><tr><th scope="col">Commune</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
        "</details></section>"
    )


def _finish(document: str, title: str, map_name: str, *, after_map: str) -> str:
    """folium's page made accessible: language, title, zoom allowed, the map in a labelled
    region after the heading, then ``after_map`` (the table), all in ``<main>``. Each replacement must happen (a folium upgrade that changes its
    template fails here, loudly)."""
    replacements = [
        ("<html>", '<html lang="fr">'),
        ("<head>", f'<head>\n<meta charset="utf-8">\n<title>{_text(title)}</title>'),
        (
            'content="width=device-width,\n                initial-scale=1.0, maximum-scale=1.0, user-scalable=no"',
            'content="width=device-width, initial-scale=1"',
        ),
        ("L.control.scale()", "L.control.scale({imperial: false})"),  # kilometres only
    ]
    for old, new in replacements:
        if old not in document:
            msg = f"folium's page changed: {old!r} not found"
            raise RuntimeError(msg)
        document = document.replace(old, new, 1)
    opening = re.search(rf'<div class="folium-map" id="{map_name}" >\s*</div>', document)
    if opening is None:
        msg = "folium's page changed: the map's <div> not found"
        raise RuntimeError(msg)
    region = (
        f'<main><div class="atlas-map" role="region" aria-label="Carte{NBSP}: {_text(title)} (tableau des communes sous la carte)">'
        f"{opening.group(0)}</div>{after_map}</main>"
    )
    return document[: opening.start()] + region + document[opening.end() :]
