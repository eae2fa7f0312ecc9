"""Charts as plain data, drawn as SVG by the macros in `app/templates/_charts.html`.

Shared by the dashboard and the back office: the server computes the geometry here and the
template writes `<svg>` markup (no script, no inline style: the pages' CSP allows neither),
with a `<title>` and `<desc>` for screen readers and the same figures as a data table.

Horizontal positions are percentages of the chart's width and vertical ones pixels, so a chart
fills any width from a 360 px phone up while its text keeps its size (a `viewBox` would scale
the text down with the chart).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PLOT_HEIGHT_PX = 120  # column charts: the bars' area, below a line for the peak's label
PEAK_LABEL_PX = 16
ROW_PX = 30  # bar charts: one row per item, its label above its bar
BAR_PX = 10
LABEL_CHARS = 28
COLUMN_GAP = 0.2  # share of a column's slot left empty between two columns


@dataclass(frozen=True)
class Column:
    label: str
    value: int
    x_pct: float
    width_pct: float
    y_px: float
    height_px: float


@dataclass(frozen=True)
class ColumnChart:
    """Values over time: one column per point, oldest first."""

    id: str
    title: str
    unit: str
    columns: list[Column]
    total: int
    peak: int
    plot_top_px: int
    plot_bottom_px: int

    @property
    def height_px(self) -> int:
        return self.plot_bottom_px + 20  # room for the first and last labels

    @property
    def summary(self) -> str:
        if not self.columns:
            return "No data."
        peak = max(self.columns, key=lambda column: column.value)
        text = (f"{len(self.columns)} points from {self.columns[0].label} to "
                f"{self.columns[-1].label}: {self.total:,} {self.unit} in total")
        return text + (f", the most {peak.value:,} on {peak.label}." if peak.value else ".")


@dataclass(frozen=True)
class Bar:
    label: str
    short_label: str
    value: int
    width_pct: float
    label_y_px: int
    bar_y_px: int
    href: str | None
    note: str


@dataclass(frozen=True)
class BarChart:
    """Values by category: one labelled bar per item, in the order given."""

    id: str
    title: str
    unit: str
    bars: list[Bar]
    total: int

    @property
    def height_px(self) -> int:
        return max(len(self.bars), 1) * ROW_PX

    @property
    def summary(self) -> str:
        if not self.bars:
            return "No data."
        shown = ", ".join(f"{bar.label} {bar.value:,}" for bar in self.bars[:5])
        more = f" and {len(self.bars) - 5} more" if len(self.bars) > 5 else ""
        return f"{self.total:,} {self.unit} in total: {shown}{more}."


def column_chart(chart_id: str, title: str, points: Sequence[tuple[str, int]], *,
                 unit: str = "credits") -> ColumnChart:
    """A column chart of `points` ((label, value), oldest first); values below zero count as
    zero."""
    values = [max(int(value), 0) for _, value in points]
    peak = max(values, default=0)
    slot = 100.0 / len(points) if points else 100.0
    top, bottom = PEAK_LABEL_PX, PEAK_LABEL_PX + PLOT_HEIGHT_PX
    columns = []
    for index, ((label, _), value) in enumerate(zip(points, values, strict=True)):
        height = max(PLOT_HEIGHT_PX * value / peak, 2.0) if value else 1.0
        columns.append(Column(label=label, value=value, x_pct=index * slot + slot * COLUMN_GAP / 2,
                              width_pct=slot * (1 - COLUMN_GAP), y_px=bottom - height,
                              height_px=height))
    return ColumnChart(id=chart_id, title=title, unit=unit, columns=columns, total=sum(values),
                       peak=peak, plot_top_px=top, plot_bottom_px=bottom)


def bar_chart(chart_id: str, title: str, items: Sequence[tuple[str, int]], *,
              unit: str = "credits", links: Sequence[str | None] | None = None,
              notes: Sequence[str] | None = None) -> BarChart:
    """A bar chart of `items` ((label, value)), each bar as long as its share of the largest;
    `links` (one URL or None per item) makes each row a link, `notes` adds text to its value."""
    values = [max(int(value), 0) for _, value in items]
    peak = max(values, default=0)
    bars = []
    for index, ((label, _), value) in enumerate(zip(items, values, strict=True)):
        width = max(100.0 * value / peak, 0.5) if value else 0.0
        bars.append(Bar(label=label, short_label=_shorten(label), value=value, width_pct=width,
                        label_y_px=index * ROW_PX + 12, bar_y_px=index * ROW_PX + 16,
                        href=links[index] if links else None,
                        note=notes[index] if notes else ""))
    return BarChart(id=chart_id, title=title, unit=unit, bars=bars, total=sum(values))


def _shorten(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1] + "…"
