"""The needs register's board: how many needs per function (rows, 未分類
last) and status (columns), each number a link to the list of those needs.

The counts are one GROUP BY over what the list's filters select, except the
status and function filters: the board is the grid those two pick a cell of
(committee.filters.NeedFilter.board_queryset).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count
from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _

from .enums import NeedFunction, NeedStatus
from .filters import BOARD_AXES, UNCLASSIFIED, NeedFilter


@dataclass
class BoardCell:
    count: int
    url: str
    label: str = ""  # the status (column) it counts, for the phone layout
    current: bool = False


@dataclass
class BoardRow:
    label: str
    key: str
    cells: list[BoardCell]
    total: BoardCell


def _counts(filterset: NeedFilter) -> dict[tuple[str, str], int]:
    """(function key, status) -> number of needs, in one query."""
    counts: dict[tuple[str, str], int] = {}
    rows = (
        filterset.board_queryset().order_by().values("function", "status").annotate(n=Count("pk"))
    )
    for row in rows:
        key = UNCLASSIFIED if row["function"] is None else str(row["function"])
        counts[(key, row["status"])] = row["n"]
    return counts


class _Links:
    """The URL of each cell: the list with that function and status, keeping
    the other filters of the page's query string."""

    def __init__(self, query: QueryDict, valid: bool):
        self.params = query.copy()
        for name in ("page", *BOARD_AXES):
            self.params.pop(name, None)
        self.base = reverse("dashboard:needs")
        self.chosen = (query.get("function", ""), query.get("status", "")) if valid else ("", "")

    def cell(self, count: int, function: str = "", status: str = "") -> BoardCell:
        query = self.params.copy()
        if function:
            query["function"] = function
        if status:
            query["status"] = status
        encoded = query.urlencode()
        return BoardCell(
            count=count,
            url=f"{self.base}?{encoded}#need-list" if encoded else f"{self.base}#need-list",
            label=str(NeedStatus(status).label) if status else _("計"),
            current=(function, status) == self.chosen and bool(function or status),
        )


def board(filterset: NeedFilter, query: QueryDict) -> tuple[list[BoardRow], BoardRow]:
    """The board's rows (one per function, then 未分類) and its totals row,
    for the page whose query string is `query`."""
    counts = _counts(filterset)
    links = _Links(query, filterset.is_valid())
    statuses = NeedStatus.values
    rows = []
    functions = [(str(value), label) for value, label in NeedFunction.choices]
    for key, label in [*functions, (UNCLASSIFIED, _("未分類"))]:
        cells = [links.cell(counts.get((key, s), 0), key, s) for s in statuses]
        total = links.cell(sum(c.count for c in cells), key)
        rows.append(BoardRow(label=str(label), key=key, cells=cells, total=total))
    column_totals = [
        links.cell(sum(counts.get((r.key, s), 0) for r in rows), "", s) for s in statuses
    ]
    totals = BoardRow(
        label=_("計"),
        key="",
        cells=column_totals,
        total=links.cell(sum(c.count for c in column_totals)),
    )
    return rows, totals
