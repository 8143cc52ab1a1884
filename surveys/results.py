"""Survey results: counts and percentages per question, cross-tabulations,
response rates by audience group and year-over-year figures (issue 4).

Counted in the database with a fixed number of GROUP BY queries, however many
responses there are (tests/test_survey_results.py asserts the count as a
literal at 10 and at 1,000 responses):

1. the questions (of this survey and of the neighbouring annual surveys);
2. the annual surveys of the 年度 before and after (annual surveys only);
3. submitted responses per survey;
4. choice counts: Answer rows of submitted responses grouped by question, the
   chosen value and the respondent attributes copied at submission
   (organisation kind, region, participation). Summed over the attributes
   this gives each choice's count; kept apart, the cross-tabulations;
5. respondents per question, grouped the same way: how many answered the
   question, and the column totals of the cross-tabulations (a response has
   one kind, region and participation, so summing over groups is exact);
6. per-question statistics: count, mean, minimum and maximum of numbers, and
   the number of free-text answers;
7. free texts, the latest TEXT_LIMIT per question (a window function) — only
   for those who may read them (the secretariat);
8. invitations per audience group (invited, answered);
9. the 振興局 (column heads of the cross-tabulation by region).

The pages read it through the cache (`cached`, at the end of this module):
stored under the survey's data version (`data_version`, one query of scalar
subqueries over what the figures read) and the viewer (`Viewer`: what the
computation reads of the user), so a warm page runs none of the above and
the first view after a change recomputes.

Percentages are over those who answered THAT question: the seed's 62.9% is 22
of the 35 who answered the format question, not of all 47 responses.

Suppression (DESIGN §4): everyone but the secretariat
(`access.must_suppress_small_cells`) sees any count 0 < n < MIN_CELL as "—",
with its percentage hidden. Hiding a count is not enough when other
published numbers add up to it, so the counts of a survey form one system
(`_Ledger`) that is settled as a whole:

* sums: a question's choices add up to its n (single choice, scale); the
  columns of a cross-tabulation add up to the n, each row to its choice's
  count, each column to its n (single choice, scale); 4・5 to the top share;
* links: a show-if question's n is the count of the answer it follows, in
  total and in every column (Q2, asked only of those who answered Q1 "はい",
  has n = Q1's はい); a text question's count of texts is its n, the
  "その他" texts are the その他 count, a number question's count is its n.

Whenever exactly one number of a sum is hidden, the next smallest is hidden
too; whenever the count a link follows is hidden, so is its follower (and
the other way round when they are equal). This repeats until nothing
changes, over every cross-tabulation axis at once whichever one the page
shows, so the page for each axis, the exports and the dashboard publish
parts of one consistently suppressed whole: no published n, margin or
total gives a hidden count back by subtraction. A percentage over a hidden
n is hidden too (count / share would give the n). Free-text answers are
never shown to them, only their number; the minimum and maximum of a number
question (one respondent's value each) are hidden; the mean of a scale is
hidden once one of its cells is.

Over time: the committee reads the aggregates of closed surveys only
(`access.sees_live_results`): two looks at an open survey around one
response would differ by that response alone.

Anonymous surveys: the cross-tabulations are suppressed for the secretariat
too. A cross-tab cell pairs answers with respondent attributes (organisation
kind, region, participation), and the secretariat knows who was invited from
where, so a region with one respondent would name them. The per-question
counts and the free texts (listed without any attribute, in text order) are
shown to the secretariat as for named surveys.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import astuple, dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.core.cache import cache
from django.db import connection
from django.db.models import Avg, Count, F, Max, Min, OuterRef, Q, Subquery, Value, Window
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.versions import table, version_of
from network.enums import OrganisationKind
from network.models import Membership, Organisation, Region

from . import access
from .enums import AudienceGroup, QuestionKind, ResultDimension, SurveyKind, SurveyStatus
from .models import OTHER_CHOICE, Answer, Invitation, Question, Response, Survey

MIN_CELL = access.MIN_CELL
TEXT_LIMIT = 200
SUPPRESSED = "—"

# Audience groups: the three kinds the seed reports on.
GROUP_OF_KIND = {
    OrganisationKind.MUNICIPALITY: AudienceGroup.MUNICIPAL,
    OrganisationKind.CONTRACTOR: AudienceGroup.CONTRACTOR,
    OrganisationKind.SUPPORT: AudienceGroup.CONTRACTOR,
}
GROUPS = AudienceGroup.choices

DIMENSIONS = ResultDimension.choices
DIMENSION_KEYS = set(ResultDimension.values)
PARTICIPATION = [
    ("yes", _("今年度参加あり")),
    ("no", _("今年度参加なし")),
]
UNKNOWN = ("unknown", _("不明"))

# Scale answers counted as "役に立った" (positive): 4 and 5.
TOP_VALUES = (4, 5)
SCALE_VALUES = (5, 4, 3, 2, 1)


def kind_group(kind: str | None) -> str:
    return GROUP_OF_KIND.get(kind or "", AudienceGroup.OTHER)


def percent(n: int, base: int) -> Decimal | None:
    """n of base in percent, one decimal, rounded half up (22/35 → 62.9;
    1/16 → 6.3, where float round() gives 6.2); None when base is 0.

    The portal's one response rate and share: every cell of the results, and
    the survey list's and overview's response rates (views/manage.py)."""
    if not base:
        return None
    return (Decimal(n) * 100 / Decimal(base)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def _small(n: int) -> bool:
    return 0 < n < MIN_CELL


@dataclass(eq=False)
class Cell:
    """A count with the base its percentage is of; `suppressed` hides both.
    `of` is the cell counting that base: when it is hidden, so is the
    percentage (count / share would give the base back). A `pinned` cell is
    shown whatever happens (the secretariat's own figures of an anonymous
    survey, whose cross-tabulations are suppressed)."""

    n: int = 0
    base: int = 0
    suppressed: bool = False
    of: Cell | None = None
    pinned: bool = False

    @property
    def share_hidden(self) -> bool:
        return self.suppressed or (self.of is not None and self.of.suppressed)

    @property
    def pct(self) -> Decimal | None:
        return None if self.share_hidden else percent(self.n, self.base)

    @property
    def display(self) -> str:
        return SUPPRESSED if self.suppressed else str(self.n)

    @property
    def pct_display(self) -> str:
        if self.share_hidden:
            return SUPPRESSED
        pct = self.pct
        return "" if pct is None else f"{pct}%"

    @property
    def bar(self) -> str:
        """The bar's CSS width (never localised: "62.9", not "62,9")."""
        pct = self.pct
        return "0" if pct is None else f"{pct}"

    def hide(self) -> bool:
        if self.suppressed or self.pinned:
            return False
        self.suppressed = True
        return True

    def __str__(self):
        return self.display


