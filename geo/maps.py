"""Static maps and distribution charts drawn with matplotlib as accessible inline SVG, for the
printed report (they print and need no JavaScript).

Everything here takes (Geo)DataFrames in a projected CRS (metres; the Région's, never a
hard-coded one) and returns :class:`Figure` objects whose ``svg`` is markup ready to be
inlined in an HTML page: ``role="img"``, a ``<title>`` and a ``<desc>`` (what the map
shows, in words), a legend with units, identifiers prefixed by the figure's key (several
figures on one page never share an identifier). No Flask, no SQL.

Colours: the travel-time classes use ColorBrewer's sequential "YlGnBu" scheme (safe for
the common colour-blindnesses, lightness increasing with the time so that it reads in
grey); communes never reached carry a hatch, not a colour only.
"""

from __future__ import annotations

import io
import itertools
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.coverage import union_of_tiles
from geo.french import NBSP, number
from geo.vocabulary import SHARE_MINUTES

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure as MplFigure

TIME_COLOURS: tuple[str, ...] = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
"""One colour per time class (light = near, dark = far): YlGnBu, 5 classes."""
UNREACHED_COLOUR = "#d9d9d9"
OUTLINE = "#1b1b1b"
SIMPLIFY_M = 250.0
"""Default simplification tolerance (metres): invisible at A4 scale for a Région, about 5
times fewer vertices, so that a map renders and weighs little."""
WIDTH_IN = 6.3
"""Figure width (inches): the text width of an A4 page with 2 cm margins."""

_PATH_NUMBER = re.compile(r"(?<=[ MLCZz])(-?\d+\.\d)\d+")
_LOCK = threading.Lock()


def _first_group(match: re.Match[str]) -> str:
    return match.group(1)


"""matplotlib's settings are process-wide: one figure is written at a time."""


@dataclass(frozen=True)
class Figure:
    """A rendered figure: its key (used as an identifier prefix), title, text description
    and SVG markup."""

    key: str
    title: str
    description: str
    svg: str


def time_classes(minutes: Sequence[int] = SHARE_MINUTES) -> list[tuple[float, float, str]]:
    """``(low, high, label)`` of the travel-time classes, in minutes (``high`` is inf for the last)."""
    bounds = [0.0, *map(float, minutes), float("inf")]
    labels = [f"moins de {minutes[0]}{NBSP}min"]
    labels += [f"{low} à {high}{NBSP}min" for low, high in itertools.pairwise(minutes)]
    labels.append(f"{minutes[-1]}{NBSP}min et plus")
    return [(bounds[i], bounds[i + 1], labels[i]) for i in range(len(labels))]


def simplify(frame: gpd.GeoDataFrame, tolerance_m: float = SIMPLIFY_M) -> gpd.GeoDataFrame:
    """The polygons simplified as a coverage (neighbours keep a shared edge: no slivers nor
    gaps), ``tolerance_m`` in the units of the projected CRS (metres)."""
    if frame.empty:
        return frame
    try:
        geometry = frame.geometry.simplify_coverage(tolerance_m)
    except Exception:
        geometry = frame.geometry.simplify(tolerance_m, preserve_topology=True)
    return frame.set_geometry(geometry)


