"""Server-side SVG charts for the committee dashboard: no JavaScript, no chart
library, nothing loaded from the internet, printable.

One kind of chart: horizontal stacked bars, one row per item (an event, a
month, a 振興局), each row's label above its bar so that the bar can use the
whole width on a phone. Widths are percentages of the SVG's own width and the
text has a fixed size, so the chart stays legible from 390 px to print.

Accessibility: the <svg> has role="img" and is labelled by its <title> and
described by its <desc> (which spells out every row's numbers); each segment
also carries a <title> (a tooltip for sighted mouse users). The same numbers
are always in a data table next to the chart — the templates put it there.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from . import participation as p

ROW_HEIGHT = 44
LABEL_SIZE = 13
BAR_TOP = 20  # the bar starts below its label
BAR_HEIGHT = 16
# Share of the width the longest bar may take; the rest is for its number.
BAR_SPAN = 78.0


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    color: str
    # A lighter, hatched segment (e.g. "not yet") instead of a solid one.
    muted: bool = False


@dataclass(frozen=True)
class BarRow:
    label: str
    values: tuple[int, ...]
    note: str  # the number written beside the bar, e.g. "27名"


def _pct(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") + "%"


def stacked_bars(
    *,
    chart_id: str,
    title: str,
    desc: str,
    series: list[Series],
    rows: list[BarRow],
    max_total: int | None = None,
) -> SafeString:
    """An SVG of horizontal stacked bars. `desc` should say what the chart
    shows; every row's values are appended to it for screen readers."""
    totals = [sum(row.values) for row in rows]
    scale_max = max([max_total or 0, *totals, 1])
    height = ROW_HEIGHT * len(rows) + 4
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    spoken = "。".join(
        f"{row.label}：{row.note}（"
        + "、".join(f"{s.label} {v}" for s, v in zip(series, row.values, strict=True))
        + "）"
        for row in rows
    )
    parts = [
        format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{}" role="img" '
            'aria-labelledby="{} {}" width="100%" height="{}" '
            'font-size="{}" overflow="visible">',
            chart_id,
            title_id,
            desc_id,
            height,
            LABEL_SIZE,
        ),
        format_html('<title id="{}">{}</title>', title_id, title),
        format_html('<desc id="{}">{}</desc>', desc_id, f"{desc} {spoken}".strip()),
    ]
    if any(s.muted for s in series):
        parts.append(
            format_html(
                '<defs><pattern id="{}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
                'patternTransform="rotate(45)"><rect width="6" height="6" fill="#eef3f1"/>'
                '<line x1="0" y1="0" x2="0" y2="6" stroke="#b7c4c0" stroke-width="3"/>'
                "</pattern></defs>",
                chart_id,
            )
        )
    for index, (row, total) in enumerate(zip(rows, totals, strict=True)):
        parts += _bar_row(
            row,
            top=index * ROW_HEIGHT,
            total=total,
            scale_max=scale_max,
            series=series,
            chart_id=chart_id,
        )
    parts.append(mark_safe("</svg>"))
    return mark_safe("".join(parts))


def _bar_row(
    row: BarRow, *, top: int, total: int, scale_max: int, series: list[Series], chart_id: str
) -> list[SafeString]:
    """One row of the chart: its label, the track, a segment per non-zero
    value and the number beside the bar."""
    parts = [
        format_html(
            '<g class="chart-row"><text x="0" y="{}" fill="#1f2a30">{}</text>',
            top + LABEL_SIZE + 2,
            row.label,
        ),
        # The track: the whole span, so that a short bar still reads as a share.
        format_html(
            '<rect x="0" y="{}" width="{}" height="{}" fill="#f1f4f3" rx="3"/>',
            top + BAR_TOP,
            _pct(BAR_SPAN),
            BAR_HEIGHT,
        ),
    ]
    x = 0.0
    for s, value in zip(series, row.values, strict=True):
        if not value:
            continue
        width = BAR_SPAN * value / scale_max
        fill = f"url(#{chart_id}-hatch)" if s.muted else s.color
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                "<title>{}：{} {}</title></rect>",
                _pct(x),
                top + BAR_TOP,
                _pct(width),
                BAR_HEIGHT,
                fill,
                row.label,
                s.label,
                value,
            )
        )
        x += width
    parts.append(
        format_html(
            '<text x="{}" dx="6" y="{}" fill="#1f2a30" font-weight="700">{}</text></g>',
            _pct(BAR_SPAN * total / scale_max),
            top + BAR_TOP + BAR_HEIGHT - 3,
            row.note,
        )
    )
    return parts


