"""The annual report's sections over the later apps (年度報告書, issue 16):
Ⅱ the navi, Ⅲ the back-up menus, the needs register, and the table of the
seven functions filled from what the 年度 recorded. committee.report
builds them with Ⅰ and Ⅳ; each is None (left out, not faked) when its app
recorded nothing in the 年度.

Every figure comes from the same functions the dashboard reads
(directory.stats.summary, support.stats.summary with the committee's
suppression) or from one query here; each section says where its numbers
come from (``source``).
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from core.dates import local_day_start
from core.enums import SupportFunction
from core.templatetags.wareki import wareki_fy
from directory import stats as navi_stats
from note.models import NoteEntry, Topic
from support import stats as support_stats

from .enums import NeedStatus
from .models import Need

UNMET_SHOWN = 10


def _fy_range(fiscal_year: int) -> tuple[datetime.date, datetime.date]:
    return datetime.date(fiscal_year, 4, 1), datetime.date(fiscal_year + 1, 4, 1)


# --- Ⅱ the navi ---------------------------------------------------------------------------


@dataclass
class CategoryRow:
    name: str
    windows: int
    searches: int
    found_nothing: int


@dataclass
class NaviSection:
    windows: int  # services accepting consultations (受付中) now
    providers: int
    verified: int  # of those, checked (確認日) in the 年度
    searches: int
    web: int
    line: int
    found_nothing: int
    categories: list[CategoryRow]
    regions: list[dict]  # region__name (None: no area chosen), searches, found_nothing
    unmet: list[dict]  # category__name, region__name, municipality__name, searches, found_nothing
    source: str

    @property
    def part(self) -> str:
        return _("Ⅱ 情報集約・情報提供体制の構築")

    @property
    def heading(self) -> str:
        return _("%(part)s（北海道支援情報ナビ）") % {"part": self.part}

    @property
    def windows_line(self) -> str:
        return _(
            "掲載している相談窓口 %(windows)d件（%(providers)d団体・機関）、"
            "うちこの年度に内容を確認した窓口 %(verified)d件"
        ) % {"windows": self.windows, "providers": self.providers, "verified": self.verified}

    @property
    def no_area_label(self) -> str:
        return _("（地域をえらばずに）")

    @property
    def searches_line(self) -> str:
        return _(
            "この年度の検索 延べ%(searches)d回（ウェブ %(web)d回・LINE %(line)d回）、"
            "うち窓口が見つからなかった %(nothing)d回"
        ) % {
            "searches": self.searches,
            "web": self.web,
            "line": self.line,
            "nothing": self.found_nothing,
        }


def navi_section(fiscal_year: int) -> NaviSection | None:
    """The windows listed now and the 年度's searches (directory.stats: the
    windows listed, 1 query while cached, else 3; the searches' summary 1);
    None when the 年度 saw no search and no window checked."""
    start, end = _fy_range(fiscal_year)
    listed = navi_stats.listed(start, end)
    searched = navi_stats.summary(start, end, unmet_limit=UNMET_SHOWN)
    if not listed.verified and not searched.total:
        return None
    by_name = {row["category__name"]: row for row in searched.by_category}
    categories = [
        CategoryRow(
            name,
            windows,
            by_name.get(name, {}).get("searches", 0),
            by_name.get(name, {}).get("found_nothing", 0),
        )
        for name, windows in listed.by_category
        if windows or name in by_name
    ]
    return NaviSection(
        windows=listed.windows,
        providers=listed.providers,
        verified=listed.verified,
        searches=searched.total,
        web=sum(m["web"] for m in searched.by_month),
        line=sum(m["line"] for m in searched.by_month),
        found_nothing=searched.found_nothing,
        categories=categories,
        regions=searched.by_region,
        unmet=searched.unmet,
        source=_(
            "出典：窓口数は出力した時点でナビに「受付中」で載っている事業。検索は%(fy)sに"
            "ウェブとLINEで困りごとや地域をえらんで探された回数（回数だけを記録し、だれが"
            "探したかは記録していません）。見つからなかった組み合わせは多い順に%(n)d件まで。"
        )
        % {"fy": wareki_fy(fiscal_year), "n": UNMET_SHOWN},
    )


# --- Ⅲ the back-up menus --------------------------------------------------------------------


@dataclass
class MenusSection:
    summary: support_stats.Summary
    source: str

    @property
    def heading(self) -> str:
        return _("Ⅲ 後方支援メニューの試験実施・ノウハウ提供")

    @property
    def menus(self) -> list[support_stats.MenuFigures]:
        return self.summary.menus

    @property
    def total_line(self) -> str:
        figures = self.summary.menus
        return _("申込 %(applications)d件、うち完了 %(completed)d件（%(menus)dメニュー）") % {
            "applications": self.summary.applications,
            "completed": sum(m.completed for m in figures),
            "menus": sum(1 for m in figures if m.applications),
        }


def menus_section(fiscal_year: int, *, suppress: bool, now) -> MenusSection | None:
    """The menus' applications, outcomes, hours and follow-up of the 年度, as
    the dashboard shows them to the viewer (support.stats.summary)."""
    summary = support_stats.cached_summary(fiscal_year, suppress=suppress, now=now)
    if not summary.applications:
        return None
    return MenusSection(
        summary=summary,
        source=_(
            "出典：%(fy)sの後方支援メニューの申込と、その支援記録・成果報告・事後アンケート"
            "（ダッシュボードと同じ集計%(suppressed)s）。"
        )
        % {
            "fy": wareki_fy(fiscal_year),
            "suppressed": _("。事後アンケートの3未満の区分は伏せています") if suppress else "",
        },
    )


# --- the needs register -----------------------------------------------------------------------


@dataclass
class FunctionNeeds:
    label: str
    counts: list[int]  # per NeedStatus, in its order
    total: int


@dataclass
class NeedsSection:
    statuses: list[str]  # the status labels, the table's columns
    rows: list[FunctionNeeds]  # per function, then 未分類
    total: int
    proposals: list[str]  # the titles of the needs proposed (提言済)
    source: str

    @property
    def heading(self) -> str:
        return _("課題の整理と提言（検討委員会）")

    @property
    def total_line(self) -> str:
        return _("この年度に登録された課題 %(total)d件、うち提言済 %(proposed)d件") % {
            "total": self.total,
            "proposed": len(self.proposals),
        }


def needs_section(fiscal_year: int) -> NeedsSection | None:
    """The 年度's needs by function and status, and the proposals (1 query).
    The register is the committee's and the secretariat's, the report's
    readers: no other scoping applies."""
    rows = list(
        Need.objects.filter(fiscal_year=fiscal_year)
        .order_by("function", "created_at", "pk")
        .values_list("function", "status", "title")
    )
    if not rows:
        return None
    statuses = list(NeedStatus)
    counts = Counter((function, status) for function, status, _title in rows)
    functions = [(f.value, f.label) for f in SupportFunction]
    if any(function is None for function, _status, _title in rows):
        functions.append((None, _("未分類")))
    table = []
    for value, label in functions:
        per_status = [counts[(value, s.value)] for s in statuses]
        if sum(per_status):
            table.append(FunctionNeeds(str(label), per_status, sum(per_status)))
    return NeedsSection(
        statuses=[str(s.label) for s in statuses],
        rows=table,
        total=len(rows),
        proposals=[title for _f, status, title in rows if status == NeedStatus.PROPOSED],
        source=_(
            "出典：課題の登録簿（%(fy)sの課題）。機能は検討委員会が振り分けたもの、状態は出力した時点のもの。"
        )
        % {"fy": wareki_fy(fiscal_year)},
    )


# --- the seven functions ----------------------------------------------------------------------


@dataclass
class FunctionsRow:
    part: str
    cells: list[str]  # per function 1–7: what the 年度 recorded, "" for nothing


@dataclass
class FunctionsTable:
    functions: list[str]  # the column headings, 1 情報共有ネットワーク構築 …
    rows: list[FunctionsRow] = field(default_factory=list)
    source: str = ""

    @property
    def heading(self) -> str:
        return _("支援者支援の7つの機能と、この年度の取り組み")


def _cells(entries: dict[int, list[str]]) -> list[str]:
    return ["、".join(entries.get(f.value, [])) for f in SupportFunction]


def functions_table(
    fiscal_year: int, *, meetings, survey, navi, menus, needs
) -> FunctionsTable | None:
    """The seed's table of the project's parts × the seven functions, each
    cell filled from what was recorded in the 年度 (2 queries: the board's
    topics of the 年度 and its note entries by function; the rest comes from the
    sections already built). The parts' functions are the seed's: the
    meetings serve 1–6, the navi 1, 6 and 7, each menu the functions it
    names, the survey 2, a need the function the committee gave it."""
    start, end = _fy_range(fiscal_year)
    rows = []
    parts: dict[int, list[str]] = {}
    if meetings:
        held = _("情報交換会 %(n)d回（延べ%(persons)d名）") % {
            "n": meetings.count,
            "persons": meetings.persons,
        }
        for function in (1, 2, 3, 4, 5, 6):
            parts.setdefault(function, []).append(held)
    topics = Topic.objects.filter(
        created_at__gte=local_day_start(start), created_at__lt=local_day_start(end)
    ).count()
    if topics:
        parts.setdefault(1, []).append(_("掲示板の相談 %(n)d件") % {"n": topics})
    entries = Counter(
        NoteEntry.objects.filter(fiscal_year=fiscal_year).values_list(
            "function_rows__function", flat=True
        )
    )
    for function, n in sorted((f, n) for f, n in entries.items() if f):
        parts.setdefault(function, []).append(_("ノートの記事 %(n)d件") % {"n": n})
    if parts:
        rows.append(FunctionsRow(_("Ⅰ 情報交換会・掲示板・ノート"), _cells(parts)))
    if navi:
        listed = _("ナビ 窓口%(windows)d件・検索%(searches)d回") % {
            "windows": navi.windows,
            "searches": navi.searches,
        }
        rows.append(FunctionsRow(navi.part, _cells({1: [listed], 6: [listed], 7: [listed]})))
    if menus:
        by_function: dict[int, list[str]] = {}
        for figures in menus.menus:
            if not figures.applications:
                continue
            line = _("%(menu)s 申込%(n)d件") % {
                "menu": figures.menu.circled_number,
                "n": figures.applications,
            }
            for function in figures.menu.functions:
                by_function.setdefault(function, []).append(line)
        rows.append(FunctionsRow(menus.heading, _cells(by_function)))
    if survey:
        answered = _("効果検証アンケート 回答%(n)s団体") % {"n": survey.results.answered.display}
        rows.append(FunctionsRow(_("Ⅳ 連携・後方支援の効果検証"), _cells({2: [answered]})))
    if needs:
        counted = {}
        for value, label in ((f.value, str(f.label)) for f in SupportFunction):
            row = next((r for r in needs.rows if r.label == label), None)
            if row:
                counted[value] = [_("課題 %(n)d件") % {"n": row.total}]
        if needs.proposals:
            counted.setdefault(3, []).append(_("提言 %(n)d件") % {"n": len(needs.proposals)})
        rows.append(FunctionsRow(needs.heading, _cells(counted)))
    if not rows:
        return None
    return FunctionsTable(
        functions=[str(f.label) for f in SupportFunction],
        rows=rows,
        source=_(
            "出典：この報告書の各節の数字と、%(fy)sに立てられた掲示板の相談、書かれたノートの記事"
            "（記事が示す機能ごと）。部分と機能の対応は、続・後方支援プロジェクトの機能の表による。"
        )
        % {"fy": wareki_fy(fiscal_year)},
    )
