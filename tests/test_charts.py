"""The SVG charts (`app.charts`, drawn by `_charts.html`): geometry that fits any width, an
accessible title and description, and the same figures as a table."""

from __future__ import annotations

import re

from flask import render_template_string

from app.charts import LABEL_CHARS, PLOT_HEIGHT_PX, bar_chart, column_chart


def test_columns_share_the_width_and_scale_to_the_peak() -> None:
    chart = column_chart("c", "Spent", [("d1", 0), ("d2", 50), ("d3", 100), ("d4", -5)])
    assert [c.value for c in chart.columns] == [0, 50, 100, 0]
    assert chart.total == 150 and chart.peak == 100
    assert [round(c.x_pct, 3) for c in chart.columns] == [2.5, 27.5, 52.5, 77.5]
    assert {round(c.width_pct, 3) for c in chart.columns} == {20.0}
    tallest = chart.columns[2]
    assert tallest.height_px == PLOT_HEIGHT_PX and tallest.y_px == chart.plot_top_px
    assert chart.columns[1].height_px == PLOT_HEIGHT_PX / 2
    assert chart.columns[0].height_px == 1.0  # an empty day is a sliver, not nothing
    assert all(c.y_px + c.height_px == chart.plot_bottom_px for c in chart.columns)
    assert chart.summary == "4 points from d1 to d4: 150 credits in total, the most 100 on d3."


def test_bars_are_their_share_of_the_largest_with_short_labels() -> None:
    long = "a-model-with-a-remarkably-long-name-indeed"
    chart = bar_chart("b", "Per model", [(long, 40), ("small", 1), ("none", 0)],
                      links=["/x", None, None], notes=["4 jobs", "", ""])
    assert [b.width_pct for b in chart.bars] == [100.0, 2.5, 0.0]
    assert chart.bars[0].short_label == long[:LABEL_CHARS - 1] + "…"
    assert chart.bars[1].short_label == "small" and chart.bars[0].href == "/x"
    assert chart.height_px == 3 * 30
    assert chart.summary == f"41 credits in total: {long} 40, small 1, none 0."
    assert bar_chart("e", "Empty", []).summary == "No data."


def test_the_template_draws_accessible_svg_and_a_table(app) -> None:
    columns = column_chart("per-day", "Spent per day", [(f"2026-12-0{d}", d * 10)
                                                        for d in range(1, 8)])
    bars = bar_chart("per-model", "Spent per model", [("m<1>", 5), ("m2", 3)],
                     links=["/admin/usage/?flt0_1=m%3C1%3E", None])
    with app.test_request_context():
        html = render_template_string(
            '{% import "_charts.html" as c %}{{ c.column_chart(a) }}{{ c.bar_chart(b) }}',
            a=columns, b=bars)
    assert html.count('class="hub-chart-bar"') == 7 + 2
    assert 'aria-labelledby="per-day-title per-day-desc"' in html
    assert '<title id="per-day-title">Spent per day</title>' in html
    assert f'<desc id="per-day-desc">{columns.summary}</desc>' in html
    assert 'data-points="7"' in html and 'data-points="2"' in html
    assert "m&lt;1&gt;" in html and "<1>" not in html  # labels are escaped
    assert '<a href="/admin/usage/?flt0_1=m%3C1%3E" class="hub-chart-link">' in html
    rows = re.findall(r"<tr>\s*<td>(.*?)</td>\s*<td[^>]*>([\d,]+)</td>", html, re.S)
    assert [value for _, value in rows][:7] == ["70", "60", "50", "40", "30", "20", "10"]
    assert " style=" not in html and "<script" not in html  # the CSP allows neither
