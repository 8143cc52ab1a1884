"""The annual report (年度報告書, issue 16): a 年度 of the network in the shape
of the seed's year-end report, computed from stored data when it is opened.

Sections, in the seed's order, each only when its data exists:

* Ⅰ 情報交換会の実施 — one line per counted exchange meeting in the seed's
  format (``EventRow.summary(with_other=False)``: 第1回 6月4日 27名 (14機関：
  団体9(13)・自治体4(4)・厚労省(10))), the total line (合計 延べ247名) and a
  note naming the meetings whose 名 include その他 persons, which the seed's
  parentheses leave out. The figures are committee.participation's, the
  dashboard's; the lines are written once per data version of those numbers
  and cached with them (``cached_meeting_figures``). Then
  the meetings' reports (Event.report_url) and the 年度's symposium and
  report meetings with their materials (シンポジウムの実施 10月15日 (第3回
  情報交換会と同時開催), 最終報告会 2月18日), of the events the viewer may open.
* Ⅳ 効果検証 — the 年度's annual survey as the dashboard's survey panel
  shows it to the viewer (committee.panels.survey_panel over surveys.results,
  with the cross-tabulation by kind: the committee reads a closed survey
  only, with small cells suppressed): responses by group, the seed's
  sentences (``findings``: 37/47, 9割以上が役に立った …), the key questions'
  figures, year over year.
* Ⅱ the navi, Ⅲ the back-up menus (before Ⅳ), the needs register (after
  it) and, last, the table of the seven functions: committee.report_sections.
* The narrative paragraphs the secretariat writes per 年度 (ReportText:
  アンケート総括 after Ⅳ, then 課題), saved with their history by
  ``save_texts``. The committee sees a paragraph once it has been written.

Each section carries a ``source`` sentence saying where its numbers come from.

Queries: the participation numbers cost their data version (1) while Ⅰ's
figures are cached with them (``cached_meeting_figures``; the first view
after a change computes them: participation.compute's 8 unless the dashboard
did), the meetings' materials 1, the survey panel its queries (the annual
survey, then surveys.results' fixed count) and 調査対象's 1, the texts 1; Ⅱ 4
(1 while its windows are cached), Ⅲ 1 while cached (support.stats.
cached_summary's data version; then summary's 8), the needs 1, the chosen
opinions 1, the seven functions 2, the relay 1.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core import privacy
from core.templatetags.wareki import jdate, wareki_date, wareki_fy, wareki_month
from events.enums import EventKind, EventStatus
from events.models import Event
from network.enums import MunicipalityKind, OrganisationKind
from surveys import catalog
from surveys import results as survey_results
from surveys.enums import AudienceGroup, ResultDimension
from surveys.models import Invitation

from . import access, charts, panels, report_opinions, report_sections
from . import participation as p
from .enums import ReportSection
from .models import ReportText, ReportTextRevision

TEXT_MAX_LENGTH = 5000
# The other meetings Ⅰ lists after the exchange meetings.
GATHERING_KINDS = (EventKind.SYMPOSIUM, EventKind.REPORT)
HISTORY_LIMIT = 20


def seed_line(event: p.EventRow) -> str:
    """A meeting's line as the seed's report writes it (without その他)."""
    return event.summary(with_other=False)


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass
class Gathering:
    """A symposium or report meeting of the 年度 (シンポジウムの実施 10月15日
    (第3回情報交換会と同時開催)), with its materials."""

    line: str
    links: list[Link]


@dataclass
class MeetingsSection:
    count: int  # the counted meetings
    persons: int  # 延べ
    lines: list[str]
    total_line: str
    other_note: str  # "" when no meeting had その他 persons
    source: str
    # The meetings' reports (Event.report_url) the viewer may open, by heading.
    reports: list[Link] = field(default_factory=list)
    gatherings: list[Gathering] = field(default_factory=list)
    # The dashboard's chart of persons per meeting by group (charts.attendance_chart).
    chart: dict | None = None
    # The relay's meetings up to this 年度 (第1回【平成28年6月】 in江別 …).
    relay: list[str] = field(default_factory=list)

    @property
    def heading(self) -> str:
        return _("Ⅰ 情報交換会・シンポジウムの実施")

    @property
    def relay_heading(self) -> str:
        return _("情報交換会のあゆみ（開催した自治体が次の自治体にバトンを渡すリレー方式）")

    @property
    def chart_caption(self) -> str:
        return _("図：参加者数の推移（種別ごと）。数値は上の各回の行と同じです。")


@dataclass
class SurveySection:
    panel: panels.SurveyPanel
    # 調査対象：道内の福祉事務所設置自治体（35市+14振興局=49自治体）、受託団体・支援団体37団体
    scope_line: str
    collected_line: str  # 回収：自治体15、受託団体・支援団体32の合計47団体から回答を得た。
    findings: list[str]  # the seed's sentences, from the key questions
    source: str

    @property
    def results(self):
        return self.panel.results

    @property
    def heading(self) -> str:
        return _("Ⅳ 続・後方支援プロジェクトの効果検証")

    @property
    def suppression_note(self) -> str:
        """Said where the figures are the committee's, small cells suppressed."""
        return _(
            "検討委員会向けの集計です。回答者が3人未満の区分は「—」と表示し、"
            "差し引きで分かってしまう区分もあわせて伏せています。"
        )


