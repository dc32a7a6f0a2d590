"""The usage charts, drawn on the server as SVG by pygal: no JavaScript, no build step.

Each chart is inline SVG with a viewBox and no fixed size, so it scales to the page's width; its root
is role="img" with a label, and the page puts the same numbers in a table below it (the text
alternative). A chart drawn for a desktop shrinks its text to a few pixels on a phone, so each is
drawn twice, wide and narrow, and the stylesheet shows the one that fits (static/css/usage.css).
pygal's tooltip script (fetched from the web) is left out.
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
WIDE, NARROW = 640, 360

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


def _compact(value) -> str:
    """1,234,567 as 1.2M: a phone's axis has no room for every digit (the table has them)."""
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:,.0f}"


def _size(width: int) -> dict:
    # Fewer, shorter value labels on a phone, where the wide chart's would run into each other.
    if width == NARROW:
        return {"width": width, "max_scale": 5, "value_formatter": _compact}
    return {"width": width, "max_scale": 8}


def month_label(month) -> str:
    return month.strftime("%b %Y")


def monthly_chart(months: Sequence[MonthUsage], label: str) -> SafeString:
    """A bar per month, paid and free stacked."""

    def draw(width: int) -> str:
        narrow = width == NARROW
        chart = pygal.StackedBar(
            height=300 if narrow else 360, x_label_rotation=-40,
            # On a phone a label every third month (January's says the year) leaves room to read them.
            show_minor_x_labels=not (narrow and len(months) > 6), **{**_COMMON, **_size(width)},
        )
        chart.x_labels = [month.month.strftime("%b %Y" if month.month.month == 1 or not narrow else "%b")
                          for month in months]
        if narrow and len(months) > 6:
            chart.x_labels_major = chart.x_labels[::-3]
        chart.add("Paid", [month.paid for month in months])
        chart.add("Free", [month.free for month in months])
        return _accessible(chart, label)

    return _wide_and_narrow(draw)


def top_tables_chart(top: TopTables, label: str) -> SafeString:
    """The chosen month's largest tables, one bar each, paid and free stacked; the rest as one bar."""
    names = [table.table_name for table in top.tables]
    paid = [table.paid for table in top.tables]
    free = [table.free for table in top.tables]
    if top.other_tables:
        names.append(f"{top.other_tables} other table{'s' if top.other_tables != 1 else ''}")
        paid.append(top.other_paid)
        free.append(top.other_free)

    def draw(width: int) -> str:
        chart = pygal.HorizontalStackedBar(
            height=90 + 34 * max(len(names), 1), truncate_label=14 if width == NARROW else 24,
            **{**_COMMON, **_size(width)},
        )
        # Largest at the top: pygal draws the first label at the bottom.
        chart.x_labels = list(reversed(names))
        chart.add("Paid", list(reversed(paid)))
        chart.add("Free", list(reversed(free)))
        return _accessible(chart, label)

    return _wide_and_narrow(draw)


def _wide_and_narrow(draw) -> SafeString:
    return mark_safe(  # noqa: S308 - pygal escapes the labels and values it writes; the label is escaped below
        f'<div class="usage-chart__wide">{draw(WIDE)}</div><div class="usage-chart__narrow">{draw(NARROW)}</div>'
    )


def _accessible(chart, label: str) -> str:
    svg = chart.render(is_unicode=True)
    # The chart is one image to assistive technology, named by its label; the table below has the numbers.
    return _SVG_ROOT.sub(f'<svg role="img" aria-label="{escape(label)}" focusable="false" ', svg, count=1)
