"""The usage charts, drawn on the server as SVG by pygal: no JavaScript, no build step.

Each chart is inline SVG with a viewBox and no fixed size, so it scales to the page's width (a
phone's too); its root is role="img" with a label, and the page puts the same numbers in a table
below it (the text alternative). pygal's tooltip script (fetched from the web) is left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pygal
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from pygal.style import Style

from warehouse.platform_usage import MonthUsage, TopTables

# Dark enough on white for text (WCAG AA), and told apart without colour by the legend's order.
PAID_COLOUR = "#2456d3"
FREE_COLOUR = "#8aa6e8"
OTHER_COLOUR = "#5b6573"
WIDTH = 640

_STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#1c2430",
    foreground_strong="#1c2430",
    foreground_subtle="#5b6573",
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=14,
    title_font_size=16,
    value_font_size=12,
    colors=(PAID_COLOUR, FREE_COLOUR, OTHER_COLOUR),
)
_COMMON = {
    "style": _STYLE,
    "js": [],
    "disable_xml_declaration": True,
    "explicit_size": False,
    "legend_at_bottom": True,
    "legend_at_bottom_columns": 2,
    "print_values": False,
    "value_formatter": lambda value: f"{value:,.0f}",
    "margin": 8,
}
_SVG_ROOT = re.compile(r"^<svg ")


def month_label(month) -> str:
    return month.strftime("%b %Y")


def monthly_chart(months: Sequence[MonthUsage], label: str) -> SafeString:
    """A bar per month, paid and free stacked."""
    chart = pygal.StackedBar(width=WIDTH, height=360, x_label_rotation=-40, **_COMMON)
    chart.x_labels = [month.month.strftime("%b %y") for month in months]
    chart.add("Paid", [month.paid for month in months])
    chart.add("Free", [month.free for month in months])
    return _accessible(chart, label)


def top_tables_chart(top: TopTables, label: str) -> SafeString:
    """The chosen month's largest tables, one bar each, paid and free stacked; the rest as one bar."""
    names = [table.table_name for table in top.tables]
    paid = [table.paid for table in top.tables]
    free = [table.free for table in top.tables]
    if top.other_tables:
        names.append(f"{top.other_tables} other table{'s' if top.other_tables != 1 else ''}")
        paid.append(top.other_paid)
        free.append(top.other_free)
    height = 90 + 34 * max(len(names), 1)
    chart = pygal.HorizontalStackedBar(width=WIDTH, height=height, truncate_label=24, **_COMMON)
    # Largest at the top: pygal draws the first label at the bottom.
    chart.x_labels = list(reversed(names))
    chart.add("Paid", list(reversed(paid)))
    chart.add("Free", list(reversed(free)))
    return _accessible(chart, label)


def _accessible(chart, label: str) -> SafeString:
    svg = chart.render(is_unicode=True)
    # The chart is one image to assistive technology, named by its label; the table below has the numbers.
    svg = _SVG_ROOT.sub(f'<svg role="img" aria-label="{escape(label)}" focusable="false" ', svg, count=1)
    return mark_safe(svg)  # noqa: S308 - pygal escapes the labels and values it writes