@dataclass
class Paragraph:
    section: ReportSection
    text: ReportText | None

    @property
    def label(self) -> str:
        return self.section.label

    @property
    def anchor(self) -> str:
        return f"text-{self.section.value}"

    @property
    def body(self) -> str:
        return self.text.text if self.text else ""

    @property
    def written_line(self) -> str:
        """事務局が記述（令和3年3月1日 更新）"""
        if self.text is None:
            return ""
        return _("事務局が記述（%(when)s 更新）") % {"when": wareki_date(self.text.updated_at)}


@dataclass
class AnnualReport:
    fiscal_year: int
    suppressed: bool
    editable: bool
    meetings: MeetingsSection | None
    survey: SurveySection | None
    paragraphs: dict[str, Paragraph] = field(default_factory=dict)
    navi: report_sections.NaviSection | None = None
    menus: report_sections.MenusSection | None = None
    needs: report_sections.NeedsSection | None = None
    functions: report_sections.FunctionsTable | None = None
    # The chosen opinions by part ("meetings", "survey"): report_opinions.chosen.
    opinions: dict[str, list[report_opinions.Opinion]] = field(default_factory=dict)

    @property
    def opinion_headings(self) -> dict[str, str]:
        return {
            "meetings": _("情報交換会・シンポジウム参加者からの意見"),
            "survey": _("主な意見（自由記述から）"),
        }

    @property
    def title(self) -> str:
        return _("年度報告書（%(fy)s）") % {"fy": wareki_fy(self.fiscal_year)}

    def paragraph(self, section: str) -> Paragraph | None:
        """The paragraph to show: written, or open to be written by the viewer."""
        found = self.paragraphs.get(section)
        if found is None or not (found.body or self.editable):
            return None
        return found

    @property
    def survey_summary(self) -> Paragraph | None:
        return self.paragraph(ReportSection.SURVEY_SUMMARY)

    @property
    def issues(self) -> Paragraph | None:
        return self.paragraph(ReportSection.ISSUES)

    @property
    def narrative(self) -> list[Paragraph]:
        """The paragraphs shown, in order (アンケート総括 after Ⅳ, then 課題)."""
        return [p for p in (self.survey_summary, self.issues) if p]

    @property
    def contents(self) -> list[tuple[str, str, bool]]:
        """(anchor, heading, printed) of the sections shown, in order: the
        table of contents. A paragraph not yet written is shown to the
        secretariat on screen (to write it), not printed."""
        toc = []
        for anchor in ("meetings", "navi", "menus", "survey", "needs"):
            section = getattr(self, anchor)
            if section:
                toc.append((anchor, section.heading, True))
        toc += [(p.anchor, p.label, bool(p.body)) for p in self.narrative]
        if self.functions:
            toc.append(("functions", self.functions.heading, True))
        return toc

    @property
    def is_empty(self) -> bool:
        return not self.contents

    @property
    def empty_message(self) -> str:
        return _("%(fy)sには、報告書に載せる情報交換会やアンケートの記録がまだありません。") % {
            "fy": wareki_fy(self.fiscal_year)
        }

    @property
    def made_line(self) -> str:
        """令和8年12月4日 作成: the files' date of computation."""
        return _(
            "%(date)s 作成。ポータルに記録されたデータから、作成した時点で集計しています。"
        ) % {"date": wareki_date(timezone.localdate())}

    def filename(self, extension: str) -> str:
        """年度報告書_令和3年度.docx: the name a download is saved under."""
        return _("年度報告書_%(fy)s.%(ext)s") % {
            "fy": wareki_fy(self.fiscal_year),
            "ext": extension,
        }


