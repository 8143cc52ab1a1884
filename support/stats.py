"""The back-up menus' figures of a 年度, for the committee's dashboard (seed
part Ⅲ, read by Ⅳ): per menu, what was asked for and what came of it —
applications and their outcome, the outcome reports' number fields, what it
cost in hours (the cost the seed said could not be predicted), how long it
took to start, and what the applying organisations said in the follow-up
survey — and who applied, by 振興局 and by organisation kind.

Computed in the database with a fixed number of queries (8), however many
menus, applications, sessions and answers there are
(tests/test_committee_support_panel.py asserts it at two sizes):

1. the menus, with their applications of the 年度 counted by status;
2. the menus' outcome questions of kind number;
3. the session records' hours, per menu (sums and counts);
4. the engagements (one row each: menu, status, submitted, started, outcome
   answers) — the outcome sums (JSON, summed here: portable across SQLite and
   PostgreSQL) and the median days to start are computed from these rows;
5. the follow-up surveys' answers to "useful" and "solved", grouped by
   survey, question, choice and value;
6. the follow-up surveys' submitted responses, per survey;
7. applications per 振興局 (all 14, zeros included);
8. applications per organisation kind.

Which 年度: an application's 年度 (Application.fiscal_year); its engagement,
sessions, outcome and follow-up survey count in that 年度, whenever they
were held.

Suppression (DESIGN §4), for everyone surveys.access.must_suppress_small_cells
names (all but the secretariat): the follow-up survey's figures and the two
breakdowns of who applied are about organisations and people, so they are
published like the survey results (surveys.results): a count 0 < n <
MIN_CELL shows as 「—」, and when exactly one cell of a breakdown is hidden
the next smallest is hidden too, so the shown total does not give it back.
A menu's follow-up figures are hidden as a whole when fewer than MIN_CELL
organisations answered; the share that solved is hidden too when those who
did or did not solve are fewer than MIN_CELL (the other gives it back). The
committee reads closed follow-up surveys only (like surveys.access.
sees_live_results: two looks around one response would give it away).
Counts of applications and engagements per menu, hours and days are about
the service, not about people, and are shown as they are.

The dashboard caches the rendered section under data_version (one query):
what the figures read, as counts and latest changes.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.versions import table, version_of
from network.enums import OrganisationKind
from network.models import Organisation, Region
from surveys.enums import QuestionKind
from surveys.models import Answer, Response, Survey
from surveys.results import MIN_CELL, Cell, suppress_small

from .enums import PENDING_STATUSES, SLOT_STATUSES, ApplicationStatus, QuestionPurpose
from .models import Application, Engagement, EngagementSession, Menu, MenuQuestion

# The follow-up survey's questions (surveys.catalog "support_follow_up").
USEFUL_KEY = "useful"
SOLVED_KEY = "solved"
SOLVED_CHOICES = ("解決した", "一部解決した")

UNKNOWN_REGION = _("振興局の登録なし")
ONE_PLACE = Decimal("0.1")


def hours_text(value: Decimal) -> str:
    """Hours as people write them: 4.5, 2, 1.25 (no trailing zeros)."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _one_place(value) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(ONE_PLACE, ROUND_HALF_UP)


@dataclass
class FollowUp:
    """What the applying organisations answered in a menu's follow-up surveys."""

    responses: Cell
    useful_mean: Decimal | None  # the 1–5 scale's mean, one decimal
    solved: Cell  # 解決した or 一部解決した, of those who answered "solved"
    hidden: bool = False  # fewer than MIN_CELL responses: nothing shown but 「—」

    @property
    def useful_display(self) -> str:
        if self.hidden or self.useful_mean is None:
            return "—"
        return str(self.useful_mean)


@dataclass
class Outcome:
    key: str
    text: str
    total: Decimal

    @property
    def total_text(self) -> str:
        return hours_text(self.total)


