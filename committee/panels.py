"""The parts of the dashboard page: which 年度 it shows, the participation
numbers and charts (computed only when their cached fragment is rendered),
the navi's and the back-up menus' figures (directory.stats, support.stats),
and the survey panel — the key results of the 年度's annual survey, read
through surveys.results (so the committee sees suppressed aggregates only,
no free texts, and none at all before the survey closes) — with the data
version its cached fragment is keyed by (surveys.results.annual_data_version).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from functools import cached_property

from core.dates import current_fiscal_year
from directory import stats as navi_stats
from support import stats as support_stats
from surveys import access as surveys_access
from surveys import results as survey_results
from surveys.enums import SurveyKind, SurveyStatus
from surveys.models import Survey

from . import charts
from . import participation as p

# The annual survey's questions the dashboard shows, by their stable key.
KEY_QUESTIONS = ("attended", "useful", "continue", "format")


# --- the 年度 shown ----------------------------------------------------------------------


def shown_year(asked: int | None, now: datetime.datetime) -> tuple[int, list[int]]:
    """(the 年度 to show, the 年度 to offer, latest first). Without ?fy=: the
    current 年度 once it has a meeting, else the latest that has one."""
    years = p.available_years(now)
    current = current_fiscal_year()
    fiscal_year = asked or (current if current in years or not years else years[0])
    return fiscal_year, sorted({*years, current, fiscal_year}, reverse=True)


class Numbers:
    """The participation numbers of a 年度, their charts and the survey panel,
    computed (or read from the cache) only when the page's cached fragment
    has to be rendered."""

    def __init__(self, fiscal_year: int, version: str, now, user):
        self.fiscal_year, self.version, self.now, self.user = fiscal_year, version, now, user

    @cached_property
    def data(self) -> p.Participation:
        return p.cached(self.fiscal_year, self.version, now=self.now)

    @cached_property
    def attendance_chart(self) -> dict | None:
        return charts.attendance_chart(self.data) if self.data.events else None

    @cached_property
    def coverage_chart(self) -> dict:
        return charts.coverage_chart(self.data)

    @cached_property
    def panel(self) -> SurveyPanel | None:
        return survey_panel(self.fiscal_year, self.user)

    @cached_property
    def navi(self) -> navi_stats.Summary:
        """What people looked for in the navi this 年度 (directory.stats)."""
        start = datetime.date(self.fiscal_year, 4, 1)
        return navi_stats.summary(start, datetime.date(self.fiscal_year + 1, 4, 1))

    @cached_property
    def support(self) -> support_stats.Summary:
        """The back-up menus' figures of the 年度 (support.stats), with small
        cells suppressed for all but the secretariat (8 queries, read only
        when the cached section keyed by support.stats.data_version has to
        be rendered)."""
        return support_stats.summary(
            self.fiscal_year,
            suppress=surveys_access.must_suppress_small_cells(self.user),
            now=self.now,
        )


# --- the survey panel --------------------------------------------------------------------


@dataclass
class SurveyPanel:
    survey: Survey
    # None while the survey is open for a viewer who reads closed surveys only
    results: survey_results.SurveyResults | None = None
    questions: list = field(default_factory=list)  # QuestionResult of KEY_QUESTIONS, in order
    yoy: survey_results.Yoy | None = None  # the key questions, this and earlier 年度


def survey_panel(fiscal_year: int, user, *, dimension: str | None = None) -> SurveyPanel | None:
    """The latest published annual survey of the 年度 as `user` may read it;
    `dimension` adds the cross-tabulation surveys.results computes for it
    (the annual report's 自治体7/15・受託団体30/32 is the one by kind)."""
    survey = (
        Survey.objects.visible_to(user)
        .filter(kind=SurveyKind.ANNUAL, status=SurveyStatus.PUBLISHED, fiscal_year=fiscal_year)
        .order_by("-opens_at", "-pk")
        .first()
    )
    if survey is None:
        return None
    if not surveys_access.may_read_results(user, survey):
        return SurveyPanel(survey)
    results = survey_results.cached(survey, user, dimension=dimension, with_texts=False)
    questions = [q for key in KEY_QUESTIONS if (q := results.question(key)) is not None]
    return SurveyPanel(survey, results, questions, _earlier_yoy(results.yoy, fiscal_year))


def _earlier_yoy(yoy, fiscal_year: int):
    """Year over year for the key questions, the 年度 shown and the one before."""
    if yoy is None:
        return None
    keep = [i for i, s in enumerate(yoy.surveys) if s.fiscal_year <= fiscal_year]
    if len(keep) < 2:
        return None
    questions = [
        survey_results.YoyQuestion(
            key=q.key,
            text=q.text,
            lines=[
                survey_results.YoyLine(line.label, [line.values[i] for i in keep])
                for line in q.lines
            ],
        )
        for q in yoy.questions
        if q.key in KEY_QUESTIONS
    ]
    if not questions:
        return None
    return survey_results.Yoy(surveys=[yoy.surveys[i] for i in keep], questions=questions)