def build(fiscal_year: int, user, *, now: datetime.datetime | None = None) -> AnnualReport:
    """The report of a 年度 as `user` may read it (callers check
    access.can_view_annual_report)."""
    now = now or timezone.now()
    suppressed = access.report_suppresses_small_cells(user)
    meetings = meetings_section(
        cached_meeting_figures(fiscal_year, p.data_version(fiscal_year, now), now=now),
        _held_events(fiscal_year, user, now),
        relay=relay_lines(fiscal_year, user),
    )
    survey = survey_section(panels.survey_panel(fiscal_year, user, dimension=ResultDimension.KIND))
    navi = report_sections.navi_section(fiscal_year)
    menus = report_sections.menus_section(fiscal_year, suppress=suppressed, now=now)
    needs = report_sections.needs_section(fiscal_year)
    return AnnualReport(
        fiscal_year=fiscal_year,
        suppressed=suppressed,
        editable=access.may_edit_report_texts(user),
        meetings=meetings,
        survey=survey,
        paragraphs=paragraphs(fiscal_year),
        navi=navi,
        menus=menus,
        needs=needs,
        opinions=report_opinions.chosen(fiscal_year),
        functions=report_sections.functions_table(
            fiscal_year, meetings=meetings, survey=survey, navi=navi, menus=menus, needs=needs
        ),
    )


def _held_events(fiscal_year: int, user, now: datetime.datetime) -> list[dict]:
    """The 年度's symposium and report meetings, and its exchange meetings
    with a report, that took place (finished, or published and started) and
    that `user` may open, with their materials links (1 query)."""
    took_place = Q(status=EventStatus.FINISHED) | Q(
        status=EventStatus.PUBLISHED, starts_at__lte=now
    )
    with_materials = Q(kind__in=GATHERING_KINDS) | (Q(kind=EventKind.EXCHANGE) & ~Q(report_url=""))
    return list(
        Event.objects.visible_to(user)
        .filter(took_place, with_materials, fiscal_year=fiscal_year)
        .order_by("starts_at", "pk")
        .values("pk", "kind", "title", "starts_at", "report_url", "video_url", "slides")
    )


def _gathering(row: dict, numbered_on: dict[datetime.date, int]) -> Gathering:
    """シンポジウムの実施 10月15日 (第3回情報交換会と同時開催); 最終報告会 2月18日
    (a report meeting is named by its title's last word, as the seed does)."""
    day = timezone.localtime(row["starts_at"]).date()
    day_text = _("%(month)d月%(day)d日") % {"month": day.month, "day": day.day}
    if row["kind"] == EventKind.SYMPOSIUM:
        name = _("シンポジウムの実施")
    else:
        name = row["title"].replace("\u3000", " ").rsplit(" ", 1)[-1]
    line = f"{name} {day_text}"
    if day in numbered_on:
        line += " " + _("(第%(number)d回情報交換会と同時開催)") % {"number": numbered_on[day]}
    links = []
    if row["report_url"]:
        links.append(Link(_("報告書"), row["report_url"]))
    if row["video_url"]:
        links.append(Link(_("動画"), row["video_url"]))
    if row["slides"]:
        links.append(
            Link(_("資料（PDF）"), Event._meta.get_field("slides").storage.url(row["slides"]))
        )
    return Gathering(line, links)


