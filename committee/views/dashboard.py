"""The committee's dashboard (検討委員会 and 事務局 only): participation in the
exchange meetings per 年度, reach, the annual survey's key results, and the
exports /dashboard/participation.json (a contract, DESIGN §5) and .csv.

The numbers come from committee.participation (cached by data version), the
page's parts and the survey panel from committee.panels (its data version
from surveys.results), the back-up menus' version from support.stats, the
files from committee.exports. A bad ?fy= (core.dates.parse_fiscal_year) is a 400 with a
Japanese message: a page, a JSON error or plain text.
"""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from core.dates import BadFiscalYear, current_fiscal_year, parse_fiscal_year
from core.templatetags.wareki import wareki_fy
from support import stats as support_stats
from surveys import access as surveys_access
from surveys import results as survey_results

from .. import access, exports, panels
from .. import participation as p
from .common import bad_year_page


@access.dashboard_required
@require_safe
def home(request):
    try:
        asked = parse_fiscal_year(request.GET.get("fy"))
    except BadFiscalYear as error:
        return bad_year_page(request, error)
    now = timezone.now()
    fiscal_year, choices = panels.shown_year(asked, now)
    version = p.data_version(fiscal_year, now)
    return render(
        request,
        "committee/home.html",
        {
            "fiscal_year": fiscal_year,
            "year_choices": [(year, wareki_fy(year)) for year in choices],
            # The participation part, the survey panel and the back-up menus'
            # section are cached fragments keyed by their data versions (the
            # last two also by whether small cells are suppressed for this
            # user): while nothing changed they are neither computed nor
            # rendered again.
            "version": version,
            "survey_version": survey_results.annual_data_version(fiscal_year, now),
            "support_version": support_stats.data_version(fiscal_year, now),
            "suppressed": surveys_access.must_suppress_small_cells(request.user),
            "cache_seconds": p.CACHE_SECONDS,
            "numbers": panels.Numbers(fiscal_year, version, now, request.user),
            "labels": p.group_labels(),
        },
    )


def _export_year(request) -> int:
    """The ?fy= of an export: the current 年度 when absent (BadFiscalYear when bad)."""
    asked = parse_fiscal_year(request.GET.get("fy"))
    return current_fiscal_year() if asked is None else asked


@access.dashboard_required
@require_safe
def participation_json(request):
    try:
        fiscal_year = _export_year(request)
    except BadFiscalYear as error:
        return JsonResponse(
            {"error": str(error)}, status=400, json_dumps_params={"ensure_ascii": False}
        )
    body = exports.participation_file(fiscal_year, "json")
    return HttpResponse(body, content_type="application/json")


@access.dashboard_required
@require_safe
def participation_csv(request):
    try:
        fiscal_year = _export_year(request)
    except BadFiscalYear as error:
        return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(
        exports.participation_file(fiscal_year, "csv"), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="participation-{fiscal_year}.csv"'
    return response