def suppress_small(cells) -> None:
    for cell in cells:
        if _small(cell.n):
            cell.hide()


def complement(cells) -> bool:
    """If exactly one of `cells` (which add up to a shown total) is suppressed,
    suppress the next smallest one too. Returns whether anything changed."""
    cells = list(cells)
    if sum(cell.suppressed for cell in cells) != 1:
        return False
    shown = [cell for cell in cells if not cell.suppressed]
    if not shown:
        return False
    # A non-zero cell hides more than a zero one; among them the smallest.
    candidate = min(shown, key=lambda cell: (cell.n == 0, cell.n))
    return candidate.hide()


def _complement_sum(total: Cell, parts: list[Cell], *, total_first: bool = False) -> bool:
    """`total` = sum of `parts`. If exactly one of them is hidden, hide another:
    the smallest shown part (a non-zero one first), or the total when no part
    is left (or first, for `total_first`). Returns whether anything changed."""
    if (total.suppressed + sum(part.suppressed for part in parts)) != 1:
        return False
    if total_first and total.hide():
        return True
    shown = [part for part in parts if not part.suppressed and not part.pinned]
    if shown:
        return min(shown, key=lambda cell: (cell.n == 0, cell.n)).hide()
    return total.hide()


def _follow(leader: Cell, follower: Cell) -> bool:
    """`follower` counts (at most) what `leader` counts: hidden with it; and
    when they are equal, a hidden follower hides its leader too."""
    if leader.suppressed:
        return follower.hide()
    if follower.suppressed and follower.n == leader.n:
        return leader.hide()
    return False


class _Ledger:
    """The sums and links that tie the published counts of one survey together
    (see the module's docstring), settled until no hidden count can be
    recovered from a single one of them."""

    def __init__(self):
        self.sums: list[tuple[Cell, list[Cell], bool]] = []
        self.links: list[tuple[Cell, Cell]] = []

    def sum(self, total: Cell, parts, *, total_first: bool = False) -> None:
        parts = list(parts)
        if parts:
            self.sums.append((total, parts, total_first))

    def link(self, leader: Cell, follower: Cell) -> None:
        self.links.append((leader, follower))

    def settle(self) -> None:
        # Every round that changes something hides one more cell, so this ends.
        changed = True
        while changed:
            changed = False
            for total, parts, total_first in self.sums:
                changed |= _complement_sum(total, parts, total_first=total_first)
            for leader, follower in self.links:
                changed |= _follow(leader, follower)


# --- result objects ---------------------------------------------------------------


@dataclass(eq=False)
class Row:
    """One choice (or scale value) of a question."""

    value: str
    label: str
    cell: Cell
    is_other: bool = False


@dataclass(eq=False)
class Column:
    key: str
    label: str
    total: Cell


@dataclass(eq=False)
class CrossRow:
    label: str
    cells: list[Cell]
    total: Cell


@dataclass(eq=False)
class CrossTab:
    dimension: str
    columns: list[Column]
    rows: list[CrossRow]


@dataclass(eq=False)
class TextAnswer:
    text: str
    choice: str = ""
    respondent: str = ""
    submitted_at: object = None


@dataclass(eq=False)
class QuestionResult:
    question: Question
    number: int
    answered: Cell
    rows: list[Row] = field(default_factory=list)
    # scale
    mean: Decimal | None = None
    top: Cell | None = None
    # number
    count: int = 0
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    # free text (text questions, and the "その他" of choice questions)
    text_count: int = 0
    texts: list[TextAnswer] = field(default_factory=list)
    crosstab: CrossTab | None = None
    # text_count and count as published (suppressed like any other count)
    text_cell: Cell = field(default_factory=Cell)
    count_cell: Cell = field(default_factory=Cell)

    @property
    def kind(self) -> str:
        return self.question.kind

    @property
    def is_scale(self) -> bool:
        return self.question.is_scale

    @property
    def is_number(self) -> bool:
        return self.question.is_number

    @property
    def is_text(self) -> bool:
        return self.question.is_text

    @property
    def has_rows(self) -> bool:
        return bool(self.rows)

    @property
    def texts_truncated(self) -> bool:
        return self.text_count > len(self.texts) and bool(self.texts)

    def row(self, value) -> Row | None:
        return next((row for row in self.rows if row.value == str(value)), None)


