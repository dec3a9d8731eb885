"""Charts of published statistics, as SVG (written here) and PNG (drawn with Pillow).

A chart is laid out once as a few primitives (rectangles, polylines, text) on a canvas, then
written out either way, so both formats show the same thing. Charts read only a suppressed
`StatsPublic`: a hidden figure ("<3" or "x") is never drawn as a bar or a point; a trend line
breaks there and a ranked bar chart lists the hidden states, unranked, after the others.

- `monthly_trends`: one line per measure over the months (group_by=month).
- `states_ranked`: one measure's published counts by state, largest first (group_by=state).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFont

from network.stats.models import Dimension, Measure, StatsPublic

PALETTE = ("#1b6ca8", "#d1495b", "#2e8b57", "#edae49", "#6a4c93", "#00798c", "#8d6e63",
           "#444444")
CHART_NAMES = ("monthly_trends", "states_ranked")


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str


@dataclass(frozen=True)
class Polyline:
    points: tuple[tuple[float, float], ...]
    stroke: str
    width: float = 2.0


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    size: int = 12
    anchor: str = "start"  # start, middle, end (of the baseline)
    fill: str = "#222222"


Item = Rect | Polyline | Text


@dataclass
class Canvas:
    width: int
    height: int
    items: list[Item] = field(default_factory=list)


def to_svg(canvas: Canvas) -> str:
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{canvas.width}" '
             f'height="{canvas.height}" viewBox="0 0 {canvas.width} {canvas.height}" '
             'font-family="DejaVu Sans, Arial, sans-serif">',
             f'<rect x="0" y="0" width="{canvas.width}" height="{canvas.height}" '
             'fill="#ffffff"/>']
    for item in canvas.items:
        if isinstance(item, Rect):
            parts.append(f'<rect x="{item.x:.1f}" y="{item.y:.1f}" width="{item.w:.1f}" '
                         f'height="{item.h:.1f}" fill="{item.fill}"/>')
        elif isinstance(item, Polyline):
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in item.points)
            parts.append(f'<polyline points="{points}" fill="none" stroke="{item.stroke}" '
                         f'stroke-width="{item.width}"/>')
        else:
            parts.append(f'<text x="{item.x:.1f}" y="{item.y:.1f}" font-size="{item.size}" '
                         f'text-anchor="{item.anchor}" fill="{item.fill}">'
                         f"{escape(item.text)}</text>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


_PIL_ANCHOR = {"start": "ls", "middle": "ms", "end": "rs"}


def to_png(canvas: Canvas) -> bytes:
    image = Image.new("RGB", (canvas.width, canvas.height), "#ffffff")
    draw = ImageDraw.Draw(image)
    fonts: dict[int, ImageFont.FreeTypeFont | ImageFont.ImageFont] = {}
    for item in canvas.items:
        if isinstance(item, Rect):
            draw.rectangle((item.x, item.y, item.x + item.w, item.y + item.h), fill=item.fill)
        elif isinstance(item, Polyline):
            if len(item.points) > 1:
                draw.line(list(item.points), fill=item.stroke, width=round(item.width))
            else:
                x, y = item.points[0]
                draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=item.stroke)
        else:
            font = fonts.get(item.size)
            if font is None:
                font = fonts[item.size] = ImageFont.load_default(size=item.size)
            draw.text((item.x, item.y), item.text, fill=item.fill, font=font,
                      anchor=_PIL_ANCHOR[item.anchor])
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def integer_ticks(top: int, most: int = 6) -> list[int]:
    """Axis ticks for counts from 0 to at least `top`: equally spaced integers 0, s, 2s, ...

    The step is 1, 2 or 5 times a power of ten, the smallest that needs at most `most` ticks,
    so the last tick is the first multiple of the step at or above `top`. (Matplotlib's
    MaxNLocator(integer=True) does this job; it is not a dependency of Homeward, and these
    few lines are checked by tests/property/test_chart_ticks.py.)
    """
    if most < 2:
        raise ValueError("an axis needs at least two ticks")
    top = max(1, top)
    power = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * power
            count = -(-top // step) + 1  # ceil(top / step) steps, plus the 0 tick
            if count <= most:
                return [step * i for i in range(count)]
        power *= 10


def _require(stats: StatsPublic, dim: Dimension, name: str) -> None:
    if stats.group_by != [dim]:
        raise ValueError(f"{name} needs statistics grouped by {dim.value} alone")


def monthly_trends(stats: StatsPublic, measures: list[Measure]) -> Canvas:
    _require(stats, Dimension.MONTH, "monthly_trends")
    width, height, left, right, top, bottom = 900, 460, 70, 190, 50, 70
    canvas = Canvas(width, height)
    plot_w, plot_h = width - left - right, height - top - bottom
    values = {m: [v[0] if isinstance(v[0], int) else None for v in stats.measures[m].cells]
              for m in measures}
    ticks = integer_ticks(max((v for series in values.values() for v in series if v is not None),
                              default=1))
    peak = ticks[-1]
    canvas.items.append(Text(left, 30, "Monthly trends (published figures; '<3' and 'x' "
                             "hidden)", 15))
    n = max(1, len(stats.rows) - 1)
    x_of = [left + plot_w * i / n for i in range(len(stats.rows))]
    for value in ticks:
        y = top + plot_h - plot_h * value / peak
        canvas.items.append(Polyline(((left, y), (left + plot_w, y)), "#dddddd", 1))
        canvas.items.append(Text(left - 8, y + 4, f"{value:,}", 11, "end"))
    step = max(1, len(stats.rows) // 12)
    for i, month in enumerate(stats.rows):
        if i % step == 0:
            canvas.items.append(Text(x_of[i], top + plot_h + 18, month, 10, "middle"))
    for index, measure in enumerate(measures):
        colour = PALETTE[index % len(PALETTE)]
        run: list[tuple[float, float]] = []
        for i, point in enumerate([*values[measure], None]):
            if point is None:
                if run:
                    canvas.items.append(Polyline(tuple(run), colour))
                run = []
                continue
            run.append((x_of[i], top + plot_h - plot_h * point / peak))
        y = top + 14 + 20 * index
        canvas.items.append(Rect(width - right + 15, y - 9, 12, 12, colour))
        canvas.items.append(Text(width - right + 33, y + 2, measure.value, 12))
    return canvas


def states_ranked(stats: StatsPublic, measure: Measure) -> Canvas:
    _require(stats, Dimension.STATE, "states_ranked")
    table = stats.measures[measure]
    shown = [(state, cell[0]) for state, cell in zip(stats.rows, table.cells, strict=True)]
    published = sorted(((s, v) for s, v in shown if isinstance(v, int) and v > 0),
                       key=lambda item: (-int(item[1]), item[0]))
    hidden = [(s, v) for s, v in shown if not isinstance(v, int)]
    bar_h, left, top = 16, 60, 50
    height = top + bar_h * (len(published) + 1) + 60
    width = 800
    canvas = Canvas(width, height)
    canvas.items.append(Text(left, 30, f"{measure.value} by state, ranked (published figures)",
                             15))
    peak = max((int(v) for _, v in published), default=1)
    plot_w = width - left - 120
    for rank, (state, value) in enumerate(published):
        y = top + rank * bar_h
        length = plot_w * int(value) / peak
        canvas.items.append(Text(left - 8, y + bar_h - 4, state, 11, "end"))
        canvas.items.append(Rect(left, y + 2, max(1.0, length), bar_h - 4, PALETTE[0]))
        canvas.items.append(Text(left + length + 6, y + bar_h - 4, f"{int(value):,}", 11))
    note_y = top + bar_h * len(published) + 30
    if hidden:
        listed = ", ".join(f"{s} ({v})" for s, v in hidden)
        canvas.items.append(Text(left, note_y, "hidden: " + listed[:150], 11, "start",
                                 "#555555"))
    return canvas