def _dissolve(frame: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """The polygons of ``frame`` merged into one shape (a coverage union: fast, and one path
    instead of one per commune, which keeps the SVG small)."""
    return gpd.GeoSeries([union_of_tiles(frame.geometry.to_numpy())], crs=frame.crs)


def _new_figure(height_in: float) -> MplFigure:
    from matplotlib.figure import Figure as MplFigure

    return MplFigure(figsize=(WIDTH_IN, height_in))  # cropped when written (bbox_inches="tight")


def _to_svg(figure: MplFigure, key: str, title: str, description: str) -> str:
    """The figure as inline SVG markup with ``role="img"``, title and description, and every
    identifier prefixed by ``key``."""
    import matplotlib

    buffer = io.StringIO()
    with _LOCK, matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": key}):
        figure.savefig(
            buffer,
            format="svg",
            bbox_inches="tight",
            pad_inches=0.04,
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
        )
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = _PATH_NUMBER.sub(_first_group, text)  # path coordinates to 0.1 pt (0.04 mm): a third of the size
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.DOTALL)
    text = re.sub(r"<style[^>]*>.*?</style>", "", text, flags=re.DOTALL)
    text = _STYLE.sub(_presentation_attributes, text)
    text = text.replace('id="', f'id="{key}-').replace("url(#", f"url(#{key}-").replace('href="#', f'href="#{key}-')
    head_end = text.index(">") + 1
    head = re.sub(r'\s(width|height)="[^"]*"', "", text[:head_end])
    head = head.replace(
        "<svg",
        f'<svg stroke-linejoin="round" stroke-linecap="butt" role="img" aria-labelledby="{key}-titre {key}-desc" focusable="false" class="static-map"',
        1,
    )
    return (
        f'{head}<title id="{key}-titre">{escape(title)}</title><desc id="{key}-desc">{escape(description)}</desc>'
        + text[head_end:]
    )


_STYLE = re.compile(r'\sstyle="([^"]*)"')
_FONTS = re.compile(r"'DejaVu Sans'[^;]*sans-serif")


def _presentation_attributes(match: re.Match[str]) -> str:
    """``style="fill: #fff; stroke: #000"`` as SVG presentation attributes (``fill="#fff"
    stroke="#000"``): the pages' Content-Security-Policy (``style-src 'self'``) ignores
    inline styles, not attributes. matplotlib only writes properties that exist as
    attributes (fill, stroke*, opacity, font-size, font-family, text-anchor, clip-path)."""
    attributes = []
    for declaration in _FONTS.sub("'DejaVu Sans', Arial, sans-serif", match.group(1)).split(";"):
        name, _, value = declaration.partition(":")
        if name.strip() and value.strip():
            attributes.append(f' {name.strip()}="{value.strip()}"')
    return "".join(attributes)


def _classify(minutes: pd.Series, classes: list[tuple[float, float, str]]) -> pd.Series:
    """Index of the class of each time (minutes), -1 when unknown (never reached)."""
    values = minutes.to_numpy(dtype=float)
    result = np.full(values.shape, -1, dtype=int)
    for index, (low, high, _) in enumerate(classes):
        result[(values >= low) & (values < high)] = index
    return pd.Series(result, index=minutes.index)


def _frame_axes(axes: Axes, frame: gpd.GeoDataFrame) -> None:
    axes.set_axis_off()
    axes.set_aspect("equal")
    if not frame.empty:
        minx, miny, maxx, maxy = frame.total_bounds
        axes.set_xlim(minx, maxx)
        axes.set_ylim(miny, maxy)


