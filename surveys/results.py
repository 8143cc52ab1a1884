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

Percentages are over those who answered THAT question: the seed's 62.9% is 22
of the 35 who answered the format question, not of all 47 responses.

Suppression (DESIGN §4): everyone but the secretariat
(`access.must_suppress_small_cells`) sees any count 0 < n < MIN_CELL as "—",
with its percentage hidden. When exactly one cell of a row or column that adds
up to a shown total is suppressed, the next smallest cell is suppressed too,
so the hidden value cannot be recovered by subtraction (repeated until stable
in cross-tabulations). Free-text answers are never shown to them, only their
number; the minimum and maximum of a number question (one respondent's value
each) are hidden; the mean of a scale is hidden once one of its cells is.

Anonymous surveys: the cross-tabulations are suppressed for the secretariat
too. A cross-tab cell pairs answers with respondent attributes (organisation
kind, region, participation), and the secretariat knows who was invited from
where, so a region with one respondent would name them. The per-question
counts and the free texts (listed without any attribute, in text order) are
shown to the secretariat as for named surveys.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, F, Max, Min, OuterRef, Q, Subquery, Value, Window
from django.db.models.functions import Coalesce, RowNumber
from django.utils.translation import gettext_lazy as _

from network.models import Membership, Region

from . import access
from .models import OTHER_CHOICE, Answer, Invitation, Question, Response, Survey

MIN_CELL = access.MIN_CELL
TEXT_LIMIT = 200
SUPPRESSED = "—"

# Audience groups: the three kinds the seed reports on.
GROUP_OF_KIND = {"municipality": "municipal", "contractor": "contractor", "support": "contractor"}
GROUPS = [
    ("municipal", _("自治体")),
    ("contractor", _("受託団体・支援団体")),
    ("other", _("その他")),
]

DIMENSIONS = [
    ("kind", _("組織種別")),
    ("region", _("振興局")),
    ("participation", _("参加有無")),
]
DIMENSION_KEYS = {key for key, _label in DIMENSIONS}
PARTICIPATION = [
    ("yes", _("今年度参加あり")),
    ("no", _("今年度参加なし")),
]
UNKNOWN = ("unknown", _("不明"))

# Scale answers counted as "役に立った" (positive): 4 and 5.
TOP_VALUES = (4, 5)
SCALE_VALUES = (5, 4, 3, 2, 1)


def kind_group(kind: str | None) -> str:
    return GROUP_OF_KIND.get(kind or "", "other")