def relay_lines(fiscal_year: int, user) -> list[str]:
    """The relay's meetings (Event.is_relay_meeting: exchange meetings hosted
    by a 自治体) up to the 年度, as the seed lists them: 第1回【平成28年6月】
    in江別, a cancelled one with （中止） (1 query)."""
    rows = (
        Event.objects.visible_to(user)
        .filter(
            kind=EventKind.EXCHANGE,
            host_organisation__kind=OrganisationKind.MUNICIPALITY,
            fiscal_year__lte=fiscal_year,
        )
        .exclude(status=EventStatus.DRAFT)
        .order_by("starts_at", "pk")
        .values_list("number", "starts_at", "status", "municipality__name")
    )
    lines = []
    for number, starts_at, status, city in rows:
        line = _("第%(number)s回【%(month)s】") % {
            "number": number or "—",
            "month": wareki_month(starts_at),
        }
        if city:
            line += " in" + city.removesuffix("市")
        if status == EventStatus.CANCELLED:
            line += _("（中止）")
        lines.append(line)
    return lines


@dataclass
class MeetingFigures:
    """What Ⅰ writes from a 年度's participation numbers, kept in the cache
    with them (the same data version): a 年度 of hundreds of meetings is
    neither written nor read back whole on every view."""

    fiscal_year: int
    lines: list[str]  # each counted meeting's line in the seed's format
    headings: list[tuple[int, str]]  # (event id, 第1回 6月4日), in order
    numbered_on: dict[datetime.date, int]  # a numbered meeting's day: its number
    persons: int  # 延べ
    other_note: str  # "" when no meeting had その他 persons
    chart: dict


def meeting_figures(data: p.Participation) -> MeetingFigures | None:
    """Ⅰ's figures of the numbers; None for a 年度 without a counted meeting."""
    if not data.events:
        return None
    others = [e for e in data.events if e.other.persons]
    other_note = ""
    if others:
        each = _("%(heading)s %(persons)d名")
        other_note = _("人数には、機関に数えない参加者（その他）も含みます：%(meetings)s。") % {
            "meetings": "、".join(
                each % {"heading": e.heading, "persons": e.other.persons} for e in others
            )
        }
    numbered_on: dict[datetime.date, int] = {}
    for event in data.events:
        if event.number:
            numbered_on.setdefault(event.date, event.number)
    return MeetingFigures(
        fiscal_year=data.fiscal_year,
        lines=[seed_line(e) for e in data.events],
        headings=[(e.id, e.heading) for e in data.events],
        numbered_on=numbered_on,
        persons=data.totals.persons,
        other_note=other_note,
        chart=charts.attendance_chart(data),
    )


def cached_meeting_figures(
    fiscal_year: int, version: str, *, now: datetime.datetime
) -> MeetingFigures | None:
    """``meeting_figures`` through the cache, for a version from
    ``participation.data_version``; the numbers themselves are read (from
    their own cache) only when the figures are not there."""
    return cache.get_or_set(
        p.cache_key(fiscal_year, version, f"report:{get_language()}"),
        lambda: meeting_figures(p.cached(fiscal_year, version, now=now)),
        p.CACHE_SECONDS,
    )


def meetings_section(
    figures: MeetingFigures | None, held: list[dict], *, relay: list[str]
) -> MeetingsSection | None:
    """Ⅰ from the 年度's figures, with the materials of the meetings held
    (`held`) and the relay the viewer may open."""
    if figures is None:
        return None
    headings = figures.headings
    source = _(
        "出典：%(fy)sに開催した情報交換会 %(count)d回（%(first)s〜%(last)s）の参加記録。"
        "受付を使った回は受付済みの人、使わなかった回は確定した申込を数えています"
        "（ダッシュボードと同じ集計）。"
    ) % {
        "fy": wareki_fy(figures.fiscal_year),
        "count": len(headings),
        "first": headings[0][1],
        "last": headings[-1][1],
    }
    return MeetingsSection(
        count=len(headings),
        persons=figures.persons,
        lines=figures.lines,
        total_line=_("情報交換会の実施　合計 延べ%(persons)d名（括弧内は人数）")
        % {"persons": figures.persons},
        other_note=figures.other_note,
        source=source,
        reports=_meeting_reports(headings, held),
        gatherings=[
            _gathering(row, figures.numbered_on) for row in held if row["kind"] in GATHERING_KINDS
        ],
        chart=figures.chart,
        relay=list(relay),
    )


