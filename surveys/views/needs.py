"""The needs register (課題), for the committee and the secretariat.

Every view is behind surveys.access.dashboard_required: anonymous visitors
go to the login page, everyone else but the committee and the secretariat
gets 404. Writes go through surveys.needs; these views collect input and
report. Nothing here shows who asked a 事前質問 or gave an answer; who raised
a need is shown only where surveys.access.sees_need_raiser allows it.
"""

from __future__ import annotations

from dataclasses import dataclass

import tablib
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.dates import fiscal_year_of
from core.importing import defuse
from core.pagination import paginate, querystring_without_page
from core.templatetags.wareki import wareki_fy
from network import access as network_access

from .. import access, needs
from ..exports import FORMATS
from ..filters_needs import UNCLASSIFIED, NeedFilter
from ..forms_needs import FIRST_FISCAL_YEAR, NeedForm, RaiseForm, TriageForm
from ..models import Need

CANDIDATES_PER_PAGE = 20


# --- the board and the list ------------------------------------------------------------


@dataclass
class BoardCell:
    count: int
    url: str
    label: str = ""  # the status (column) it counts, for the phone layout
    current: bool = False


@dataclass
class BoardRow:
    label: str
    key: str
    cells: list[BoardCell]
    total: BoardCell


def _fiscal_years() -> list[int]:
    years = set(Need.objects.order_by().values_list("fiscal_year", flat=True).distinct())
    years.add(fiscal_year_of(timezone.now()))
    return sorted(years, reverse=True)


def _need_filter(request) -> NeedFilter:
    return NeedFilter(request.GET, queryset=Need.objects.all(), fiscal_years=_fiscal_years())


def _board(request, filterset: NeedFilter) -> tuple[list[BoardRow], BoardRow]:
    """Counts by function (rows, 未分類 last) and status (columns), one GROUP BY.
    Every number links to the list of those needs, keeping the other filters."""
    counts: dict[tuple[str, str], int] = {}
    for row in (
        filterset.board_queryset().order_by().values("function", "status").annotate(n=Count("pk"))
    ):
        key = UNCLASSIFIED if row["function"] is None else str(row["function"])
        counts[(key, row["status"])] = row["n"]

    params = request.GET.copy()
    for name in ("page", "status", "function"):
        params.pop(name, None)
    base = reverse("dashboard:needs")
    chosen_status = request.GET.get("status", "") if filterset.is_valid() else ""
    chosen_function = request.GET.get("function", "") if filterset.is_valid() else ""

    def cell(count: int, function: str = "", status: str = "") -> BoardCell:
        query = params.copy()
        if function:
            query["function"] = function
        if status:
            query["status"] = status
        encoded = query.urlencode()
        return BoardCell(
            count=count,
            url=f"{base}?{encoded}#need-list" if encoded else f"{base}#need-list",
            label=str(Need.Status(status).label) if status else _("計"),
            current=(function, status) == (chosen_function, chosen_status)
            and bool(function or status),
        )

    statuses = Need.Status.values
    rows = []
    functions = [(str(value), label) for value, label in Need.Function.choices]
    for key, label in [*functions, (UNCLASSIFIED, _("未分類"))]:
        cells = [cell(counts.get((key, s), 0), key, s) for s in statuses]
        rows.append(
            BoardRow(
                label=str(label), key=key, cells=cells, total=cell(sum(c.count for c in cells), key)
            )
        )
    column_totals = [cell(sum(counts.get((r.key, s), 0) for r in rows), "", s) for s in statuses]
    totals = BoardRow(
        label=_("計"),
        key="",
        cells=column_totals,
        total=cell(sum(c.count for c in column_totals)),
    )
    return rows, totals


@access.dashboard_required
def need_board(request):
    filterset = _need_filter(request)
    rows, totals = _board(request, filterset)
    page_obj = paginate(request, filterset.qs.select_related("owner", "event"))
    querystring = querystring_without_page(request)
    return render(
        request,
        "dashboard/needs.html",
        {
            "filter": filterset,
            "filtered": filterset.is_filtered,
            "board_rows": rows,
            "board_totals": totals,
            "statuses": Need.Status.choices,
            "page_obj": page_obj,
            "querystring": querystring,
            "export_query": querystring,
        },
    )


