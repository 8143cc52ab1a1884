"""Members' pages of the back-up menus: the catalogue, one menu, applying,
and following one's organisation's applications (withdrawing one).

Everything is fetched through the scoped querysets (Menu/Application
.objects.visible_to), so an application one may not open answers 404.
Writes go through support.services; its SupportError is shown next to the
field it names, or as a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from core.dates import current_fiscal_year
from core.forms import error_text
from core.pagination import paginate, querystring_without_page
from network.models import Organisation

from .. import access, services
from ..enums import ApplicationStatus
from ..forms import ApplicationForm
from ..models import Application, Menu

APPLICATIONS_PER_PAGE = 20


def apply_support_error(form, error: ValidationError) -> None:
    """A service's refusal, next to the field it names (or above the form)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error_text(error))


def _partners():
    return Prefetch("partners", queryset=Organisation.objects.order_by("kana", "name", "pk"))


# --- the catalogue ---------------------------------------------------------------------


@access.catalogue_required
@require_safe
def menus(request):
    fiscal_year = current_fiscal_year()
    the_menus = list(
        Menu.objects.visible_to(request.user)
        .with_slots_taken(fiscal_year)
        .prefetch_related(_partners())
        # By number, explicitly (an aggregate in this query would drop Meta.ordering).
        .order_by("number")
    )
    return render(
        request,
        "support/menus.html",
        {
            "menus": the_menus,
            "fiscal_year": fiscal_year,
            "can_apply": access.can_apply(request.user),
        },
    )


def _menu(user, number):
    return get_object_or_404(
        Menu.objects.visible_to(user).with_eligibility().prefetch_related(_partners()),
        number=number,
    )


@access.catalogue_required
@require_safe
def menu(request, number):
    the_menu = _menu(request.user, number)
    fiscal_year = current_fiscal_year()
    return render(
        request,
        "support/menu.html",
        {
            "menu": the_menu,
            "fiscal_year": fiscal_year,
            "slots_left": services.slots_left(the_menu, fiscal_year),
            "may_apply": access.can_apply(request.user) and the_menu.takes_applications(),
        },
    )


@access.apply_required
def apply(request, number):
    user = request.user
    the_menu = _menu(user, number)
    if not the_menu.takes_applications():
        messages.warning(request, _("このメニューは申込を受け付けていません。"))
        return redirect(the_menu)
    form = ApplicationForm(
        request.POST if request.method == "POST" else None, menu=the_menu, user=user
    )
    if request.method == "POST" and form.is_valid():
        try:
            application = services.submit_application(menu=the_menu, by=user, **form.values())
        except ValidationError as error:
            apply_support_error(form, error)
        else:
            messages.success(
                request,
                _("申込を受け付けました。事務局が内容を確認し、結果をメールでお知らせします。"),
            )
            return redirect(application)
    return render(request, "support/apply.html", {"menu": the_menu, "form": form})


# --- one's organisation's applications -----------------------------------------------


@access.catalogue_required
@require_safe
def applications(request):
    user = request.user
    rows = Application.objects.visible_to(user).for_list()
    ids = access.applicant_organisation_ids(user)
    if ids is not None:
        rows = rows.of_organisations(ids)
    page = paginate(request, rows, APPLICATIONS_PER_PAGE)
    return render(
        request,
        "support/applications.html",
        {
            "page_obj": page,
            "querystring": querystring_without_page(request),
            "can_apply": access.can_apply(user),
        },
    )


def answer_rows(questions, answers: dict) -> list[tuple[str, str]]:
    """(question, answer) in the questions' order, lists joined; what a
    question no longer asked holds is shown under its key."""
    rows, seen = [], set()
    for question in questions:
        seen.add(question.key)
        if question.key in answers:
            rows.append((question.text, _answer_text(answers[question.key])))
    rows += [(key, _answer_text(value)) for key, value in answers.items() if key not in seen]
    return rows


def _answer_text(value) -> str:
    if isinstance(value, list):
        return "・".join(str(v) for v in value)
    return str(value)


@access.catalogue_required
@require_safe
def application(request, pk):
    user = request.user
    the_application = get_object_or_404(Application.objects.visible_to(user).for_list(), pk=pk)
    engagement = getattr(the_application, "engagement", None)
    shows_partner = engagement is not None and the_application.status in (
        ApplicationStatus.ACCEPTED,
        ApplicationStatus.COMPLETED,
    )
    return render(
        request,
        "support/application.html",
        {
            "application": the_application,
            "menu": the_application.menu,
            "updates": the_application.updates.all(),
            "answers": answer_rows(
                the_application.menu.application_questions(), the_application.answers
            ),
            "engagement": engagement if shows_partner else None,
            "sees_records": engagement is not None and access.can_see_records(user, engagement),
            "can_withdraw": access.can_withdraw(user, the_application),
        },
    )


@access.apply_required
@require_POST
def withdraw(request, pk):
    user = request.user
    the_application = get_object_or_404(Application.objects.visible_to(user), pk=pk)
    if not access.is_applicant(user, the_application):
        # The partner organisation may open the application, not withdraw it.
        raise Http404
    try:
        services.withdraw_application(application=the_application, by=user)
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("申込を取り下げました。"))
    return redirect(the_application)