@dataclass
class MenuFigures:
    menu: Menu
    applications: int
    accepted: int  # accepted or completed
    completed: int
    declined: int
    pending: int
    outcomes: list[Outcome] = field(default_factory=list)
    partner_hours: Decimal = Decimal("0")
    secretariat_hours: Decimal = Decimal("0")
    sessions: int = 0
    engagements_recorded: int = 0  # engagements with at least one session record
    started: int = 0  # engagements with a first session
    median_days_to_start: Decimal | None = None
    follow_up: FollowUp | None = None

    @property
    def partner_hours_text(self) -> str:
        return hours_text(self.partner_hours)

    @property
    def secretariat_hours_text(self) -> str:
        return hours_text(self.secretariat_hours)

    @property
    def outcomes_line(self) -> str:
        """連携を始めた窓口の数 3、… (the annual report's cell); — for none."""
        return "、".join(f"{o.text} {o.total_text}" for o in self.outcomes) or "—"

    @property
    def hours_line(self) -> str:
        """協力団体 12.5時間・事務局 3時間 (the annual report's cell)."""
        return _("協力団体 %(partner)s時間・事務局 %(secretariat)s時間") % {
            "partner": self.partner_hours_text,
            "secretariat": self.secretariat_hours_text,
        }

    @property
    def total_hours(self) -> Decimal:
        return self.partner_hours + self.secretariat_hours

    @property
    def hours_per_engagement(self) -> Decimal | None:
        """Partner and secretariat hours together, over the engagements that
        have session records (the mean)."""
        if not self.engagements_recorded:
            return None
        return _one_place(self.total_hours / self.engagements_recorded)


@dataclass
class Breakdown:
    label: str
    cell: Cell


@dataclass
class Summary:
    fiscal_year: int
    suppressed: bool
    menus: list[MenuFigures]
    applications: int
    by_region: list[Breakdown]
    by_kind: list[Breakdown]

    @property
    def has_menus(self) -> bool:
        return bool(self.menus)