def time_map(
    communes: gpd.GeoDataFrame,
    seconds: pd.Series,
    *,
    key: str,
    title: str,
    mode_phrase: str,
    outlines: gpd.GeoDataFrame | None = None,
    note: str = "",
) -> Figure:
    """Choropleth of the time (``seconds`` indexed by commune code, NaN = not reached) from
    each commune to its nearest place, in the classes of :func:`time_classes`.

    ``communes`` has ``code`` and ``population`` and (simplified) polygons; ``outlines``
    (e.g. départements) are drawn on top. ``note`` is added to the description (e.g. «
    temps approximatifs »).
    """
    classes = time_classes()
    frame = communes.assign(minutes=communes["code"].map(seconds / 60.0))
    frame["klass"] = _classify(frame["minutes"], classes)
    figure = _new_figure(5.2)
    axes = figure.add_subplot()
    from matplotlib.patches import Patch

    handles = []
    population = frame["population"].astype(float)
    total = float(population.sum()) or 1.0
    parts = []
    for index, (_, _, label) in enumerate(classes):
        subset = frame[frame["klass"] == index]
        if not subset.empty:
            _dissolve(subset).plot(ax=axes, color=TIME_COLOURS[index], linewidth=0)
        share = float(population[frame["klass"] == index].sum()) / total
        handles.append(Patch(facecolor=TIME_COLOURS[index], edgecolor=OUTLINE, linewidth=0.4, label=label))
        parts.append(f"{label} : {len(subset)} communes ({number(share * 100, 1)}{NBSP}% des habitants)")
    unreached = frame[frame["klass"] == -1]
    if not unreached.empty:
        _dissolve(unreached).plot(ax=axes, facecolor=UNREACHED_COLOUR, edgecolor="#555555", linewidth=0.2, hatch="////")
        handles.append(Patch(facecolor=UNREACHED_COLOUR, edgecolor="#555555", hatch="////", label="non atteint"))
        parts.append(f"non atteint : {len(unreached)} communes")
    if outlines is not None and not outlines.empty:
        outlines.boundary.plot(ax=axes, color=OUTLINE, linewidth=0.6)
    _frame_axes(axes, frame)
    axes.legend(
        handles=handles,
        title=f"Temps {mode_phrase} (minutes)",
        loc="lower left",
        fontsize=7,
        title_fontsize=7.5,
        frameon=True,
    )
    description = (
        f"Carte des communes colorées selon le temps {mode_phrase} jusqu'au lieu le plus proche. "
        + " ; ".join(parts)
        + "."
        + (f" {note}" if note else "")
    )
    return Figure(key, title, description, _to_svg(figure, key, title, description))


def count_map(
    communes: gpd.GeoDataFrame,
    counts: pd.Series,
    *,
    key: str,
    title: str,
    legend_title: str,
    maximum: int,
    outlines: gpd.GeoDataFrame | None = None,
    note: str = "",
) -> Figure:
    """Choropleth of a small count per commune (``counts`` indexed by code, 0 when absent),
    e.g. the number of missions for which a commune lies in a white zone (0 to ``maximum``).
    0 is white; 1 to ``maximum`` darken (YlGnBu, readable in grey)."""
    frame = communes.assign(count=communes["code"].map(counts).fillna(0).astype(int))
    palette = ["#ffffff", *TIME_COLOURS[1 : maximum + 1]] if maximum <= 4 else ["#ffffff", *TIME_COLOURS]
    figure = _new_figure(5.2)
    axes = figure.add_subplot()
    from matplotlib.patches import Patch

    handles, parts = [], []
    population = frame["population"].astype(float)
    for value in range(maximum + 1):
        subset = frame[frame["count"] == value]
        colour = palette[min(value, len(palette) - 1)]
        if not subset.empty:
            _dissolve(subset).plot(ax=axes, color=colour, linewidth=0)
        handles.append(Patch(facecolor=colour, edgecolor=OUTLINE, linewidth=0.4, label=str(value)))
        inhabitants = number(population[frame["count"] == value].sum())
        parts.append(f"{value} : {len(subset)} communes, {inhabitants} habitants")
    if outlines is not None and not outlines.empty:
        outlines.boundary.plot(ax=axes, color=OUTLINE, linewidth=0.6)
    _frame_axes(axes, frame)
    axes.legend(handles=handles, title=legend_title, loc="lower left", fontsize=7, title_fontsize=7.5)
    description = (
        f"Carte des communes : {legend_title.lower()}. " + " ; ".join(parts) + "." + (f" {note}" if note else "")
    )
    return Figure(key, title, description, _to_svg(figure, key, title, description))