# --- entering a need by hand, and the 事前質問 not yet raised ------------------------------


def _candidate_year(request) -> int:
    current = fiscal_year_of(timezone.now())
    try:
        year = int(request.GET.get("fy", current))
    except (TypeError, ValueError):
        return current
    return year if FIRST_FISCAL_YEAR <= year <= current + 1 else current


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
    fiscal_year = _candidate_year(request)
    candidates = paginate(
        request,
        needs.registration_candidates(request.user, fiscal_year),
        per_page=CANDIDATES_PER_PAGE,
    )
    current = fiscal_year_of(timezone.now())
    return render(
        request,
        "dashboard/need_form.html",
        {
            "form": form,
            "candidates": candidates,
            "candidate_year": fiscal_year,
            "candidate_years": [
                (year, wareki_fy(year)) for year in range(current + 1, FIRST_FISCAL_YEAR - 1, -1)
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
    """The registration or answer to raise, through the same scopes as what
    the raiser is shown (surveys.access): anything else is a 404."""
    if data["kind"] == Need.Source.REGISTRATION:
        return "registration", get_object_or_404(
            needs.raisable_registrations(request.user).select_related("event"), pk=data["id"]
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


def _label(choices, value) -> str:
    return str(choices(value).label) if value in choices.values else ""


def _history(need: Need, sees_raiser: bool) -> list[dict]:
    entries = []
    for update in need.updates.select_related("author"):
        created = not update.old_status and bool(update.new_status)
        # The first entry is the raising itself: its author is the raiser.
        show_author = sees_raiser or not created
        entries.append(
            {
                "update": update,
                "created": created,
                "author": update.author if show_author else None,
                "old_status": _label(Need.Status, update.old_status),
                "new_status": _label(Need.Status, update.new_status),
                "function": _label(Need.Function, update.function),
            }
        )
    return entries


@access.dashboard_required
def need_detail(request, pk):
    need = get_object_or_404(
        needs.with_sources(Need.objects.select_related("owner", "event", "raised_by")), pk=pk
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
    sees_raiser = access.sees_need_raiser(request.user, need)
    answer = need.source_answer if need.source_answer_id else None
    return render(
        request,
        "dashboard/need_detail.html",
        {
            "need": need,
            "form": form,
            "source_label": needs.source_label(need),
            "source_link": needs.source_link(need, request.user),
            "source_question": answer.question.text if answer else "",
            "sees_raiser": sees_raiser,
            "history": _history(need, sees_raiser),
        },
    )


# --- the committee's report --------------------------------------------------------------


def _date(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "tzinfo") and value.tzinfo is not None:
        value = timezone.localtime(value)
    return value.strftime("%Y-%m-%d")


def need_dataset(queryset, *, with_raiser: bool) -> tablib.Dataset:
    headers = [
        _("番号"),
        _("件名"),
        _("内容"),
        _("機能"),
        _("状態"),
        _("担当者"),
        _("期限"),
        _("出どころ"),
        _("年度"),
        _("登録日"),
        _("更新日"),
    ]
    if with_raiser:
        headers.append(_("登録者"))
    dataset = tablib.Dataset(headers=[str(h) for h in headers])
    for need in queryset:
        row = [
            str(need.pk),
            defuse(need.title),
            defuse(need.text),
            str(need.get_function_display()) if need.function else _("未分類"),
            str(need.get_status_display()),
            defuse(str(need.owner)) if need.owner_id else "",
            _date(need.due_date),
            defuse(needs.source_label(need)),
            wareki_fy(need.fiscal_year),
            _date(need.created_at),
            _date(need.updated_at),
        ]
        if with_raiser:
            row.append(defuse(str(need.raised_by)) if need.raised_by_id else "")
        dataset.append(row)
    return dataset


@access.dashboard_required
def need_export(request, fmt):
    if fmt not in FORMATS:
        raise Http404
    filterset = _need_filter(request)
    queryset = needs.with_sources(filterset.qs.select_related("owner", "raised_by"))
    dataset = need_dataset(queryset, with_raiser=network_access.is_secretariat(request.user))
    file_format = FORMATS[fmt]()
    response = HttpResponse(
        file_format.export_data(dataset), content_type=file_format.get_content_type()
    )
    stamp = timezone.localdate().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="needs-{stamp}.{fmt}"'
    return response
