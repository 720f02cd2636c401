"""Simple horizontal bar charts drawn server-side as inline SVG.

:func:`bar_chart` computes the geometry; the template only draws it
(``templates/macros.html``). Each chart is an image whose text alternative is the data
table it sits next to (``aria-describedby``); the value is also written at the end of
each bar, so colour is never the only carrier of information.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

LABEL_WIDTH = 230
BAR_AREA = 360
VALUE_WIDTH = 80
ROW_HEIGHT = 22
BAR_HEIGHT = 14
TOP = 6


@dataclass(frozen=True)
class Bar:
    """One bar: its label, the value as text and its geometry (SVG user units)."""

    label: str
    value_text: str
    y: float
    width: float
    text_y: float
    text_x: float


@dataclass(frozen=True)
class BarChart:
    """A whole chart."""

    title: str
    bars: tuple[Bar, ...]
    width: int
    height: int
    label_width: int
    label_x: int
    bar_height: int


def bar_chart(
    rows: Sequence[dict[str, Any]],
    *,
    title: str,
    value: str,
    label: str = "name",
    maximum: float | None = None,
    fmt: Callable[[Any], str] = str,
) -> BarChart:
    """Bars of ``row[value]`` labelled ``row[label]``, scaled to ``maximum`` (default: the largest value).

    Rows without a value get an empty bar and the text "–".
    """
    values = [row.get(value) for row in rows]
    top = maximum if maximum is not None else max((v for v in values if v is not None), default=0) or 1
    bars = []
    for index, (row, number) in enumerate(zip(rows, values, strict=True)):
        y = TOP + index * ROW_HEIGHT
        width = 0.0 if number is None else max(0.0, min(1.0, number / top)) * BAR_AREA
        name = str(row.get(label) or "")
        bars.append(
            Bar(
                label=name if len(name) <= 34 else name[:33] + "…",
                value_text=fmt(number) if number is not None else "–",
                y=y,
                width=round(width, 1),
                text_y=y + BAR_HEIGHT - 2,
                text_x=round(LABEL_WIDTH + width + 6, 1),
            )
        )
    return BarChart(
        title=title,
        bars=tuple(bars),
        width=LABEL_WIDTH + BAR_AREA + VALUE_WIDTH,
        height=TOP * 2 + ROW_HEIGHT * len(bars),
        label_width=LABEL_WIDTH,
        label_x=LABEL_WIDTH - 6,
        bar_height=BAR_HEIGHT,
    )