def percent(n: int, base: int) -> Decimal | None:
    """n of base in percent, one decimal, rounded half up (22/35 → 62.9)."""
    if not base:
        return None
    return (Decimal(n) * 100 / Decimal(base)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def _small(n: int) -> bool:
    return 0 < n < MIN_CELL


@dataclass(eq=False)
class Cell:
    """A count with the base its percentage is of; `suppressed` hides both."""

    n: int = 0
    base: int = 0
    suppressed: bool = False

    @property
    def pct(self) -> Decimal | None:
        return None if self.suppressed else percent(self.n, self.base)

    @property
    def display(self) -> str:
        return SUPPRESSED if self.suppressed else str(self.n)

    @property
    def pct_display(self) -> str:
        if self.suppressed:
            return SUPPRESSED
        pct = self.pct
        return "" if pct is None else f"{pct}%"

    @property
    def bar(self) -> str:
        """The bar's CSS width (never localised: "62.9", not "62,9")."""
        pct = self.pct
        return "0" if pct is None else f"{pct}"

    def hide(self) -> bool:
        if self.suppressed:
            return False
        self.suppressed = True
        return True

    def __str__(self):
        return self.display


def suppress_small(cells) -> None:
    for cell in cells:
        if _small(cell.n):
            cell.suppressed = True


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

    @property
    def kind(self) -> str:
        return self.question.kind

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
    if question.kind in (Question.Kind.SCALE, Question.Kind.NUMBER):
        if number is not None:
            return str(int(number))
        return choice
    return choice


def _group_key(dimension: str, kind, region_id, participated) -> str:
    if dimension == "kind":
        return kind_group(kind)
    if dimension == "region":
        return str(region_id) if region_id else UNKNOWN[0]
    if participated is None:
        return UNKNOWN[0]
    return "yes" if participated else "no"


def neighbour_surveys(survey: Survey, user) -> list[Survey]:
    """The annual surveys of the 年度 before and after (one each, the latest
    opened), that `user` may read. Not an annual survey: none."""
    if survey.kind != Survey.Kind.ANNUAL:
        return []
    found = {}
    candidates = (
        Survey.objects.visible_to(user)
        .filter(
            kind=Survey.Kind.ANNUAL,
            status=Survey.Status.PUBLISHED,
            fiscal_year__in=[survey.fiscal_year - 1, survey.fiscal_year + 1],
        )
        .exclude(pk=survey.pk)
        .order_by("fiscal_year", "-opens_at", "-pk")
    )
    for other in candidates:
        found.setdefault(other.fiscal_year, other)
    return [found[year] for year in sorted(found)]


def compute(
    survey: Survey, user, *, dimension: str | None = "kind", with_texts: bool = True
) -> SurveyResults:
    """Everything the results page and the aggregates export show, for `user`.
    `dimension` picks the cross-tabulation (None: none); `with_texts` reads
    the free texts (for those who may see them)."""
    suppress = access.must_suppress_small_cells(user)
    show_texts = not suppress and with_texts
    neighbours = neighbour_surveys(survey, user)
    survey_ids = [survey.pk] + [s.pk for s in neighbours]

    questions = list(
        Question.objects.filter(survey_id__in=survey_ids).order_by("survey_id", "order", "pk")
    )
    own = [q for q in questions if q.survey_id == survey.pk]
    keys = {q.key for q in own if q.key}
    others = [q for q in questions if q.survey_id != survey.pk and q.key in keys]
    wanted = own + others
    ids = [q.pk for q in wanted]
    by_id = {q.pk: q for q in wanted}

    responses = dict(
        Response.objects.filter(survey_id__in=survey_ids, submitted_at__isnull=False)
        .values("survey_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("survey_id", "n")
    )

    choice_rows = list(
        _submitted_answers([q.pk for q in wanted if q.kind in _COUNTED])
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
    stats = {
        row["question_id"]: row
        for row in _submitted_answers(ids)
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
    texts = _texts(survey, [q.pk for q in own]) if show_texts else {}

    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in choice_rows:
        question = by_id[row["question_id"]]
        counts[question.pk][_value_key(question, row["choice"], row["number"])] += row["n"]
    answered: dict[int, int] = defaultdict(int)
    for row in respondent_rows:
        answered[row["question_id"]] += row["n"]

    columns = _columns(dimension, respondent_rows) if dimension else []

    def result(question: Question, number: int, with_crosstab: bool) -> QuestionResult:
        qr = _question_result(
            question,
            number,
            answered[question.pk],
            counts.get(question.pk, {}),
            stats.get(question.pk),
            texts.get(question.pk, []),
            suppress,
        )
        if with_crosstab and columns and question.kind in _COUNTED:
            qr.crosstab = _crosstab(
                qr,
                dimension,
                columns,
                [r for r in choice_rows if r["question_id"] == question.pk],
                [r for r in respondent_rows if r["question_id"] == question.pk],
                suppress or survey.anonymous,
            )
        return qr

    results = [result(q, i, True) for i, q in enumerate(own, start=1)]

    invited, rate_rows = _rates(survey, suppress)
    answered_cell = Cell(responses.get(survey.pk, 0), invited.n)
    if suppress and _small(answered_cell.n):
        answered_cell.suppressed = True
    yoy = None
    if neighbours:
        other_results = {q.pk: result(q, 0, False) for q in others}
        yoy = _yoy(survey, neighbours, results, others, other_results)
    return SurveyResults(
        survey=survey,
        suppressed=suppress,
        show_texts=show_texts,
        invited=invited,
        answered=answered_cell,
        questions=results,
        rate_rows=rate_rows,
        dimension=dimension,
        yoy=yoy,
    )


_COUNTED = (Question.Kind.SINGLE, Question.Kind.MULTIPLE, Question.Kind.SCALE)


def _texts(survey: Survey, question_ids) -> dict[int, list[TextAnswer]]:
    """The latest TEXT_LIMIT free texts per question, one query. For an
    anonymous survey no respondent attribute is read, and the texts are put in
    text order so that their order cannot be matched with who answered when."""
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
    if not survey.anonymous:
        fields += [
            "response__submitted_at",
            "response__organisation__name",
            "response__user__full_name",
            "response__user__email",
        ]
    result: dict[int, list[TextAnswer]] = defaultdict(list)
    for row in rows.values(*fields):
        respondent = ""
        if not survey.anonymous:
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
        if survey.anonymous:
            items.sort(key=lambda t: (t.choice, t.text))
        else:
            items.sort(key=lambda t: t.submitted_at, reverse=True)
    return result


def _row_values(question: Question, counts: dict[str, int]) -> list[tuple[str, str, bool]]:
    """(stored value, label, is the "その他" option) in display order."""
    if question.kind == Question.Kind.SCALE:
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


def _question_result(question, number, n_answered, counts, stats, texts, suppress):
    qr = QuestionResult(question=question, number=number, answered=Cell(n_answered), texts=texts)
    exclusive = question.kind in (Question.Kind.SINGLE, Question.Kind.SCALE)
    if question.kind in _COUNTED:
        qr.rows = [
            Row(value, label, Cell(counts.get(value, 0), n_answered), is_other)
            for value, label, is_other in _row_values(question, counts)
        ]
    if stats:
        qr.text_count = stats["texts"]
        qr.count = stats["count"]
    if question.kind == Question.Kind.SCALE:
        top_n = sum(counts.get(str(v), 0) for v in TOP_VALUES)
        qr.top = Cell(top_n, n_answered)
        if stats and stats["mean"] is not None:
            qr.mean = Decimal(str(stats["mean"])).quantize(Decimal("0.1"), ROUND_HALF_UP)
    if question.kind == Question.Kind.NUMBER and stats and stats["count"]:
        qr.mean = Decimal(str(stats["mean"])).quantize(Decimal("0.1"), ROUND_HALF_UP)
        qr.minimum = stats["minimum"]
        qr.maximum = stats["maximum"]

    if not suppress:
        return qr
    cells = [row.cell for row in qr.rows]
    if _small(n_answered):
        qr.answered.suppressed = True
        for cell in cells:
            cell.suppressed = True
        if qr.top:
            qr.top.suppressed = True
        qr.mean = None
    suppress_small(cells)
    if exclusive:
        complement(cells)
    if question.kind == Question.Kind.SCALE:
        top_cells = [qr.row(v).cell for v in TOP_VALUES]
        if _small(qr.top.n) or sum(c.suppressed for c in top_cells) == 1:
            qr.top.suppressed = True
        if any(cell.suppressed for cell in cells):
            qr.mean = None
    if question.kind == Question.Kind.NUMBER:
        # The extremes are single respondents' values.
        qr.minimum = qr.maximum = None
        if qr.count < MIN_CELL:
            qr.mean = None
    return qr


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
    if dimension == "kind":
        # その他 (国・関係行政, other, none) only when someone of it answered.
        return [(key, str(label)) for key, label in GROUPS if key != "other" or "other" in present]
    if dimension == "region":
        columns = [
            (str(pk), name)
            for pk, name in Region.objects.order_by("order").values_list("pk", "short_name")
        ]
    else:
        columns = [(key, str(label)) for key, label in PARTICIPATION]
    if UNKNOWN[0] in present:
        columns.append((UNKNOWN[0], str(UNKNOWN[1])))
    return columns


def _crosstab(qr: QuestionResult, dimension, columns, choice_rows, respondent_rows, suppress):
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
    cells: dict[tuple[str, str], int] = defaultdict(int)
    question = qr.question
    for row in choice_rows:
        value = _value_key(question, row["choice"], row["number"])
        cells[(value, key_of(row))] += row["n"]

    heads = [Column(key, label, Cell(totals.get(key, 0), qr.answered.n)) for key, label in columns]
    rows = [
        CrossRow(
            label=r.label,
            cells=[Cell(cells.get((r.value, key), 0), totals.get(key, 0)) for key, _l in columns],
            total=r.cell,
        )
        for r in qr.rows
    ]
    tab = CrossTab(dimension=dimension, columns=heads, rows=rows)
    if suppress:
        _suppress_crosstab(tab, question.kind in (Question.Kind.SINGLE, Question.Kind.SCALE))
    return tab


def _suppress_crosstab(tab: CrossTab, exclusive: bool) -> None:
    """Small cells and small columns, then complementary cells until stable:
    each row adds up to the choice's shown total; the column totals add up to
    the number who answered; for single choice and scale each column adds up
    to its total too."""
    suppress_small(column.total for column in tab.columns)
    for i, column in enumerate(tab.columns):
        for row in tab.rows:
            if column.total.suppressed or _small(row.cells[i].n):
                row.cells[i].suppressed = True
    for _round in range(50):
        changed = complement(column.total for column in tab.columns)
        for row in tab.rows:
            changed |= complement(row.cells)
        if exclusive:
            for i in range(len(tab.columns)):
                changed |= complement(row.cells[i] for row in tab.rows)
        if not changed:
            break


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
    rate_rows = [
        RateRow(key, str(label), Cell(invited[key]), Cell(answered[key], invited[key]))
        for key, label in GROUPS
    ]
    if suppress:
        for column in ("invited", "answered"):
            cells = [getattr(r, column) for r in rate_rows]
            suppress_small(cells)
            complement(cells)
        for r in rate_rows:
            if r.invited.suppressed:
                r.answered.suppressed = True
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
        if not key or qr.kind == Question.Kind.TEXT:
            continue
        pairs = [by_survey_key.get((s.pk, key)) for s in ordered]
        pairs = [p if p is not None and p.kind == qr.kind else None for p in pairs]
        if sum(p is not None for p in pairs) < 2:
            continue
        lines = [YoyLine(str(_("回答者数")), [p.answered.display if p else "" for p in pairs])]
        if qr.kind == Question.Kind.SCALE:
            lines.append(
                YoyLine(str(_("4・5の割合")), [_figure(p.top) if p else "" for p in pairs])
            )
            lines.append(
                YoyLine(
                    str(_("平均")),
                    [
                        (str(p.mean) if p.mean is not None else SUPPRESSED) if p else ""
                        for p in pairs
                    ],
                )
            )
        elif qr.kind == Question.Kind.NUMBER:
            lines.append(
                YoyLine(
                    str(_("平均")),
                    [
                        (str(p.mean) if p.mean is not None else SUPPRESSED) if p else ""
                        for p in pairs
                    ],
                )
            )
        else:
            values = [row.value for row in qr.rows]
            for p in pairs:
                for row in p.rows if p else []:
                    if row.value not in values:
                        values.append(row.value)
            for value in values:
                lines.append(
                    YoyLine(
                        value,
                        [
                            (_figure(p.row(value).cell) if p.row(value) else "") if p else ""
                            for p in pairs
                        ],
                    )
                )
        lines_of.append(YoyQuestion(key=key, text=qr.question.text, lines=lines))
    return Yoy(surveys=ordered, questions=lines_of)
