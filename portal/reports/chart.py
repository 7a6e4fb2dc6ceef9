"""The uptake chart, drawn on the server as SVG geometry (no script, no style attributes).

The template turns this into an inline ``<svg>`` with presentation attributes only, so it
works under the portal's content security policy and prints as it looks.
"""

from dataclasses import dataclass, field

from flask_babel import format_date

from portal.reports.services import Point

WIDTH, HEIGHT = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 48, 32, 16, 40
Y_TICKS = (0, 25, 50, 75, 100)


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    uptake: list[str] = field(default_factory=list)  # polyline point lists, split at gaps
    target: list[str] = field(default_factory=list)
    dots: list[tuple[float, float, str]] = field(default_factory=list)


def _coords(points: list[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)


def build(series: list[Point]) -> Chart:
    chart = Chart()
    span_x = chart.right - chart.left
    span_y = chart.bottom - chart.top
    step = span_x / max(len(series) - 1, 1)

    def y_for(percent: float) -> float:
        return chart.bottom - span_y * max(0.0, min(percent, 100.0)) / 100

    chart.y_ticks = [(y_for(t), f"{t}%") for t in Y_TICKS]
    every = max(1, round(len(series) / 8))
    for i, point in enumerate(series):
        if i % every == 0 or i == len(series) - 1:
            chart.x_labels.append((chart.left + i * step, format_date(point.month, "MMM yy")))

    uptake: list[tuple[float, float]] = []
    target: list[tuple[float, float]] = []
    for i, point in enumerate(series):
        x = chart.left + i * step
        if point.percent is None:
            if uptake:
                chart.uptake.append(_coords(uptake))
            uptake = []
        else:
            y = y_for(point.percent)
            uptake.append((x, y))
            chart.dots.append((x, y, f"{format_date(point.month, 'MMMM yyyy')}: {point.percent}%"))
        if point.target is None:
            if target:
                chart.target.append(_coords(target))
            target = []
        else:
            target.append((x, y_for(float(point.target))))
    if uptake:
        chart.uptake.append(_coords(uptake))
    if target:
        chart.target.append(_coords(target))
    return chart