def zones_map(zones: gpd.GeoDataFrame, *, key: str, title: str, outlines: gpd.GeoDataFrame | None = None) -> Figure:
    """The zones of one zoning (``zone_id``, ``name``), outlined and numbered: each zone's
    identifier is written at a point inside it (the list of names is in the report's table)."""
    figure = _new_figure(5.2)
    axes = figure.add_subplot()
    greys = ("#f0f0f0", "#d9d9d9", "#bdbdbd", "#969696")
    frame = zones.reset_index(drop=True)
    colours = [greys[i % len(greys)] for i in range(len(frame))]
    if not frame.empty:
        frame.plot(ax=axes, color=colours, edgecolor=OUTLINE, linewidth=0.5)
        for point, label in zip(frame.geometry.representative_point(), frame["zone_id"], strict=True):
            axes.annotate(str(label), (point.x, point.y), ha="center", va="center", fontsize=6, color=OUTLINE)
    if outlines is not None and not outlines.empty:
        outlines.boundary.plot(ax=axes, color=OUTLINE, linewidth=1.0)
    _frame_axes(axes, frame)
    names = " ; ".join(f"{z} : {n}" for z, n in zip(frame["zone_id"], frame["name"], strict=True))
    description = f"Carte des {len(frame)} zones, chacune marquée de son identifiant. {names}."
    return Figure(key, title, description, _to_svg(figure, key, title, description))


def distribution_chart(
    communes: pd.DataFrame,
    seconds: pd.Series,
    *,
    by: str,
    names: pd.Series,
    key: str,
    title: str,
    mode_phrase: str,
) -> Figure:
    """Distribution of the communes' times (minutes) per territory: one row per territory
    (``communes[by]``, labelled by ``names`` indexed by the same codes), a box from the
    first to the third quartile with the median, whiskers from the 5th to the 95th
    percentile, and each commune as a dot. Rows are ordered by median, farthest first;
    unreached communes are counted in the description, not drawn."""
    frame = pd.DataFrame({"group": communes[by].to_numpy(), "minutes": communes["code"].map(seconds / 60.0).to_numpy()})
    reached = frame.dropna(subset=["minutes"])
    groups = [
        (code, values["minutes"].to_numpy())
        for code, values in reached.groupby("group", sort=False)
        if code is not None and len(values)
    ]
    groups.sort(key=lambda item: (float(np.median(item[1])), str(item[0])))
    height = max(1.6, 0.7 + 0.14 * len(groups))
    figure = _new_figure(height)
    axes = figure.add_subplot()
    labels = [str(names.get(code, code)) for code, _ in groups]
    data = [values for _, values in groups]
    parts = []
    if data:
        axes.boxplot(
            data,
            orientation="horizontal",
            whis=(5, 95),
            showfliers=False,
            widths=0.6,
            patch_artist=True,
            boxprops={"facecolor": TIME_COLOURS[1], "edgecolor": OUTLINE, "linewidth": 0.6},
            medianprops={"color": OUTLINE, "linewidth": 1.4},
            whiskerprops={"color": OUTLINE, "linewidth": 0.6},
            capprops={"color": OUTLINE, "linewidth": 0.6},
        )
        rng = np.random.default_rng(0)  # the same jitter on every rendering
        xs = np.concatenate(data)
        ys = np.repeat(np.arange(1, len(data) + 1), [len(v) for v in data]) + rng.uniform(-0.18, 0.18, len(xs))
        axes.scatter(xs, ys, s=2, color="#253494", alpha=0.6, linewidths=0, zorder=3)  # one collection: fast
        for position, values in enumerate(data, start=1):
            q1, median, q3 = np.percentile(values, [25, 50, 75])
            parts.append(
                f"{labels[position - 1]} : médiane {number(median, 0)}{NBSP}min, "
                f"moitié des communes entre {number(q1, 0)} et {number(q3, 0)}{NBSP}min, "
                f"maximum {number(values.max(), 0)}{NBSP}min"
            )
        axes.set_yticks(range(1, len(labels) + 1), labels, fontsize=7)
    axes.set_xlabel(f"Temps {mode_phrase} jusqu'au lieu le plus proche (minutes)", fontsize=7.5)
    axes.tick_params(axis="x", labelsize=7)
    axes.set_xlim(left=0)
    axes.grid(axis="x", color="#d9d9d9", linewidth=0.5)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    unreached = int(frame["minutes"].isna().sum())
    description = (
        "Chaque ligne est un territoire ; chaque point une commune ; la boîte va du premier au troisième quartile "
        "des communes, le trait épais est la médiane, les moustaches vont du 5e au 95e centile. "
        + " ; ".join(parts)
        + "."
        + (f" {unreached} communes non atteintes ne sont pas dessinées." if unreached else "")
    )
    return Figure(key, title, description, _to_svg(figure, key, title, description))


