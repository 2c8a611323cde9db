"""The trend chart as server-rendered SVG geometry (``stats/_chart.html`` draws it)."""

from dataclasses import dataclass

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 28
SERIES = (("sent", "Sent"), ("viewed", "Viewed"), ("clicked", "Clicked"))
DATE_FORMATS = {"day": "%d %b", "week": "%d %b", "month": "%b %Y"}


@dataclass
class Series:
    key: str
    label: str
    points: str  # "x,y x,y …" for <polyline points>
    dots: list  # [(x, y, title)]


def _nice_max(value):
    """The axis top: four times a step of 1, 2 or 5 times a power of ten, at least ``value``,
    so each of the four gridlines falls on a whole number (a top of 10 would put one at 2.5)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if 4 * step * factor >= value:
                return 4 * step * factor
        step *= 10


def trend_chart(points, period):
    """Geometry for ``points`` (``reports.Point`` list): series, y ticks and x labels."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_max(max((max(p.sent, p.viewed, p.clicked) for p in points), default=0))
    count = len(points)

    def x(index):
        return LEFT + (plot_w / 2 if count == 1 else index * plot_w / (count - 1))

    def y(value):
        return TOP + plot_h - value * plot_h / top

    fmt = DATE_FORMATS[period]
    series = []
    for key, label in SERIES:
        coords = [(round(x(i), 1), round(y(getattr(p, key)), 1)) for i, p in enumerate(points)]
        dots = [
            (cx, cy, f"{label}: {getattr(p, key):,} ({p.start.strftime(fmt)})")
            for (cx, cy), p in zip(coords, points, strict=True)
        ]
        series.append(Series(key, label, " ".join(f"{cx},{cy}" for cx, cy in coords), dots))
    ticks = [(round(y(top * i / 4), 1), f"{round(top * i / 4):,}") for i in range(5)]
    every = max(1, count // 8)  # at most about eight dates under the axis
    labels = [(round(x(i), 1), p.start.strftime(fmt)) for i, p in enumerate(points) if i % every == 0]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "bottom": HEIGHT - BOTTOM,
        "label_y": HEIGHT - 8,
        "series": series,
        "ticks": ticks,
        "labels": labels,
    }
