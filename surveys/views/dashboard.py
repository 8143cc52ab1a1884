"""The committee's dashboard (検討委員会 and 事務局 only): participation in the
exchange meetings per 年度, reach, the annual survey's key results, and the
exports /dashboard/participation.json (a contract, DESIGN §5) and .csv.

The numbers come from surveys.participation (cached by data version), the
survey panel from surveys.results (suppressed for the committee).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from functools import cached_property

from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from core.importing import defuse
from core.templatetags.wareki import wareki_fy

from .. import access, charts
from .. import participation as p
from .. import results as survey_results
from ..models import Answer, Invitation, Question, Response, Survey

# The annual survey's questions the dashboard shows, by their stable key.
KEY_QUESTIONS = ("attended", "useful", "continue", "format")


class BadFiscalYear(ValueError):
    pass


def parse_fiscal_year(value: str | None) -> int | None:
    """The ?fy= parameter: None when absent, else an integer 年度 in range."""
    if value is None or value == "":
        return None
    try:
        year = int(value.strip())
    except ValueError:
        raise BadFiscalYear(
            _("年度（fy）は西暦の整数で指定してください（例: fy=2021）。")
        ) from None
    if not p.MIN_FISCAL_YEAR <= year <= p.MAX_FISCAL_YEAR:
        raise BadFiscalYear(
            _("年度（fy）は %(min)d〜%(max)d の範囲で指定してください。")
            % {"min": p.MIN_FISCAL_YEAR, "max": p.MAX_FISCAL_YEAR}
        )
    return year


# --- the survey panel ---------------------------------------------------------------


@dataclass
class SurveyPanel:
    survey: Survey
    # None while the survey is open for a viewer who reads closed surveys only
    results: survey_results.SurveyResults | None = None
    questions: list = field(default_factory=list)  # QuestionResult of KEY_QUESTIONS, in order
    yoy: survey_results.Yoy | None = None  # the key questions, this and earlier 年度


def survey_panel(fiscal_year: int, user) -> SurveyPanel | None:
    """The latest published annual survey of the 年度, through surveys.results
    (so the committee sees suppressed aggregates only, no free texts, and
    none at all before the survey closes)."""
    survey = (
        Survey.objects.visible_to(user)
        .filter(kind=Survey.Kind.ANNUAL, status=Survey.Status.PUBLISHED, fiscal_year=fiscal_year)
        .order_by("-opens_at", "-pk")
        .first()
    )
    if survey is None:
        return None
    if not access.may_read_results(user, survey):
        return SurveyPanel(survey)
    results = survey_results.compute(survey, user, dimension=None, with_texts=False)
    questions = [q for key in KEY_QUESTIONS if (q := results.question(key)) is not None]
    return SurveyPanel(survey, results, questions, _earlier_yoy(results.yoy, fiscal_year))


def survey_data_version(fiscal_year: int, now=None) -> str:
    """What the survey panel of a 年度 depends on, in one query: the annual
    surveys of the 年度 and its neighbours (year over year), which of them
    have closed (the committee reads closed surveys only), their questions,
    invitations, responses and answers. Submitting or editing a response
    changes it (``updated_at``, and the answers are written anew)."""
    now = now or timezone.now()
    qn = connection.ops.quote_name

    def t(model) -> str:
        return qn(model._meta.db_table)

    surveys = (
        f"SELECT s.{qn('id')} FROM {t(Survey)} s WHERE s.{qn('kind')} = %s"
        f" AND s.{qn('fiscal_year')} BETWEEN %s AND %s"
    )
    params = [Survey.Kind.ANNUAL, fiscal_year - 1, fiscal_year + 1]
    of_surveys = f"WHERE {qn('survey_id')} IN ({surveys})"
    questions = f"SELECT {qn('id')} FROM {t(Question)} {of_surveys}"
    parts = [
        (f"(SELECT COUNT(*) FROM ({surveys}) x)", params),
        (
            f"(SELECT MAX({qn('updated_at')}) FROM {t(Survey)} WHERE {qn('id')} IN ({surveys}))",
            params,
        ),
        (
            f"(SELECT COUNT(*) FROM {t(Survey)} WHERE {qn('id')} IN ({surveys})"
            f" AND {qn('closes_at')} <= %s)",
            [*params, connection.ops.adapt_datetimefield_value(now)],
        ),
        (f"(SELECT COUNT(*) FROM {t(Question)} {of_surveys})", params),
        (f"(SELECT MAX({qn('id')}) FROM {t(Question)} {of_surveys})", params),
        (f"(SELECT COUNT(*) FROM {t(Invitation)} {of_surveys})", params),
        (f"(SELECT MAX({qn('responded_at')}) FROM {t(Invitation)} {of_surveys})", params),
        (f"(SELECT COUNT(*) FROM {t(Response)} {of_surveys})", params),
        (f"(SELECT MAX({qn('updated_at')}) FROM {t(Response)} {of_surveys})", params),
        (
            f"(SELECT COUNT(*) FROM {t(Answer)} WHERE {qn('question_id')} IN ({questions}))",
            params,
        ),
        (
            f"(SELECT MAX({qn('id')}) FROM {t(Answer)} WHERE {qn('question_id')} IN ({questions}))",
            params,
        ),
    ]
    return p.version_of(fiscal_year, parts)


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


# --- views --------------------------------------------------------------------------


class Numbers:
    """The participation numbers of a 年度 and their charts, computed (or read
    from the cache) only when the page's cached fragment has to be rendered."""

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