def _meeting_reports(headings: list[tuple[int, str]], held: list[dict]) -> list[Link]:
    """Each counted meeting's report (各情報交換会のレポート), by its heading;
    one link for meetings that share a report."""
    url_of = {row["pk"]: row["report_url"] for row in held if row["report_url"]}
    links: dict[str, list[str]] = {}
    for event_id, heading in headings:
        if event_id in url_of:
            links.setdefault(url_of[event_id], []).append(heading)
    return [Link("・".join(headings), url) for url, headings in links.items()]


def survey_section(panel: panels.SurveyPanel | None) -> SurveySection | None:
    """Ⅳ from the dashboard's survey panel; None without a survey or before
    the viewer may read its results (the committee: once it has closed)."""
    if panel is None or panel.results is None:
        return None
    results = panel.results
    groups = [row for row in results.rate_rows if row.invited.n]
    collected = _("回収：%(groups)sの合計%(total)s団体から回答を得た。") % {
        "groups": "、".join(f"{row.label}{row.answered.display}" for row in groups),
        "total": results.answered.display,
    }
    survey = panel.survey
    source = _(
        "出典：%(title)s（%(opens)s〜%(closes)s）の回答。依頼 %(invited)s件、回答 %(answered)s件。"
        "割合は、その質問に答えた数に対するものです。"
    ) % {
        "title": survey.title,
        "opens": jdate(survey.opens_at),
        "closes": jdate(survey.closes_at),
        "invited": results.invited.display,
        "answered": results.answered.display,
    }
    return SurveySection(
        panel=panel,
        scope_line=scope_line(survey, groups),
        collected_line=collected,
        findings=findings(results),
        source=source,
    )


