"""The annual report (年度報告書, issue 16): the page of a 年度 and the
secretariat's page for its narrative paragraphs. What the report holds is
committee.report's; who may read and write it, committee.access's. A bad
?fy= (core.dates.parse_fiscal_year) is the 400 page with its Japanese message."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from core.dates import BadFiscalYear, parse_fiscal_year
from core.pagination import paginate, querystring_without_page
from core.templatetags.wareki import wareki_fy

from .. import access, panels, report, report_files, report_opinions
from ..forms import ReportTextForm
from .common import bad_year_page


def _year(request, now) -> tuple[int, list[int]]:
    """The 年度 asked for (BadFiscalYear when bad), else the dashboard's default."""
    return panels.shown_year(parse_fiscal_year(request.GET.get("fy")), now)


@access.annual_report_required
@require_safe
def annual_report(request):
    now = timezone.now()
    try:
        fiscal_year, choices = _year(request, now)
    except BadFiscalYear as error:
        return bad_year_page(request, error)
    return render(
        request,
        "committee/report.html",
        {
            "report": report.build(fiscal_year, request.user, now=now),
            "fiscal_year": fiscal_year,
            "year_choices": [(year, wareki_fy(year)) for year in choices],
        },
    )


def _download(body: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "private, no-store"
    return response


def _built_or_400(request):
    """(the report of the 年度 asked for, as the viewer may read it, None),
    or (None, the 400 page) for a bad ?fy=."""
    now = timezone.now()
    try:
        fiscal_year, _choices = _year(request, now)
    except BadFiscalYear as error:
        return None, bad_year_page(request, error)
    return report.build(fiscal_year, request.user, now=now), None


@access.annual_report_required
@require_safe
def annual_report_file(request, kind: str):
    """The report as a Word document (kind "docx") or a PDF (the print
    page's document), as the viewer may read it."""
    built, refused = _built_or_400(request)
    if refused:
        return refused
    base_url = request.build_absolute_uri("/")
    if kind == "docx":
        body, content_type = report_files.docx(built, base_url=base_url), report_files.DOCX_TYPE
    else:
        html = render_to_string("committee/report_document.html", {"report": built})
        body = report_files.pdf(html, base_url=base_url)
        content_type = report_files.PDF_TYPE
    return _download(body, content_type, built.filename(kind))


@access.report_edit_required
@require_http_methods(["GET", "HEAD", "POST"])
def report_edit(request):
    now = timezone.now()
    try:
        fiscal_year, _choices = _year(request, now)
    except BadFiscalYear as error:
        return bad_year_page(request, error)
    current = report.paragraphs(fiscal_year)
    texts = {section: paragraph.body for section, paragraph in current.items()}
    form = ReportTextForm(request.POST or None, texts=texts)
    if request.method == "POST" and form.is_valid():
        changed = report.save_texts(fiscal_year=fiscal_year, texts=form.texts, actor=request.user)
        if changed:
            messages.success(request, _("年度報告書の本文を保存しました。"))
        else:
            messages.info(request, _("変更はありませんでした。"))
        return redirect(f"{reverse('dashboard:report')}?fy={fiscal_year}")
    return render(
        request,
        "committee/report_edit.html",
        {
            "form": form,
            "fiscal_year": fiscal_year,
            "history": report.history(fiscal_year),
        },
    )


@access.report_edit_required
@require_http_methods(["GET", "HEAD", "POST"])
def choose_opinions(request):
    """The secretariat chooses, among the 年度's free-text answers, the
    opinions the report quotes (committee.report_opinions), a page at a time."""
    now = timezone.now()
    try:
        fiscal_year, _choices = _year(request, now)
    except BadFiscalYear as error:
        return bad_year_page(request, error)
    page_obj = paginate(
        request, report_opinions.candidates(fiscal_year), report_opinions.CANDIDATES_PER_PAGE
    )
    error = ""
    if request.method == "POST":
        shown = report_opinions.posted_ids(request.POST.getlist("shown"))
        chosen = report_opinions.posted_ids(request.POST.getlist("chosen"))
        if shown is None or chosen is None:
            error = _("送られた内容が正しくありません。もう一度選んでください。")
        else:
            try:
                count = report_opinions.save_choices(
                    fiscal_year=fiscal_year, shown=shown, chosen_ids=chosen, actor=request.user
                )
            except ValidationError as refused:
                error = refused.messages[0]
            else:
                messages.success(
                    request,
                    _("このページで %(count)d 件を報告書に載せる意見にしました。")
                    % {"count": count},
                )
                query = request.GET.urlencode()
                return redirect(f"{reverse('dashboard:report_opinions')}?{query}")
    return render(
        request,
        "committee/report_opinions.html",
        {
            "fiscal_year": fiscal_year,
            "page_obj": page_obj,
            "querystring": querystring_without_page(request),
            "rows": report_opinions.with_flags(page_obj),
            "error": error,
        },
        status=400 if error else 200,
    )