@dataclass(eq=False)
class RateRow:
    key: str
    label: str
    invited: Cell
    answered: Cell


@dataclass(eq=False)
class YoyLine:
    label: str
    values: list[str]


@dataclass(eq=False)
class YoyQuestion:
    key: str
    text: str
    lines: list[YoyLine]


@dataclass(eq=False)
class Yoy:
    surveys: list[Survey]  # in 年度 order, this survey among them
    questions: list[YoyQuestion]


@dataclass(eq=False)
class SurveyResults:
    survey: Survey
    suppressed: bool
    show_texts: bool
    invited: Cell
    answered: Cell
    questions: list[QuestionResult]
    rate_rows: list[RateRow]
    dimension: str | None
    yoy: Yoy | None

    @property
    def dimensions(self):
        return DIMENSIONS

    @property
    def dimension_label(self) -> str:
        return str(dict(DIMENSIONS).get(self.dimension, ""))

    @property
    def by_participation(self) -> bool:
        return self.dimension == ResultDimension.PARTICIPATION

    @property
    def response_rate(self) -> str:
        return self.answered.pct_display

    def question(self, key: str) -> QuestionResult | None:
        return next((q for q in self.questions if q.question.key == key), None)


# --- the queries ----------------------------------------------------------------------

_ATTRS = ("response__organisation_kind", "response__region_id", "response__participated")
_HAS_VALUE = Q(number__isnull=False) | ~Q(choice="") | ~Q(text="")


def _submitted_answers(question_ids):
    return Answer.objects.filter(question_id__in=question_ids, response__submitted_at__isnull=False)


def _value_key(question: Question, choice: str, number) -> str:
    if question.kind in (QuestionKind.SCALE, QuestionKind.NUMBER):
        if number is not None:
            return str(int(number))
        return choice
    return choice


def _group_key(dimension: str, kind, region_id, participated) -> str:
    if dimension == ResultDimension.KIND:
        return kind_group(kind)
    if dimension == ResultDimension.REGION:
        return str(region_id) if region_id else UNKNOWN[0]
    if participated is None:
        return UNKNOWN[0]
    return "yes" if participated else "no"


def neighbour_surveys(survey: Survey, user) -> list[Survey]:
    """The annual surveys of the 年度 before and after (one each, the latest
    opened), whose aggregates `user` may read now (the committee: closed
    ones). Not an annual survey: none."""
    if survey.kind != SurveyKind.ANNUAL:
        return []
    found = {}
    candidates = (
        Survey.objects.results_visible_to(user)
        .filter(
            kind=SurveyKind.ANNUAL,
            status=SurveyStatus.PUBLISHED,
            fiscal_year__in=[survey.fiscal_year - 1, survey.fiscal_year + 1],
        )
        .exclude(pk=survey.pk)
        .order_by("fiscal_year", "-opens_at", "-pk")
    )
    for other in candidates:
        found.setdefault(other.fiscal_year, other)
    return [found[year] for year in sorted(found)]


@dataclass(eq=False)
class _Scope:
    """The questions one computation reads: this survey's (`own`), the
    neighbouring years' that share a key with them (`others`, for the
    year-over-year figures) and everything counted (`wanted`)."""

    survey_ids: list[int]
    own: list[Question]
    others: list[Question]
    wanted: list[Question]


@dataclass(eq=False)
class _Counts:
    """What the GROUP BY queries return, by question pk."""

    responses: dict[int, int]  # submitted responses per survey
    counts: dict[int, dict[str, int]]  # value → respondents
    answered: dict[int, int]  # respondents who answered the question
    choice_rows: dict[int, list[dict]]  # (value, attributes) → respondents
    respondent_rows: dict[int, list[dict]]  # attributes → respondents
    stats: dict[int, dict]
    texts: dict[int, list[TextAnswer]]


@dataclass(frozen=True)
class Viewer:
    """Everything `compute` reads of its user: the answers of the access rules
    it asks. Two users with the same Viewer get the same results, so the cache
    keeps one result per Viewer (`cache_key`) — the secretariat's unsuppressed
    figures and texts are never what the committee is served."""

    suppress: bool  # access.must_suppress_small_cells
    show_texts: bool  # asked for, and access.sees_free_texts
    named_texts: bool  # access.sees_text_respondents
    live: bool  # access.sees_live_results: which neighbouring years count
    sees_surveys: bool  # access.visible_surveys lets any survey through

    @classmethod
    def of(cls, user, survey: Survey, *, with_texts: bool) -> Viewer:
        show_texts = with_texts and access.sees_free_texts(user)
        return cls(
            suppress=access.must_suppress_small_cells(user),
            show_texts=show_texts,
            named_texts=show_texts and access.sees_text_respondents(user, survey),
            live=access.sees_live_results(user),
            sees_surveys=access.can_manage_surveys(user) or access.can_view_results(user),
        )

    @property
    def key(self) -> str:
        return "".join("1" if flag else "0" for flag in astuple(self))