def scope_line(survey, groups: list) -> str:
    """Who the survey asked, by group, as the seed's 調査対象 says it: the
    自治体 by place — 市 (町, 村) and 振興局, an organisation with no
    municipality being a 振興局's unit — then the other groups (1 query).
    The places are left out when the 自治体's invitations are not all
    organisations' (a per-person survey) or their count is suppressed."""
    counts = dict(
        Invitation.objects.filter(survey=survey, organisation__kind=OrganisationKind.MUNICIPALITY)
        .values_list("organisation__municipality__kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    parts = []
    for row in groups:
        if row.key != AudienceGroup.MUNICIPAL:
            parts.append(_("%(group)s%(n)s団体") % {"group": row.label, "n": row.invited.display})
            continue
        places = [
            f"{counts[kind]}{label}"
            for kind, label in (*MunicipalityKind.choices, (None, _("振興局")))
            if counts.get(kind)
        ]
        if row.invited.suppressed or sum(counts.values()) != row.invited.n or not places:
            parts.append(_("%(group)s%(n)s") % {"group": row.label, "n": row.invited.display})
        elif len(places) == 1:
            parts.append(_("道内の福祉事務所設置自治体（%(places)s）") % {"places": places[0]})
        else:
            parts.append(
                _("道内の福祉事務所設置自治体（%(places)s=%(n)d自治体）")
                % {"places": "+".join(places), "n": row.invited.n}
            )
    return _("調査対象：%(groups)s") % {"groups": "、".join(parts)}


def findings(results: survey_results.SurveyResults) -> list[str]:
    """The seed's sentences of Ⅳ from the key questions, each left out when
    its question is missing or its figure suppressed for the viewer:

    情報交換会に1回でも参加したことがある団体は37/47団体（うち、自治体7/15、受託団体・支援団体30/32）
    9割以上が役に立ったと回答（4・5 91.9%）
    8割以上が継続希望（はい 83.0%）
    テーマ別ディスカッションが最も多く62.9%、講師を招いた勉強会が48.6%などとなった。
    """
    lines = []
    attended = results.question("attended")
    row = attended.row(catalog.ATTENDED) if attended else None
    if row is not None and not row.cell.suppressed and not attended.answered.suppressed:
        line = _("情報交換会に1回でも参加したことがある団体は%(n)s/%(of)s団体") % {
            "n": row.cell.display,
            "of": attended.answered.display,
        }
        by_group = _by_group(attended, row.label)
        if by_group:
            line += _("（うち、%(groups)s）") % {"groups": by_group}
        lines.append(line)
    useful = results.question("useful")
    if useful is not None and useful.top is not None and useful.top.pct is not None:
        lines.append(
            _("%(share)sが役に立ったと回答（4・5 %(pct)s%%）")
            % {"share": _share_words(useful.top.pct), "pct": useful.top.pct}
        )
    wants = results.question("continue")
    row = wants.row(catalog.YES) if wants else None
    if row is not None and row.cell.pct is not None:
        lines.append(
            _("%(share)sが継続希望（%(label)s %(pct)s%%）")
            % {"share": _share_words(row.cell.pct), "label": row.label, "pct": row.cell.pct}
        )
    formats = results.question("format")
    shown = [r for r in (formats.rows if formats else []) if r.cell.pct is not None and r.cell.n]
    shown.sort(key=lambda r: -r.cell.n)
    if shown:
        line = _("%(label)sが最も多く%(pct)s%%") % {
            "label": shown[0].label,
            "pct": shown[0].cell.pct,
        }
        if len(shown) > 1:
            line += _("、%(label)sが%(pct)s%%などとなった。") % {
                "label": shown[1].label,
                "pct": shown[1].cell.pct,
            }
        lines.append(line)
    return lines


def _by_group(question: survey_results.QuestionResult, label: str) -> str:
    """自治体7/15、受託団体・支援団体30/32: a row of the cross-tabulation by
    kind over each group's respondents, the groups nobody answered in left out."""
    tab = question.crosstab
    if tab is None:
        return ""
    cells = next((r.cells for r in tab.rows if r.label == label), None)
    if cells is None:
        return ""
    return "、".join(
        f"{column.label}{cell.display}/{column.total.display}"
        for column, cell in zip(tab.columns, cells, strict=True)
        if column.total.n
    )


def _share_words(pct) -> str:
    """91.9 → 9割以上; 100 → 全員."""
    tenths = int(pct // 10)
    if tenths >= 10:
        return _("全員")
    return _("%(tenths)d割以上") % {"tenths": tenths}


def paragraphs(fiscal_year: int) -> dict[str, Paragraph]:
    """The 年度's paragraphs, written or not (1 query)."""
    found = {
        t.section: t
        for t in ReportText.objects.filter(fiscal_year=fiscal_year).select_related("updated_by")
    }
    return {s.value: Paragraph(s, found.get(s.value)) for s in ReportSection}


def history(fiscal_year: int) -> list[ReportTextRevision]:
    """The latest saved versions of the 年度's paragraphs, newest first (1 query)."""
    return list(
        ReportTextRevision.objects.filter(report_text__fiscal_year=fiscal_year)
        .select_related("report_text", "author")
        .order_by("-created_at", "-pk")[:HISTORY_LIMIT]
    )


@transaction.atomic
def save_texts(*, fiscal_year: int, texts: dict[str, str], actor) -> list[str]:
    """Save the secretariat's paragraphs of a 年度; every changed one gets a
    revision. A text the privacy guard flags (its author confirmed it in the
    form) is saved with ``privacy_flagged``. Returns the sections changed."""
    if not access.may_edit_report_texts(actor):
        raise ValidationError(_("年度報告書の本文を書けるのは事務局です。"), code="forbidden")
    now = timezone.now()
    current = {
        t.section: t
        for t in ReportText.objects.select_for_update().filter(
            fiscal_year=fiscal_year, section__in=list(texts)
        )
    }
    changed = []
    for section, text in texts.items():
        section = ReportSection(section)
        text = (text or "").strip()
        row = current.get(section.value)
        if (row.text if row else "") == text:
            continue
        flagged = not privacy.is_clean(text)
        if row is None:
            row = ReportText(fiscal_year=fiscal_year, section=section)
        row.text, row.privacy_flagged, row.updated_by, row.updated_at = text, flagged, actor, now
        row.save()
        ReportTextRevision.objects.create(
            report_text=row, text=text, privacy_flagged=flagged, author=actor, created_at=now
        )
        changed.append(section.value)
    return changed