def legend(series: list[Series], chart_id: str) -> SafeString:
    """The series' colours as an HTML list (wraps on a phone, unlike SVG text).
    Each swatch is a small SVG filled by attribute, not a style= (the
    Content-Security-Policy allows no inline style); a muted one is left
    unfilled so that site.css's hatching shows."""
    items = format_html_join(
        "",
        '<li><svg class="swatch{}" width="14" height="14" aria-hidden="true">'
        '<rect width="14" height="14" rx="3" fill="{}"/></svg>{}</li>',
        ((" muted" if s.muted else "", "none" if s.muted else s.color, s.label) for s in series),
    )
    return format_html(
        '<ul class="chart-legend" aria-hidden="true" data-for="{}">{}</ul>', chart_id, items
    )


# --- the dashboard's two charts ------------------------------------------------------------

GROUP_COLORS = {
    p.ORGANISATIONS: "#1d6f5f",
    p.MUNICIPALITIES: "#2f6db5",
    p.GOVERNMENT: "#c9731d",
    p.OTHER: "#7b8a93",
}
# More events than this in a 年度 are drawn per month (one bar per event would
# be a wall of bars); the table keeps one row per event.
MAX_EVENT_BARS = 24


def group_series() -> list[Series]:
    labels = p.group_labels()
    return [Series(key, labels[key], GROUP_COLORS[key]) for key in p.GROUPS]


def attendance_chart(data: p.Participation) -> dict:
    """Persons per event (or per month), stacked by group."""
    series = group_series()
    by_month = len(data.events) > MAX_EVENT_BARS
    if by_month:
        months: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0] * len(series))
        for event in data.events:
            values = months[(event.date.year, event.date.month)]
            for i, s in enumerate(series):
                values[i] += event.group(s.key).persons
        rows = [
            BarRow(
                _("%(year)d年%(month)d月") % {"year": year, "month": month},
                tuple(values),
                _("%(n)d名") % {"n": sum(values)},
            )
            for (year, month), values in sorted(months.items())
        ]
        desc = _("月ごとの参加者数（延べ）を、団体・自治体・国・その他に分けて示します。")
    else:
        rows = [
            BarRow(
                event.heading,
                tuple(event.group(s.key).persons for s in series),
                _("%(n)d名") % {"n": event.persons},
            )
            for event in data.events
        ]
        desc = _("情報交換会ごとの参加者数を、団体・自治体・国・その他に分けて示します。")
    chart_id = "chart-attendance"
    return {
        "id": chart_id,
        "by_month": by_month,
        "series": series,
        "legend": legend(series, chart_id),
        "svg": stacked_bars(
            chart_id=chart_id,
            title=_("参加者数の推移（種別ごと）"),
            desc=desc,
            series=series,
            rows=rows,
        ),
    }


def coverage_chart(data: p.Participation) -> dict:
    """Per 振興局: member organisations that came (自治体, 団体) and those that did not."""
    labels = p.group_labels()
    series = [
        Series(
            "municipal",
            _("参加した%(group)s") % {"group": labels[p.MUNICIPALITIES]},
            GROUP_COLORS[p.MUNICIPALITIES],
        ),
        Series(
            "dantai",
            _("参加した%(group)s") % {"group": labels[p.ORGANISATIONS]},
            GROUP_COLORS[p.ORGANISATIONS],
        ),
        Series("missing", _("未参加の組織"), "#eef3f1", muted=True),
    ]
    rows = [
        BarRow(
            region.short_name,
            (region.municipal.came, region.dantai.came, region.members - region.came),
            _("%(came)d／%(members)d組織") % {"came": region.came, "members": region.members},
        )
        for region in data.regions
    ]
    chart_id = "chart-coverage"
    return {
        "id": chart_id,
        "legend": legend(series, chart_id),
        "svg": stacked_bars(
            chart_id=chart_id,
            title=_("振興局ごとの参加状況"),
            desc=_(
                "振興局ごとに、地域の自治体・団体（受託団体・支援団体）のうち今年度参加した組織と"
                "参加していない組織の数を示します。"
            ),
            series=series,
            rows=rows,
        ),
    }