def compute(
    survey: Survey,
    user,
    *,
    dimension: str | None = ResultDimension.KIND,
    with_texts: bool = True,
) -> SurveyResults:
    """Everything the results page and the aggregates export show, for `user`.
    `dimension` picks the cross-tabulation (None: none); `with_texts` reads
    the free texts (for those who may see them). Callers check
    access.may_read_results first (the committee reads closed surveys only).
    Pages read it through `cached`."""
    viewer = Viewer.of(user, survey, with_texts=with_texts)
    suppress, show_texts = viewer.suppress, viewer.show_texts
    neighbours = neighbour_surveys(survey, user)
    scope = _scope(survey, neighbours, suppress=suppress)
    data = _read(scope, show_texts=show_texts, named=viewer.named_texts)
    result_of = _question_results(scope, data)
    tabs = _protect_surveys(survey, scope, data, result_of, suppress=suppress, dimension=dimension)
    results = [result_of[q.pk] for q in scope.own]
    if dimension:
        _attach_crosstabs(results, scope.own, data, tabs[dimension], dimension)
    invited, rate_rows = _rates(survey, suppress)
    answered = Cell(data.responses.get(survey.pk, 0), invited.n)
    if suppress and _small(answered.n):
        answered.suppressed = True
    return SurveyResults(
        survey=survey,
        suppressed=suppress,
        show_texts=show_texts,
        invited=invited,
        answered=answered,
        questions=results,
        rate_rows=rate_rows,
        dimension=dimension,
        yoy=_yoy(survey, neighbours, results, scope.others, result_of) if neighbours else None,
    )


def _scope(survey: Survey, neighbours: list[Survey], *, suppress: bool) -> _Scope:
    """Query 1: the questions of this survey and its neighbours."""
    survey_ids = [survey.pk] + [s.pk for s in neighbours]
    questions = list(
        Question.objects.filter(survey_id__in=survey_ids).order_by("survey_id", "order", "pk")
    )
    own = [q for q in questions if q.survey_id == survey.pk]
    keys = {q.key for q in own if q.key}
    others = [q for q in questions if q.survey_id != survey.pk and q.key in keys]
    # Suppressed figures of a neighbouring year are those of its own results
    # page, which depend on all its questions (sums and show-if links).
    wanted = own + ([q for q in questions if q.survey_id != survey.pk] if suppress else others)
    return _Scope(survey_ids, own, others, wanted)


def _grouped(rows) -> dict[int, list[dict]]:
    by_question: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        by_question[row["question_id"]].append(row)
    return by_question


def _read(scope: _Scope, *, show_texts: bool, named: bool) -> _Counts:
    """Queries 3–7 of the module's list, summed per question."""
    ids = [q.pk for q in scope.wanted]
    by_id = {q.pk: q for q in scope.wanted}
    responses = dict(
        Response.objects.filter(survey_id__in=scope.survey_ids, submitted_at__isnull=False)
        .values("survey_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("survey_id", "n")
    )
    choice_rows = list(
        _submitted_answers([q.pk for q in scope.wanted if q.kind in _COUNTED])
        .values("question_id", "choice", "number", *_ATTRS)
        .annotate(n=Count("response_id", distinct=True))
        .order_by()
    )
    respondent_rows = list(
        _submitted_answers(ids)
        .filter(_HAS_VALUE)
        .values("question_id", *_ATTRS)
        .annotate(n=Count("response_id", distinct=True))
        .order_by()
    )
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in choice_rows:
        question = by_id[row["question_id"]]
        counts[question.pk][_value_key(question, row["choice"], row["number"])] += row["n"]
    answered: dict[int, int] = defaultdict(int)
    for row in respondent_rows:
        answered[row["question_id"]] += row["n"]
    texts = {}
    if show_texts:
        texts = _texts([q.pk for q in scope.own], named=named)
    return _Counts(
        responses=responses,
        counts=counts,
        answered=answered,
        choice_rows=_grouped(choice_rows),
        respondent_rows=_grouped(respondent_rows),
        stats=_stats(ids),
        texts=texts,
    )


def _stats(question_ids) -> dict[int, dict]:
    """Query 6: count, mean, minimum and maximum of numbers; number of texts."""
    return {
        row["question_id"]: row
        for row in _submitted_answers(question_ids)
        .values("question_id")
        .annotate(
            count=Count("number"),
            mean=Avg("number"),
            minimum=Min("number"),
            maximum=Max("number"),
            texts=Count("pk", filter=~Q(text="")),
        )
        .order_by()
    }


def _question_results(scope: _Scope, data: _Counts) -> dict[int, QuestionResult]:
    numbers = {q.pk: i for i, q in enumerate(scope.own, start=1)}
    return {
        q.pk: _question_result(
            q,
            numbers.get(q.pk, 0),
            data.answered[q.pk],
            data.counts.get(q.pk, {}),
            data.stats.get(q.pk),
            data.texts.get(q.pk, []),
        )
        for q in scope.wanted
    }


def _protect_surveys(
    survey: Survey,
    scope: _Scope,
    data: _Counts,
    result_of: dict[int, QuestionResult],
    *,
    suppress: bool,
    dimension: str | None,
) -> dict[str, dict[int, _Tab]]:
    """Which surveys' counts are protected, and over which axes: for the
    committee every survey shown (this one, the neighbours' year-over-year
    figures) over every axis, whichever the page shows, so that all views
    are parts of one suppressed whole; for the secretariat the
    cross-tabulations of an anonymous survey (its own figures stay as they
    are). Returns this survey's cross-tabulations by axis."""
    own_tabs: dict[str, dict[int, _Tab]] = {}
    for sid in scope.survey_ids:
        results_of_survey = [result_of[q.pk] for q in scope.wanted if q.survey_id == sid]
        protect = suppress or (sid == survey.pk and survey.anonymous)
        if protect:
            axes = list(ResultDimension.values)
        elif sid == survey.pk and dimension:
            axes = [dimension]
        else:
            axes = []
        survey_tabs = {axis: _tabs(results_of_survey, axis, data) for axis in axes}
        if protect:
            _protect(results_of_survey, survey_tabs, suppress=suppress)
        if sid == survey.pk:
            own_tabs = survey_tabs
    return own_tabs


def _tabs(results: list[QuestionResult], axis: str, data: _Counts) -> dict[int, _Tab]:
    return {
        qr.question.pk: _tab(
            qr, axis, data.choice_rows[qr.question.pk], data.respondent_rows[qr.question.pk]
        )
        for qr in results
        if qr.question.kind in _COUNTED
    }


def _attach_crosstabs(
    results: list[QuestionResult],
    own: list[Question],
    data: _Counts,
    tabs: dict[int, _Tab],
    dimension: str,
) -> None:
    own_rows = [row for q in own for row in data.respondent_rows[q.pk]]
    columns = _columns(dimension, own_rows)
    for qr in results:
        tab = tabs.get(qr.question.pk)
        if tab is not None:
            qr.crosstab = _display_tab(qr, tab, dimension, columns)


_COUNTED = (QuestionKind.SINGLE, QuestionKind.MULTIPLE, QuestionKind.SCALE)


def _texts(question_ids, *, named: bool) -> dict[int, list[TextAnswer]]:
    """The latest TEXT_LIMIT free texts per question, one query. Who wrote
    each is read only when `named` (access.sees_text_respondents); otherwise
    — an anonymous survey — no respondent attribute is read, and the texts are
    put in text order so that their order cannot be matched with who answered
    when."""
    rows = (
        _submitted_answers(question_ids)
        .exclude(text="")
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("question_id")],
                order_by=[F("response__submitted_at").desc(), F("pk").desc()],
            )
        )
        .filter(rank__lte=TEXT_LIMIT)
    )
    fields = ["question_id", "choice", "text"]
    if named:
        fields += [
            "response__submitted_at",
            "response__organisation__name",
            "response__user__full_name",
            "response__user__email",
        ]
    result: dict[int, list[TextAnswer]] = defaultdict(list)
    for row in rows.values(*fields):
        respondent = ""
        if named:
            person = row["response__user__full_name"] or row["response__user__email"] or ""
            org = row["response__organisation__name"] or ""
            respondent = f"{person}（{org}）" if person and org else (org or person)
        result[row["question_id"]].append(
            TextAnswer(
                text=row["text"],
                choice=row["choice"],
                respondent=respondent,
                submitted_at=row.get("response__submitted_at"),
            )
        )
    for items in result.values():
        if named:
            items.sort(key=lambda t: t.submitted_at, reverse=True)
        else:
            items.sort(key=lambda t: (t.choice, t.text))
    return result


