"""The partner organisation's pages: its engagements, one engagement with its
session records, recording a session and completing with the outcome report.

Fetched through Engagement.objects.visible_to (the assigned partner's staff
and the secretariat), so anyone else's engagement answers 404. Writing needs
access.can_write_records (the engagement is still open); the services check
again inside their transaction.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, Value, When
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from core.pagination import paginate, querystring_without_page

from .. import access, services
from ..enums import ApplicationStatus
from ..forms import OutcomeForm, SessionForm
from ..models import Engagement
from .member import answer_rows, apply_support_error

ENGAGEMENTS_PER_PAGE = 20


@access.catalogue_required
@require_safe
def engagements(request):
    rows = (
        Engagement.objects.visible_to(request.user)
        .for_list()
        .with_session_count()
        .annotate(
            open_first=Case(
                When(application__status=ApplicationStatus.ACCEPTED, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
        )
        .order_by("open_first", "-accepted_at", "-pk")
    )
    page = paginate(request, rows, ENGAGEMENTS_PER_PAGE)
    return render(
        request,
        "support/engagements.html",
        {"page_obj": page, "querystring": querystring_without_page(request)},
    )


def _engagement(user, pk) -> Engagement:
    return get_object_or_404(Engagement.objects.visible_to(user).for_list(), pk=pk)


@access.catalogue_required
@require_safe
def engagement(request, pk):
    user = request.user
    the_engagement = _engagement(user, pk)
    application = the_engagement.application
    sessions = list(the_engagement.sessions.all())
    return render(
        request,
        "support/engagement.html",
        {
            "engagement": the_engagement,
            "application": application,
            "menu": application.menu,
            "answers": answer_rows(application.menu.application_questions(), application.answers),
            "outcome_answers": answer_rows(
                application.menu.outcome_questions(), the_engagement.outcome_answers
            )
            if the_engagement.is_completed()
            else [],
            "sessions": sessions,
            "partner_hours": sum((s.partner_hours for s in sessions), Decimal("0")),
            "secretariat_hours": sum((s.secretariat_hours for s in sessions), Decimal("0")),
            "minutes": sum(s.duration_minutes for s in sessions),
            "may_write": access.can_write_records(user, the_engagement),
            "may_complete": access.can_write_records(user, the_engagement)
            and the_engagement.can_complete(len(sessions)),
            "is_secretariat": access.can_manage(user),
            "survey": the_engagement.follow_up_survey,
        },
    )


def _writable(request, pk):
    """The engagement, or a redirect to it when it takes no more records."""
    the_engagement = _engagement(request.user, pk)
    if not access.can_write_records(request.user, the_engagement):
        messages.warning(request, _("この支援は完了しているため、記録を追加・変更できません。"))
        return the_engagement, redirect(the_engagement)
    return the_engagement, None


@access.catalogue_required
def session_create(request, pk):
    user = request.user
    the_engagement, refused = _writable(request, pk)
    if refused:
        return refused
    form = SessionForm(
        request.POST if request.method == "POST" else None,
        with_secretariat_hours=access.can_manage(user),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.record_session(engagement=the_engagement, by=user, **form.values())
        except ValidationError as error:
            apply_support_error(form, error)
        else:
            messages.success(request, _("支援記録を追加しました。"))
            return redirect(the_engagement)
    return render(
        request,
        "support/session_form.html",
        {"engagement": the_engagement, "application": the_engagement.application, "form": form},
    )


@access.catalogue_required
def complete(request, pk):
    user = request.user
    the_engagement, refused = _writable(request, pk)
    if refused:
        return refused
    application = the_engagement.application
    form = OutcomeForm(request.POST if request.method == "POST" else None, menu=application.menu)
    if request.method == "POST" and form.is_valid():
        try:
            services.complete_engagement(engagement=the_engagement, by=user, **form.values())
        except ValidationError as error:
            apply_support_error(form, error)
        else:
            messages.success(
                request,
                _("完了にしました。申込組織に事後アンケートをお送りしました。"),
            )
            return redirect(the_engagement)
    return render(
        request,
        "support/complete.html",
        {
            "engagement": the_engagement,
            "application": application,
            "form": form,
            "session_count": the_engagement.sessions.count(),
        },
    )