def _number(value) -> Decimal | None:
    """An outcome answer as a number (a JSON number or numeric string), else None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _protect(cells: list[Cell]) -> None:
    """Hide the small cells of one breakdown, and the next smallest while
    exactly one is hidden (its total is shown)."""
    suppress_small(cells)
    while sum(c.suppressed for c in cells) == 1:
        shown = [c for c in cells if not c.suppressed]
        # The next smallest count; when every other cell is 0, a 0 (else the
        # total less the zeros is the hidden count).
        rest = sorted((c for c in shown if c.n), key=lambda c: c.n) or shown
        if not rest:
            return
        rest[0].hide()


def _follow_up(responses: int, useful: list[Decimal], solved: int, answered: int, suppress):
    mean = _one_place(sum(useful) / len(useful)) if useful else None
    follow = FollowUp(Cell(responses), mean, Cell(solved, answered))
    if suppress:
        if 0 < responses < MIN_CELL:
            follow.hidden = True
            follow.responses.hide()
            follow.solved.hide()
            follow.useful_mean = None
        elif any(0 < n < MIN_CELL for n in (solved, answered - solved)):
            follow.solved.hide()
    return follow


def summary(fiscal_year: int, *, suppress: bool, now=None) -> Summary:
    """The figures of the 年度's applications, as the committee reads them
    (`suppress`) or as the secretariat does."""
    now = now or timezone.now()
    of_year = Q(applications__fiscal_year=fiscal_year)
    # 1. the menus and their applications by status
    menus = list(
        Menu.objects.annotate(
            n_applications=Count("applications", filter=of_year),
            n_accepted=Count(
                "applications", filter=of_year & Q(applications__status__in=SLOT_STATUSES)
            ),
            n_completed=Count(
                "applications",
                filter=of_year & Q(applications__status=ApplicationStatus.COMPLETED),
            ),
            n_declined=Count(
                "applications",
                filter=of_year & Q(applications__status=ApplicationStatus.DECLINED),
            ),
            n_pending=Count(
                "applications", filter=of_year & Q(applications__status__in=PENDING_STATUSES)
            ),
        ).order_by("number")
    )
    # 2. the outcome report's number fields
    questions = defaultdict(list)
    for menu_id, key, text in MenuQuestion.objects.filter(
        purpose=QuestionPurpose.OUTCOME, kind=QuestionKind.NUMBER
    ).values_list("menu_id", "key", "text"):
        questions[menu_id].append((key, text))
    # 3. hours
    hours = {
        row["engagement__application__menu_id"]: row
        for row in EngagementSession.objects.filter(
            engagement__application__fiscal_year=fiscal_year
        )
        .values("engagement__application__menu_id")
        .annotate(
            partner=Sum("partner_hours"),
            secretariat=Sum("secretariat_hours"),
            sessions=Count("pk"),
            engagements=Count("engagement_id", distinct=True),
        )
        .order_by()
    }
    # 4. the engagements, one row each
    engagements = Engagement.objects.filter(application__fiscal_year=fiscal_year).values_list(
        "application__menu_id",
        "application__status",
        "application__submitted_at",
        "started_on",
        "outcome_answers",
        "follow_up_survey_id",
    )
    outcome_sums: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    days: dict[int, list[int]] = defaultdict(list)
    menu_of_survey: dict[int, int] = {}
    for menu_id, status, submitted_at, started_on, answers, survey_id in engagements:
        if survey_id:
            menu_of_survey[survey_id] = menu_id
        if started_on is not None and submitted_at is not None:
            days[menu_id].append((started_on - timezone.localtime(submitted_at).date()).days)
        if status == ApplicationStatus.COMPLETED and isinstance(answers, dict):
            for key, value in answers.items():
                number = _number(value)
                if number is not None:
                    outcome_sums[menu_id][key] += number
    # 5, 6. the follow-up surveys (the committee: closed ones only)
    surveys = Engagement.objects.filter(
        application__fiscal_year=fiscal_year, follow_up_survey__isnull=False
    ).values("follow_up_survey_id")
    closed = Q(response__survey__closes_at__lte=now) if suppress else Q()
    answers = (
        Answer.objects.filter(
            closed,
            response__survey_id__in=surveys,
            response__submitted_at__isnull=False,
            question__key__in=(USEFUL_KEY, SOLVED_KEY),
        )
        .values_list("response__survey_id", "question__key", "choice", "number")
        .annotate(n=Count("pk"))
        .order_by()
    )
    useful: dict[int, list[Decimal]] = defaultdict(list)
    solved: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # solved, answered
    for survey_id, key, choice, number, n in answers:
        menu_id = menu_of_survey.get(survey_id)
        if menu_id is None:
            continue
        if key == USEFUL_KEY and number is not None:
            useful[menu_id].extend([Decimal(number)] * n)
        elif key == SOLVED_KEY and choice:
            solved[menu_id][1] += n
            if choice in SOLVED_CHOICES:
                solved[menu_id][0] += n
    responses_closed = Q(survey__closes_at__lte=now) if suppress else Q()
    responses: dict[int, int] = defaultdict(int)
    for survey_id, n in (
        Response.objects.filter(responses_closed, survey_id__in=surveys, submitted_at__isnull=False)
        .values_list("survey_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        if survey_id in menu_of_survey:
            responses[menu_of_survey[survey_id]] += n

    figures = []
    for menu in menus:
        row = hours.get(menu.pk, {})
        started = days.get(menu.pk, [])
        sums = outcome_sums.get(menu.pk, {})
        figures.append(
            MenuFigures(
                menu=menu,
                applications=menu.n_applications,
                accepted=menu.n_accepted,
                completed=menu.n_completed,
                declined=menu.n_declined,
                pending=menu.n_pending,
                outcomes=[
                    Outcome(key, text, sums.get(key, Decimal("0")))
                    for key, text in questions.get(menu.pk, [])
                ],
                partner_hours=row.get("partner") or Decimal("0"),
                secretariat_hours=row.get("secretariat") or Decimal("0"),
                sessions=row.get("sessions", 0),
                engagements_recorded=row.get("engagements", 0),
                started=len(started),
                median_days_to_start=_one_place(statistics.median(started)) if started else None,
                follow_up=_follow_up(
                    responses.get(menu.pk, 0),
                    useful.get(menu.pk, []),
                    *solved.get(menu.pk, (0, 0)),
                    suppress=suppress,
                ),
            )
        )
    total = sum(f.applications for f in figures)

    # 7. who applied, by 振興局
    regions = list(
        Region.objects.annotate(
            n=Count(
                "organisations__support_applications",
                filter=Q(organisations__support_applications__fiscal_year=fiscal_year),
            )
        )
        .order_by("order", "pk")
        .values_list("name", "n")
    )
    by_region = [Breakdown(name, Cell(n, total)) for name, n in regions]
    unknown = total - sum(n for _name, n in regions)
    if unknown:
        by_region.append(Breakdown(str(UNKNOWN_REGION), Cell(unknown, total)))
    # 8. and by organisation kind
    kinds = dict(
        Application.objects.filter(fiscal_year=fiscal_year)
        .values_list("organisation__kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    by_kind = [
        Breakdown(str(label), Cell(kinds.get(value, 0), total))
        for value, label in OrganisationKind.choices
    ]
    if suppress:
        for breakdown in (by_region, by_kind):
            _protect([b.cell for b in breakdown])
    return Summary(fiscal_year, suppress, figures, total, by_region, by_kind)


def data_version(fiscal_year: int, now=None) -> str:
    """What summary() of a 年度 reads, in one query of scalar subqueries: the
    menus and their questions (the admin saves the menu with its questions),
    the 年度's applications (every status change saves one: submitting,
    triage, completion with its outcome and follow-up survey), their
    engagements and session records (written once, never edited in the
    portal), organisations and 振興局 (who applied, by kind and area), and
    the follow-up surveys — which have closed (the committee reads closed
    ones only) and their responses (editing one saves it).

    Not caught: edits in the Django admin of engagements and session records;
    they show once the cached section expires (committee.participation.
    CACHE_SECONDS)."""
    now = now or timezone.now()
    qn = connection.ops.quote_name
    application, engagement = table(Application), table(Engagement)
    applications = f"SELECT {qn('id')} FROM {application} WHERE {qn('fiscal_year')} = %s"
    of_year = [fiscal_year]
    engagements = (
        f"SELECT {qn('id')} FROM {engagement} WHERE {qn('application_id')} IN ({applications})"
    )
    surveys = (
        f"SELECT {qn('follow_up_survey_id')} FROM {engagement}"
        f" WHERE {qn('application_id')} IN ({applications})"
        f" AND {qn('follow_up_survey_id')} IS NOT NULL"
    )
    sessions = f"FROM {table(EngagementSession)} WHERE {qn('engagement_id')} IN ({engagements})"
    responses = (
        f"FROM {table(Response)} WHERE {qn('survey_id')} IN ({surveys})"
        f" AND {qn('submitted_at')} IS NOT NULL"
    )
    parts = [
        (f"(SELECT COUNT(*) FROM {table(Menu)})", []),
        (f"(SELECT MAX({qn('updated_at')}) FROM {table(Menu)})", []),
        (f"(SELECT COUNT(*) FROM {table(MenuQuestion)})", []),
        (f"(SELECT MAX({qn('id')}) FROM {table(MenuQuestion)})", []),
        (f"(SELECT COUNT(*) FROM ({applications}) a)", of_year),
        (
            f"(SELECT MAX({qn('updated_at')}) FROM {application} WHERE {qn('fiscal_year')} = %s)",
            of_year,
        ),
        (f"(SELECT COUNT(*) FROM ({engagements}) e)", of_year),
        (f"(SELECT COUNT(*) {sessions})", of_year),
        (f"(SELECT MAX({qn('id')}) {sessions})", of_year),
        (f"(SELECT COUNT(*) FROM {table(Organisation)})", []),
        (f"(SELECT MAX({qn('updated_at')}) FROM {table(Organisation)})", []),
        (f"(SELECT COUNT(*) FROM {table(Region)})", []),
        (
            f"(SELECT COUNT(*) FROM {table(Survey)} WHERE {qn('id')} IN ({surveys})"
            f" AND {qn('closes_at')} <= %s)",
            [*of_year, connection.ops.adapt_datetimefield_value(now)],
        ),
        (
            f"(SELECT MAX({qn('updated_at')}) FROM {table(Survey)} WHERE {qn('id')} IN ({surveys}))",
            of_year,
        ),
        (f"(SELECT COUNT(*) {responses})", of_year),
        (f"(SELECT MAX({qn('updated_at')}) {responses})", of_year),
    ]
    return version_of(fiscal_year, parts)


# As long as the dashboard keeps its cached fragments (committee.participation.CACHE_SECONDS).
CACHE_SECONDS = 15 * 60


def cached_summary(fiscal_year: int, *, suppress: bool, now=None) -> Summary:
    """summary() through the cache, keyed by ``data_version``: 1 query while
    nothing it reads changed (the annual report's Ⅲ; the dashboard caches
    its rendered section by the same version)."""
    now = now or timezone.now()
    return cache.get_or_set(
        f"support:summary:{fiscal_year}:{int(suppress)}:{data_version(fiscal_year, now)}",
        lambda: summary(fiscal_year, suppress=suppress, now=now),
        CACHE_SECONDS,
    )
