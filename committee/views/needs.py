"""The needs register (課題), for the committee and the secretariat.

Every view is behind committee.access.dashboard_required: anonymous visitors
go to the login page, everyone else but the committee and the secretariat
gets 404. Needs are read through Need.objects.visible_to(request.user);
writes go through committee.needs, whose services check the actor again;
the board is committee.board, the files committee.exports. These views
collect input and report. Nothing here shows who asked a 事前質問 or gave an
answer; who raised a need is shown only where committee.access.sees_need_raiser
allows it.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from core.dates import BadFiscalYear, current_fiscal_year, parse_fiscal_year
from core.pagination import paginate, querystring_without_page
from core.templatetags.wareki import wareki_fy
from surveys.exports import FORMATS

from .. import access, exports, needs
from ..board import board
from ..enums import NeedSource, NeedStatus
from ..filters import NeedFilter
from ..forms import NeedForm, RaiseForm, TriageForm
from ..models import Need
from .common import bad_year_page

CANDIDATES_PER_PAGE = 20


# --- the board and the list ------------------------------------------------------------


def _need_filter(request) -> NeedFilter:
    visible = Need.objects.visible_to(request.user)
    return NeedFilter(
        request.GET, queryset=visible, fiscal_years=needs.fiscal_years_with_needs(visible)
    )


@access.dashboard_required
@require_safe
def need_board(request):
    filterset = _need_filter(request)
    rows, totals = board(filterset, request.GET)
    page_obj = paginate(request, filterset.qs.select_related("owner", "event"))
    querystring = querystring_without_page(request)
    return render(
        request,
        "committee/needs.html",
        {
            "filter": filterset,
            "filtered": filterset.is_filtered,
            "board_rows": rows,
            "board_totals": totals,
            "statuses": NeedStatus.choices,
            "page_obj": page_obj,
            "querystring": querystring,
            "export_query": querystring,
        },
    )


# --- entering a need by hand, and the 事前質問 not yet raised ------------------------------


@access.dashboard_required
def need_create(request):
    form = NeedForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            need = needs.create_need(
                by=request.user,
                title=data["title"],
                text=data["text"],
                function=data["function"],
                status=data["status"],
                owner=data["owner"],
                due_date=data["due_date"],
                notes=data["notes"],
                event=data["event"],
                fiscal_year=data["fiscal_year"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("課題を登録しました。"))
            return redirect(need)
    # The candidates' 年度: the current one unless ?fy= names another.
    try:
        fiscal_year = parse_fiscal_year(request.GET.get("fy")) or current_fiscal_year()
    except BadFiscalYear as error:
        return bad_year_page(request, error)
    candidates = paginate(
        request,
        needs.registration_candidates(request.user, fiscal_year),
        per_page=CANDIDATES_PER_PAGE,
    )
    return render(
        request,
        "committee/need_form.html",
        {
            "form": form,
            "candidates": candidates,
            "candidate_year": fiscal_year,
            "candidate_years": [
                (year, wareki_fy(year)) for year in needs.selectable_fiscal_years()
            ],
            "querystring": querystring_without_page(request),
        },
    )


# --- raising a need from a 事前質問 or a free-text answer --------------------------------


def _safe_next(request, url: str) -> str | None:
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


def _source_item(request, data: dict):
    """The registration, answer, topic, application or engagement to raise,
    through the same scopes as what the raiser is shown (committee.access):
    anything else is a 404."""
    if data["kind"] == NeedSource.REGISTRATION:
        return "registration", get_object_or_404(
            needs.raisable_registrations(request.user).select_related("event"), pk=data["id"]
        )
    if data["kind"] == NeedSource.TOPIC:
        return "topic", get_object_or_404(needs.raisable_topics(request.user), pk=data["id"])
    if data["kind"] == NeedSource.APPLICATION:
        return "application", get_object_or_404(
            needs.raisable_applications(request.user), pk=data["id"]
        )
    if data["kind"] == NeedSource.OUTCOME:
        return "engagement", get_object_or_404(
            needs.raisable_engagements(request.user), pk=data["id"]
        )
    if data["id"] is not None:
        answer = needs.raisable_answers(request.user, by_id=True).filter(pk=data["id"]).first()
    else:
        answer = needs.find_answer(
            question_id=data["question"],
            text=data["text"],
            queryset=needs.raisable_answers(request.user, by_id=False),
        )
    if answer is None:
        raise Http404
    return "answer", answer


@access.dashboard_required
@require_POST
def need_raise(request):
    form = RaiseForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("課題にする元の記録が指定されていません。"))
    kind = form.cleaned_data["kind"]
    if not access.may_raise_from(request.user, kind):
        raise Http404
    name, item = _source_item(request, form.cleaned_data)
    back = _safe_next(request, form.cleaned_data["next"])
    try:
        need, created = needs.raise_need(source=kind, by=request.user, **{name: item})
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(back or "dashboard:needs")
    if created:
        messages.success(request, _("課題として登録しました"))
    else:
        messages.info(request, _("すでに登録されている課題を開きました"))
    return redirect(need)


# --- one need: source, triage, history ------------------------------------------------------


@access.dashboard_required
def need_detail(request, pk):
    need = get_object_or_404(
        needs.with_sources(
            Need.objects.visible_to(request.user).select_related("owner", "event", "raised_by")
        ),
        pk=pk,
    )
    form = TriageForm(request.POST or None, need=need)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            needs.update_need(
                need=need,
                by=request.user,
                status=data["status"],
                function=data["function"],
                owner=data["owner"],
                due_date=data["due_date"],
                notes=data["notes"],
                note=data["note"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("課題を更新しました。"))
            return redirect(need)
    answer = need.source_answer if need.source_answer_id else None
    return render(
        request,
        "committee/need_detail.html",
        {
            "need": need,
            "form": form,
            "source_label": needs.source_label(need),
            "source_link": needs.source_link(need, request.user),
            "source_question": answer.question.text if answer else "",
            "sees_raiser": access.sees_need_raiser(request.user, need),
            "history": needs.history(need, request.user),
        },
    )


# --- the committee's report --------------------------------------------------------------


@access.dashboard_required
@require_safe
def need_export(request, fmt):
    if fmt not in FORMATS:
        raise Http404
    filterset = _need_filter(request)
    queryset = needs.with_sources(filterset.qs.select_related("owner", "raised_by"))
    dataset = exports.need_dataset(
        queryset, with_raiser=access.sees_raisers_in_export(request.user)
    )
    file_format = FORMATS[fmt]()
    response = HttpResponse(
        file_format.export_data(dataset), content_type=file_format.get_content_type()
    )
    stamp = timezone.localdate().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="needs-{stamp}.{fmt}"'
    return response