def _row_values(question: Question, counts: dict[str, int]) -> list[tuple[str, str, bool]]:
    """(stored value, label, is the "その他" option) in display order."""
    if question.kind == QuestionKind.SCALE:
        labels = {5: question.scale_max_label, 1: question.scale_min_label}
        return [
            (str(v), f"{v}（{labels[v]}）" if labels.get(v) else str(v), False)
            for v in SCALE_VALUES
        ]
    values = [str(c) for c in question.choices or []]
    if question.allow_other and OTHER_CHOICE not in values:
        values.append(OTHER_CHOICE)
    # Values stored but no longer offered (the question was edited) still count.
    extra = sorted((v for v in counts if v and v not in values), key=lambda v: (-counts[v], v))
    return [(v, v, v == OTHER_CHOICE) for v in values + extra]


def _question_result(question, number, n_answered, counts, stats, texts) -> QuestionResult:
    """The counts as they are; suppression is _protect's."""
    qr = QuestionResult(question=question, number=number, answered=Cell(n_answered), texts=texts)
    if question.kind in _COUNTED:
        qr.rows = [
            Row(value, label, Cell(counts.get(value, 0), n_answered, of=qr.answered), is_other)
            for value, label, is_other in _row_values(question, counts)
        ]
    if stats:
        qr.text_count = stats["texts"]
        qr.count = stats["count"]
    qr.text_cell = Cell(qr.text_count)
    qr.count_cell = Cell(qr.count)
    if question.kind == QuestionKind.SCALE:
        top_n = sum(counts.get(str(v), 0) for v in TOP_VALUES)
        qr.top = Cell(top_n, n_answered, of=qr.answered)
        if stats and stats["mean"] is not None:
            qr.mean = Decimal(str(stats["mean"])).quantize(Decimal("0.1"), ROUND_HALF_UP)
    if question.kind == QuestionKind.NUMBER and stats and stats["count"]:
        qr.mean = Decimal(str(stats["mean"])).quantize(Decimal("0.1"), ROUND_HALF_UP)
        qr.minimum = stats["minimum"]
        qr.maximum = stats["maximum"]
    return qr


def _exclusive(question: Question) -> bool:
    """Each respondent gives exactly one of the rows."""
    return question.kind in (QuestionKind.SINGLE, QuestionKind.SCALE)


def _own_cells(qr: QuestionResult) -> list[Cell]:
    """The question's figures outside the cross-tabulations."""
    cells = [qr.answered, qr.text_cell, qr.count_cell, *(row.cell for row in qr.rows)]
    return cells + ([qr.top] if qr.top else [])