def _bad_year_page(request, message: str):
    return render(request, "dashboard/bad_year.html", {"message": message}, status=400)


@access.dashboard_required
def home(request):
    try:
        asked = parse_fiscal_year(request.GET.get("fy"))
    except BadFiscalYear as exc:
        return _bad_year_page(request, str(exc))
    now = timezone.now()
    years = p.available_years(now)
    current = p.current_fiscal_year()
    # Without ?fy=: the current 年度 once it has a meeting, else the latest that has.
    fiscal_year = asked or (current if current in years or not years else years[0])
    choices = sorted({*years, current, fiscal_year}, reverse=True)
    version = p.data_version(fiscal_year, now)
    return render(
        request,
        "dashboard/home.html",
        {
            "fiscal_year": fiscal_year,
            "year_choices": [(year, wareki_fy(year)) for year in choices],
            # The participation part and the survey panel are cached fragments
            # keyed by their data versions (the panel also by whether small
            # cells are suppressed for this user): while nothing changed they
            # are neither computed nor rendered again.
            "version": version,
            "survey_version": survey_data_version(fiscal_year, now),
            "suppressed": access.must_suppress_small_cells(request.user),
            "cache_seconds": p.CACHE_SECONDS,
            "numbers": Numbers(fiscal_year, version, now, request.user),
            "labels": p.group_labels(),
        },
    )


def _year_for_export(request):
    """(年度, None) or (None, the error)."""
    try:
        asked = parse_fiscal_year(request.GET.get("fy"))
    except BadFiscalYear as exc:
        return None, exc
    return (p.current_fiscal_year() if asked is None else asked), None


def _cached_body(fiscal_year: int, what: str, render_body) -> bytes:
    """The export's bytes, cached under the data version like the numbers."""
    now = timezone.now()
    version = p.data_version(fiscal_year, now)
    key = p.cache_key(fiscal_year, version, what)
    body = cache.get(key)
    if body is None:
        body = render_body(p.cached(fiscal_year, version, now=now))
        cache.set(key, body, p.CACHE_SECONDS)
    return body


@access.dashboard_required
def participation_json(request):
    fiscal_year, error = _year_for_export(request)
    if error is not None:
        return JsonResponse(
            {"error": str(error)}, status=400, json_dumps_params={"ensure_ascii": False}
        )
    body = _cached_body(
        fiscal_year,
        "json",
        lambda data: json.dumps(data.as_json(), ensure_ascii=False).encode("utf-8"),
    )
    return HttpResponse(body, content_type="application/json")


def csv_rows(data: p.Participation) -> list[list]:
    """The participation table as CSV rows (header first, totals last)."""
    labels = p.group_labels()
    header = [
        _("年度"),
        _("回"),
        _("名称"),
        _("開催日"),
        _("参加者数（延べ）"),
        _("実人数"),
        _("機関数"),
    ]
    for key in p.GROUPS:
        header += [
            _("%(group)s（機関）") % {"group": labels[key]},
            _("%(group)s（人）") % {"group": labels[key]},
        ]
    header += [_("初参加の機関"), _("継続参加の機関")]
    year = data.fiscal_year
    rows = [header]
    for event in data.events:
        row = [year, event.number or "", defuse(event.title), event.date.isoformat()]
        row += [event.persons, event.persons, event.organisations]
        for key in p.GROUPS:
            row += [event.group(key).organisations, event.group(key).persons]
        row += [event.first_time, event.returning]
        rows.append(row)
    totals = data.totals
    row = [
        year,
        "",
        _(
            "合計（機関数は実数。初参加＝今年度初めて参加した機関、継続＝前年度以前にも参加した機関）"
        ),
        "",
        totals.persons,
        totals.distinct_persons,
        totals.distinct_organisations,
    ]
    for key in p.GROUPS:
        row += [totals.group(key).organisations, totals.group(key).persons]
    row += [totals.new_organisations, totals.returning_organisations]
    rows.append(row)
    return rows


def csv_body(data: p.Participation) -> bytes:
    buffer = io.StringIO()
    buffer.write("\ufeff")  # Excel opens UTF-8 with a BOM as UTF-8 (DESIGN §5)
    csv.writer(buffer, lineterminator="\r\n").writerows(csv_rows(data))
    return buffer.getvalue().encode("utf-8")


@access.dashboard_required
def participation_csv(request):
    fiscal_year, error = _year_for_export(request)
    if error is not None:
        return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(
        _cached_body(fiscal_year, "csv", csv_body), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="participation-{fiscal_year}.csv"'
    return response
