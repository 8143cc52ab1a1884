"""The secretariat's pages of the back-up menus: the list of applications,
one application with its triage (accept with a partner and a coordinator, put
on hold, decline with a reason), and the files of a 年度.

Every view is behind access.manage_required (anyone else but the secretariat
gets 404), and fetches through Application.objects.visible_to(user). Writes
go through support.services, which check the actor again; a SupportError is
shown next to the field it names, or above the form, and nothing is written.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from core.dates import BadFiscalYear, current_fiscal_year, parse_fiscal_year
from core.pagination import paginate
from core.templatetags.wareki import wareki_fy

from .. import access, exports, services
from ..filters import ApplicationFilter, with_defaults
from ..forms_manage import AcceptForm, DeclineForm, HoldForm, add_support_error
from ..models import Application, Engagement, Menu

# --- the list ------------------------------------------------------------------------


def slot_summary(fiscal_year: int):
    """Every menu with its slots taken in the 年度: one aggregate query."""
    return Menu.objects.with_slots_taken(fiscal_year).order_by("number")


@access.manage_required
@require_safe
def applications(request):
    data = with_defaults(request.GET)
    filterset = ApplicationFilter(
        data, queryset=Application.objects.visible_to(request.user).for_list()
    )
    page_obj = paginate(request, filterset.qs)
    fiscal_year = filterset.chosen_fiscal_year() or current_fiscal_year()
    data.pop("page", None)
    querystring = data.urlencode()
    return render(
        request,
        "support/manage/applications.html",
        {
            "filter": filterset,
            # The defaults are a filter too, so 「条件をクリア」 is offered only
            # when the visitor chose something.
            "filtered": any(request.GET.get(name) for name in filterset.form.fields),
            "page_obj": page_obj,
            "querystring": querystring,
            "export_query": querystring,
            "summary_year": fiscal_year,
            "summary": slot_summary(fiscal_year),
        },
    )


# --- one application and its triage --------------------------------------------------


def _application(request, pk) -> Application:
    return get_object_or_404(
        Application.objects.visible_to(request.user).select_related(
            "menu", "organisation__region", "applicant"
        ),
        pk=pk,
    )


def _engagement(application):
    return (
        Engagement.objects.select_related("partner", "coordinator")
        .filter(application=application)
        .first()
    )


def _answers(application) -> list[tuple[str, str]]:
    """(question, answer) for each of the menu's application questions."""
    rows = []
    for question in application.menu.application_questions():
        value = application.answers.get(question.key, "")
        if isinstance(value, list):
            value = "、".join(str(v) for v in value)
        rows.append((question.text, "" if value is None else str(value)))
    return rows


def _page(request, application, *, accept_form=None, hold_form=None, decline_form=None):
    user = request.user
    if application.can_accept():
        accept_form = accept_form or AcceptForm(menu=application.menu, user=user)
    if application.can_hold():
        hold_form = hold_form or HoldForm()
    if application.can_decline():
        decline_form = decline_form or DeclineForm()
    engagement = _engagement(application)
    return render(
        request,
        "support/manage/application.html",
        {
            "application": application,
            "answers": _answers(application),
            "history": application.updates.select_related("author"),
            "engagement": engagement,
            "slots_left": services.slots_left(application.menu, application.fiscal_year),
            "fiscal_year_label": wareki_fy(application.fiscal_year),
            "accept_form": accept_form if application.can_accept() else None,
            "hold_form": hold_form if application.can_hold() else None,
            "decline_form": decline_form if application.can_decline() else None,
        },
    )


@access.manage_required
@require_safe
def application(request, pk):
    return _page(request, _application(request, pk))


def _refused(request, application, form_name: str, form, error):
    add_support_error(form, error)
    application.refresh_from_db()
    return _page(request, application, **{form_name: form})


@access.manage_required
@require_POST
def accept(request, pk):
    app = _application(request, pk)
    form = AcceptForm(request.POST, menu=app.menu, user=request.user)
    if not form.is_valid():
        return _page(request, app, accept_form=form)
    try:
        services.accept_application(
            application=app,
            partner=form.cleaned_data["partner"],
            coordinator=form.cleaned_data["coordinator"],
            by=request.user,
            note=form.cleaned_data["note"],
        )
    except services.SupportError as error:
        return _refused(request, app, "accept_form", form, error)
    messages.success(
        request,
        _("受理しました。%(partner)sと申込組織にメールでお知らせします。")
        % {"partner": form.cleaned_data["partner"].name},
    )
    return redirect("support:manage_application", app.pk)


@access.manage_required
@require_POST
def hold(request, pk):
    app = _application(request, pk)
    form = HoldForm(request.POST)
    if not form.is_valid():
        return _page(request, app, hold_form=form)
    try:
        services.hold_application(
            application=app, by=request.user, reason=form.cleaned_data["reason"]
        )
    except services.SupportError as error:
        return _refused(request, app, "hold_form", form, error)
    messages.success(request, _("保留にしました。申込組織に理由をメールでお知らせします。"))
    return redirect("support:manage_application", app.pk)


@access.manage_required
@require_POST
def decline(request, pk):
    app = _application(request, pk)
    form = DeclineForm(request.POST)
    if not form.is_valid():
        return _page(request, app, decline_form=form)
    try:
        services.decline_application(
            application=app, by=request.user, reason=form.cleaned_data["reason"]
        )
    except services.SupportError as error:
        return _refused(request, app, "decline_form", form, error)
    messages.success(request, _("見送りにしました。申込組織に理由をメールでお知らせします。"))
    return redirect("support:manage_application", app.pk)


# --- the files of a 年度 ------------------------------------------------------------------


def _export_filter(request, fmt: str, *, skip=()):
    """(filterset, 年度) of an export, or an error page: the ?fy= of the file
    (the current 年度 when absent) and the list's other filters."""
    if fmt not in exports.FORMATS:
        raise Http404
    try:
        fiscal_year = parse_fiscal_year(request.GET.get("fy")) or current_fiscal_year()
    except BadFiscalYear as error:
        return None, fiscal_year_error(request, str(error))
    data = request.GET.copy()
    data["fy"] = str(fiscal_year)
    for name in skip:
        data.pop(name, None)
    filterset = ApplicationFilter(data, queryset=Application.objects.visible_to(request.user))
    if not filterset.is_valid():
        return None, fiscal_year_error(
            request, _("絞り込みの条件に誤りがあります。一覧で条件を選び直してください。")
        )
    return (filterset, fiscal_year), None


def fiscal_year_error(request, message: str):
    return render(request, "support/manage/bad_request.html", {"message": message}, status=400)


def _download(dataset, fmt: str, name: str) -> HttpResponse:
    body, content_type = exports.write(dataset, fmt)
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@access.manage_required
@require_safe
def export_applications(request, fmt):
    chosen, error_page = _export_filter(request, fmt)
    if error_page is not None:
        return error_page
    filterset, fiscal_year = chosen
    queryset = exports.with_totals(filterset.qs)
    return _download(
        exports.applications_dataset(queryset), fmt, f"support-applications-{fiscal_year}"
    )


@access.manage_required
@require_safe
def export_sessions(request, fmt):
    # Only accepted applications have records: the status filter (the list's
    # 「未対応」 default) would leave the file empty, so it is not applied.
    chosen, error_page = _export_filter(request, fmt, skip=("status",))
    if error_page is not None:
        return error_page
    filterset, fiscal_year = chosen
    return _download(
        exports.sessions_dataset(exports.sessions_of(filterset.qs)),
        fmt,
        f"support-sessions-{fiscal_year}",
    )