def _protect(results: list[QuestionResult], tabs: dict, *, suppress: bool) -> None:
    """Suppress the small counts of one survey's questions (`suppress`: their
    own figures too, else only the cross-tabulations in `tabs`), then settle
    every sum and link among them (see the module's docstring)."""
    ledger = _Ledger()
    for qr in results:
        _hide_or_pin_own(qr, suppress=suppress)
        _enter_question(ledger, qr)
        for by_question in tabs.values():
            tab = by_question.get(qr.question.pk)
            if tab is not None:
                _suppress_tab(tab)
                _enter_tab(ledger, qr, tab)
    _enter_conditions(ledger, results, tabs)
    ledger.settle()
    if suppress:
        _hide_revealing_statistics(results)


def _hide_or_pin_own(qr: QuestionResult, *, suppress: bool) -> None:
    if not suppress:
        for cell in _own_cells(qr):
            cell.pinned = True
        return
    if _small(qr.answered.n):
        for cell in _own_cells(qr):
            cell.hide()
    suppress_small(_own_cells(qr))


def _enter_question(ledger: _Ledger, qr: QuestionResult) -> None:
    """The sums and links among one question's own figures."""
    if _exclusive(qr.question):
        ledger.sum(qr.answered, [row.cell for row in qr.rows])
    if qr.top is not None:
        # The headline share goes before a choice's count does.
        ledger.sum(qr.top, [qr.row(v).cell for v in TOP_VALUES], total_first=True)
    if qr.is_text:
        ledger.link(qr.answered, qr.text_cell)
    elif qr.text_count:
        other = qr.row(OTHER_CHOICE)
        ledger.link(other.cell if other else qr.answered, qr.text_cell)
    if qr.is_number:
        ledger.link(qr.answered, qr.count_cell)


def _enter_tab(ledger: _Ledger, qr: QuestionResult, tab: _Tab) -> None:
    """A cross-tabulation's columns add up to the n, its rows to each choice's
    count and (one answer each) each column to its n."""
    ledger.sum(qr.answered, tab.heads.values())
    for row in qr.rows:
        ledger.sum(row.cell, [tab.cells[(row.value, key)] for key in tab.heads])
    if _exclusive(qr.question):
        for key, head in tab.heads.items():
            ledger.sum(head, [tab.cells[(row.value, key)] for row in qr.rows])


def _enter_conditions(ledger: _Ledger, results: list[QuestionResult], tabs: dict) -> None:
    """A show-if question is answered by those who gave its parent's answer:
    its n (in total and per column) follows that answer's count."""
    by_pk = {qr.question.pk: qr for qr in results}
    for qr in results:
        parent = by_pk.get(qr.question.show_if_question_id)
        row = parent.row(qr.question.show_if_value) if parent else None
        if row is None:
            continue
        ledger.link(row.cell, qr.answered)
        for by_question in tabs.values():
            parent_tab, tab = by_question.get(parent.question.pk), by_question.get(qr.question.pk)
            if parent_tab is None or tab is None:
                continue
            for key, head in tab.heads.items():
                leader = parent_tab.cells.get((row.value, key))
                if leader is not None:
                    ledger.link(leader, head)


def _hide_revealing_statistics(results: list[QuestionResult]) -> None:
    """Statistics that would give a hidden count or one respondent away."""
    for qr in results:
        hidden = qr.answered.suppressed or any(row.cell.suppressed for row in qr.rows)
        if qr.is_scale and hidden:
            qr.mean = None
        if qr.is_number:
            # The extremes are single respondents' values.
            qr.minimum = qr.maximum = None
            if qr.count < MIN_CELL:
                qr.mean = None


# --- cross-tabulation ------------------------------------------------------------------


def _columns(dimension: str, respondent_rows) -> list[tuple[str, str]]:
    present = {
        _group_key(
            dimension,
            r["response__organisation_kind"],
            r["response__region_id"],
            r["response__participated"],
        )
        for r in respondent_rows
    }
    if dimension == ResultDimension.KIND:
        # その他 (国・関係行政, other, none) only when someone of it answered.
        return [
            (key, str(label))
            for key, label in GROUPS
            if key != AudienceGroup.OTHER or AudienceGroup.OTHER in present
        ]
    if dimension == ResultDimension.REGION:
        columns = [
            (str(pk), name)
            for pk, name in Region.objects.order_by("order").values_list("pk", "short_name")
        ]
    else:
        columns = [(key, str(label)) for key, label in PARTICIPATION]
    if UNKNOWN[0] in present:
        columns.append((UNKNOWN[0], str(UNKNOWN[1])))
    return columns


def _column_order(dimension: str, key: str):
    """Columns in a fixed order whichever page is shown (the suppression's
    choices depend on it): kind and participation as displayed, 振興局 by id."""
    if dimension == ResultDimension.KIND:
        return [k for k, _label in GROUPS].index(key)
    if dimension == ResultDimension.PARTICIPATION:
        return ["yes", "no", UNKNOWN[0]].index(key)
    return int(key) if key != UNKNOWN[0] else 10**9


@dataclass(eq=False)
class _Tab:
    """One question by one axis: the columns someone answered in, by key."""

    heads: dict[str, Cell]
    cells: dict[tuple[str, str], Cell]


def _tab(qr: QuestionResult, dimension: str, choice_rows, respondent_rows) -> _Tab:
    def key_of(row):
        return _group_key(
            dimension,
            row["response__organisation_kind"],
            row["response__region_id"],
            row["response__participated"],
        )

    totals: dict[str, int] = defaultdict(int)
    for row in respondent_rows:
        totals[key_of(row)] += row["n"]
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for row in choice_rows:
        counts[(_value_key(qr.question, row["choice"], row["number"]), key_of(row))] += row["n"]
    keys = sorted(totals, key=lambda key: _column_order(dimension, key))
    heads = {key: Cell(totals[key], qr.answered.n, of=qr.answered) for key in keys}
    cells = {
        (row.value, key): Cell(counts.get((row.value, key), 0), totals[key], of=heads[key])
        for row in qr.rows
        for key in keys
    }
    return _Tab(heads, cells)