def report_figures(layers: Mapping[str, Any], *, mode_phrase: str) -> dict[str, Any]:
    """Every figure of the report from the layers of :func:`storage.maps.map_layers`:

    ``time_maps`` (one per category: any place, then each mission), ``white_zones`` (number
    of missions out of reach per commune, or None without white zones), ``zone_maps`` (one
    per zoning) and ``distributions`` (commune times per département and per EPCI, any place).
    """
    communes = simplify(layers["communes"])
    outlines = simplify(layers["departements"])
    times = layers["times"]
    categories = layers["categories"]
    approximate = "Temps approximatifs (ordres de grandeur)." if layers.get("approximate") else ""
    time_maps = []
    for row in categories.itertuples(index=False):
        seconds = times[times["category"] == row.code].set_index("code")["seconds"].astype(float)
        incomplete = (
            " Inventaire incomplet : des lieux manquent, les temps réels peuvent être plus courts."
            if row.inventory_incomplete
            else ""
        )
        key = "carte-" + row.code.replace(":", "-")
        title = f"Temps {mode_phrase} jusqu'au lieu le plus proche : {row.label}" + (
            " (inventaire incomplet)" if row.inventory_incomplete else ""
        )
        time_maps.append(
            time_map(
                communes,
                seconds,
                key=key,
                title=title,
                mode_phrase=mode_phrase,
                outlines=outlines,
                note=(approximate + incomplete).strip(),
            )
        )
    gaps = layers["gaps"]
    missions = gaps[gaps["category"].str.fullmatch(r"mission:[a-z_]+")]
    white = None
    if not missions.empty:
        counts = missions.groupby("code")["category"].nunique()
        threshold = number(float(missions["threshold_s"].min()) / 60, 0)
        white = count_map(
            communes,
            counts,
            key="carte-zones-blanches",
            title=f"Zones blanches : missions hors d'atteinte à plus de {threshold}{NBSP}min {mode_phrase}",
            legend_title=f"Missions au-delà de {threshold}{NBSP}min (sur 4)",
            maximum=4,
            outlines=outlines,
            note=approximate,
        )
    zone_maps = {}
    zones = layers["zones"]
    for zoning_id, frame in zones.groupby("zoning_id", sort=True):
        label = str(frame["zoning_label"].iloc[0])
        zone_maps[str(zoning_id)] = zones_map(
            simplify(frame),
            key=f"carte-zonage-{re.sub(r'[^A-Za-z0-9_-]', '-', str(zoning_id))}",
            title=f"Zonage « {label} »",
            outlines=outlines,
        )
    any_seconds = times[times["category"] == "any"].set_index("code")["seconds"].astype(float)
    distributions = []
    if not any_seconds.empty:
        departement_names = layers["departements"].set_index("code")["name"]
        distributions.append(
            distribution_chart(
                communes,
                any_seconds,
                by="departement",
                names=departement_names,
                key="distribution-departements",
                title=f"Temps {mode_phrase} des communes jusqu'au lieu le plus proche, par département",
                mode_phrase=mode_phrase,
            )
        )
        epci_names = layers.get("epci_names")
        distributions.append(
            distribution_chart(
                communes,
                any_seconds,
                by="epci",
                names=epci_names if epci_names is not None else pd.Series(dtype=str),
                key="distribution-epci",
                title=f"Temps {mode_phrase} des communes jusqu'au lieu le plus proche, par intercommunalité",
                mode_phrase=mode_phrase,
            )
        )
    return {"time_maps": time_maps, "white_zones": white, "zone_maps": zone_maps, "distributions": distributions}