def _suppress_tab(tab: _Tab) -> None:
    """Small cells, and the whole column of a small column (its zeros too:
    "0 of 2 said no" would say what both said)."""
    suppress_small(tab.heads.values())
    for (_value, key), cell in tab.cells.items():
        if tab.heads[key].suppressed or _small(cell.n):
            cell.hide()


def _display_tab(qr: QuestionResult, tab: _Tab, dimension, columns) -> CrossTab:
    """The cross-tabulation as shown: every column of the axis, in display
    order; those nobody answered in are zeros."""
    heads = [
        Column(key, label, tab.heads.get(key) or Cell(0, qr.answered.n, of=qr.answered))
        for key, label in columns
    ]
    rows = [
        CrossRow(
            label=row.label,
            cells=[tab.cells.get((row.value, key)) or Cell(0, 0) for key, _label in columns],
            total=row.cell,
        )
        for row in qr.rows
    ]
    return CrossTab(dimension=dimension, columns=heads, rows=rows)


# --- response rates ---------------------------------------------------------------------


def _rates(survey: Survey, suppress: bool) -> tuple[Cell, list[RateRow]]:
    """Invited and answered per audience group, counted on the invitations.

    The group is the invited organisation's kind; for a person-unit
    invitation, the kind of the invitee's first organisation (by membership
    order). Answered = the invitation has been responded to, which an
    anonymous response keeps too."""
    first_kind = (
        Membership.objects.filter(user=OuterRef("user_id"))
        .order_by("pk")
        .values("organisation__kind")[:1]
    )
    rows = (
        Invitation.objects.filter(survey=survey)
        .annotate(group_kind=Coalesce("organisation__kind", Subquery(first_kind), Value("")))
        .values("group_kind")
        .annotate(invited=Count("pk"), answered=Count("pk", filter=Q(responded_at__isnull=False)))
        .order_by()
    )
    invited: dict[str, int] = defaultdict(int)
    answered: dict[str, int] = defaultdict(int)
    for row in rows:
        group = kind_group(row["group_kind"])
        invited[group] += row["invited"]
        answered[group] += row["answered"]
    rate_rows = []
    for key, label in GROUPS:
        invited_cell = Cell(invited[key])
        rate_rows.append(
            RateRow(
                key, str(label), invited_cell, Cell(answered[key], invited[key], of=invited_cell)
            )
        )
    if suppress:
        for column in ("invited", "answered"):
            cells = [getattr(r, column) for r in rate_rows]
            suppress_small(cells)
            complement(cells)
        for r in rate_rows:
            if r.invited.suppressed:
                r.answered.hide()
    return Cell(sum(invited.values())), rate_rows


# --- year over year -----------------------------------------------------------------------


def _figure(cell: Cell | None) -> str:
    if cell is None:
        return ""
    if cell.suppressed:
        return SUPPRESSED
    pct = cell.pct
    return f"{pct}%（{cell.n}）" if pct is not None else str(cell.n)


def _yoy(survey, neighbours, results, others, other_results) -> Yoy:
    """For each question key present in this survey and a neighbouring one,
    the headline figures side by side (suppressed as in each year's results)."""
    ordered = sorted([survey, *neighbours], key=lambda s: s.fiscal_year)
    by_survey_key: dict[tuple[int, str], QuestionResult] = {
        (survey.pk, qr.question.key): qr for qr in results if qr.question.key
    }
    for q in others:
        by_survey_key.setdefault((q.survey_id, q.key), other_results[q.pk])

    lines_of = []
    for qr in results:
        key = qr.question.key
        if not key or qr.is_text:
            continue
        pairs = [by_survey_key.get((s.pk, key)) for s in ordered]
        pairs = [p if p is not None and p.kind == qr.kind else None for p in pairs]
        if sum(p is not None for p in pairs) < 2:
            continue
        lines = [YoyLine(str(_("回答者数")), [p.answered.display if p else "" for p in pairs])]
        lines += _yoy_lines(qr, pairs)
        lines_of.append(YoyQuestion(key=key, text=qr.question.text, lines=lines))
    return Yoy(surveys=ordered, questions=lines_of)


def _mean_figure(qr: QuestionResult | None) -> str:
    if qr is None:
        return ""
    return str(qr.mean) if qr.mean is not None else SUPPRESSED


def _yoy_lines(qr: QuestionResult, pairs: list[QuestionResult | None]) -> list[YoyLine]:
    """The headline lines of one question over the years in `pairs` (None: a
    year without it): 4・5 and the mean of a scale, the mean of a number,
    each choice's share of a choice question."""
    if qr.is_scale:
        return [
            YoyLine(str(_("4・5の割合")), [_figure(p.top) if p else "" for p in pairs]),
            YoyLine(str(_("平均")), [_mean_figure(p) for p in pairs]),
        ]
    if qr.is_number:
        return [YoyLine(str(_("平均")), [_mean_figure(p) for p in pairs])]
    values = [row.value for row in qr.rows]
    for p in pairs:
        for row in p.rows if p else []:
            if row.value not in values:
                values.append(row.value)
    return [
        YoyLine(
            value,
            [(_figure(p.row(value).cell) if p.row(value) else "") if p else "" for p in pairs],
        )
        for value in values
    ]


# --- the cache ----------------------------------------------------------------------------

CACHE_SECONDS = 15 * 60
# Bump when the cached objects change shape.
SCHEMA = 1


def data_version(survey: Survey, now: datetime.datetime | None = None) -> str:
    """What `compute` for `survey` reads, in one query (core.versions): the
    survey and, for an annual survey, the annual surveys of its 年度 and the
    neighbouring ones (year over year) — which is `annual_data_version`."""
    if survey.kind == SurveyKind.ANNUAL:
        return annual_data_version(survey.fiscal_year, now)
    qn = connection.ops.quote_name
    surveys = f"SELECT s.{qn('id')} FROM {table(Survey)} s WHERE s.{qn('id')} = %s"
    return _version(("survey", survey.pk), surveys, [survey.pk], now)


def annual_data_version(fiscal_year: int, now: datetime.datetime | None = None) -> str:
    """The same for every annual survey of a 年度 and its neighbours: what the
    dashboard's survey panel (committee.panels, which picks the 年度's latest
    annual survey) and each of their results pages depend on."""
    qn = connection.ops.quote_name
    surveys = (
        f"SELECT s.{qn('id')} FROM {table(Survey)} s WHERE s.{qn('kind')} = %s"
        f" AND s.{qn('fiscal_year')} BETWEEN %s AND %s"
    )
    return _version(
        ("annual", fiscal_year), surveys, [SurveyKind.ANNUAL, fiscal_year - 1, fiscal_year + 1], now
    )


def _version(key, surveys: str, params: list, now) -> str:
    """The data version of the surveys `surveys` (a SELECT of their ids). What
    the results read, and what changes it:

    * the surveys: their number, ``updated_at`` (every setting: kind, 年度,
      anonymity, dates, status — the form, the services and the admin all
      save the survey) and how many have closed by `now` (the committee
      reads closed neighbouring years only);
    * their questions: number and ``updated_at`` (text, choices, labels,
      condition, order — move_question writes it too);
    * their invitations (the response rates): number, latest ``responded_at``
      (from the (survey, responded_at) index);
    * their submitted responses: number and latest ``submitted_at``, from the
      (survey, submitted_at) index. Answers are not read: only
      services.save_answers writes them, never after submission, in the
      transaction that submits the response (a deleted response or question
      takes its answers along and changes the counts); the erasure and the
      retention sweep, which rewrite texts, touch the survey's ``updated_at``;
    * memberships and organisations (the rates' group is the invitee's first
      organisation's kind; the texts name the organisation) and the 振興局
      (the columns by region): their number, latest id or ``updated_at``.

    Not caught: a member's renamed name beside their text (secretariat, named
    surveys) until the survey's data next changes or CACHE_SECONDS pass."""
    now = now or timezone.now()
    qn = connection.ops.quote_name
    of_surveys = f"WHERE {qn('survey_id')} IN ({surveys})"
    submitted = f"{of_surveys} AND {qn('submitted_at')} IS NOT NULL"
    of_ids = f"WHERE {qn('id')} IN ({surveys})"
    question_t, invitation_t, response_t = table(Question), table(Invitation), table(Response)
    membership_t, organisation_t = table(Membership), table(Organisation)
    parts = [
        (f"(SELECT COUNT(*) FROM ({surveys}) x)", params),
        (f"(SELECT MAX({qn('updated_at')}) FROM {table(Survey)} {of_ids})", params),
        (
            f"(SELECT COUNT(*) FROM {table(Survey)} {of_ids} AND {qn('closes_at')} <= %s)",
            [*params, connection.ops.adapt_datetimefield_value(now)],
        ),
        (f"(SELECT COUNT(*) FROM {question_t} {of_surveys})", params),
        (f"(SELECT MAX({qn('updated_at')}) FROM {question_t} {of_surveys})", params),
        (f"(SELECT COUNT(*) FROM {invitation_t} {of_surveys})", params),
        (f"(SELECT MAX({qn('responded_at')}) FROM {invitation_t} {of_surveys})", params),
        (f"(SELECT COUNT(*) FROM {response_t} {submitted})", params),
        (f"(SELECT MAX({qn('submitted_at')}) FROM {response_t} {submitted})", params),
        (f"(SELECT COUNT(*) FROM {membership_t})", []),
        (f"(SELECT MAX({qn('id')}) FROM {membership_t})", []),
        (f"(SELECT COUNT(*) FROM {organisation_t})", []),
        (f"(SELECT MAX({qn('updated_at')}) FROM {organisation_t})", []),
        (f"(SELECT COUNT(*) FROM {table(Region)})", []),
    ]
    return version_of(key, parts)


def cache_key(survey: Survey, version: str, viewer: Viewer, dimension: str | None) -> str:
    return f"surveys:results:{SCHEMA}:{survey.pk}:{version}:{viewer.key}:{dimension or '-'}"


def cached(
    survey: Survey,
    user,
    *,
    dimension: str | None = ResultDimension.KIND,
    with_texts: bool = True,
    now: datetime.datetime | None = None,
) -> SurveyResults:
    """`compute` through the cache: while nothing it reads has changed
    (`data_version`), one query and a cache read. Keyed by the survey, the
    version, the Viewer (what compute reads of `user`) and the axis."""
    viewer = Viewer.of(user, survey, with_texts=with_texts)
    key = cache_key(survey, data_version(survey, now), viewer, dimension)
    found = cache.get(key)
    if found is None:
        found = compute(survey, user, dimension=dimension, with_texts=with_texts)
        cache.set(key, found, CACHE_SECONDS)
    return found
