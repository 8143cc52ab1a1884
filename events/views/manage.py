"""The secretariat's event pages: schedule, publish, run the day, follow up.

Every view is for the secretariat only (events_manager_required) and fetches
its event through Event.objects.manageable_by(user), so anyone else gets 404.
State changes with side effects (publishing, cancelling, registering, check-in,
mail) go through events.services; these views only collect input and report.
"""

import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from core.forms import error_text
from core.pagination import is_filtered, paginate, querystring_without_page
from network.enums import OrganisationKind
from network.models import User

from .. import services
from ..access import events_manager_required
from ..filters_manage import EventManageFilter, RegistrationManageFilter
from ..forms import RegistrationForm
from ..forms_manage import (
    BulkMessageForm,
    EventCancelForm,
    EventForm,
    RegistrationAddForm,
    SessionFormSet,
    publish_warnings,
)
from ..models import Event, Registration

CHECKIN_QUERY_MAX_LENGTH = 100
# Refusals of services.register that concern one field of the manual-add form.
_ERROR_FIELDS = {
    "organisation_required": "organisation",
    "bad_organisation": "organisation",
    "bad_mode": "mode",
    "mode_not_offered": "mode",
    "bad_session": "session",
    "no_social": "social",
}


def _managed_event(request, pk):
    return get_object_or_404(Event.objects.manageable_by(request.user), pk=pk)


def _refuse(request, event, text):
    """A page the event's state does not allow (Event.can_…): back to its
    申込者 page, saying why."""
    messages.warning(request, text)
    return redirect("events:registrations", pk=event.pk)


# --- the list of events --------------------------------------------------------


@events_manager_required
@require_safe
def manage_list(request):
    events = Event.objects.manageable_by(request.user)
    fiscal_years = events.order_by("-fiscal_year").values_list("fiscal_year", flat=True).distinct()
    filterset = EventManageFilter(request.GET, queryset=events, fiscal_years=list(fiscal_years))
    return render(
        request,
        "events/manage_list.html",
        {
            "filter": filterset,
            "filtered": is_filtered(request, filterset),
            "page_obj": paginate(request, filterset.qs),
            "querystring": querystring_without_page(request),
        },
    )


# --- one event: create, edit, sessions ----------------------------------------


def _report_warnings(request, form):
    for warning in form.warnings:
        messages.warning(request, warning)


def _fill_waitlist(request, event):
    """A raised capacity or a removed session may have freed seats: they go to
    the waiting list now (the people are told), not at the next registration."""
    promoted = services.fill_waitlist(event=event, by=request.user)
    if promoted:
        messages.info(
            request,
            _("空いた席に、キャンセル待ちだった%(n)d人を繰り上げました。本人にお知らせを送ります。")
            % {"n": len(promoted)},
        )


@events_manager_required
def event_create(request):
    form = EventForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        # One row, no side effects: a new event is a draft nobody sees yet.
        event = form.save()
        messages.success(
            request,
            _(
                "「%(title)s」を下書きとして保存しました。分科会を追加し、内容を確認してから公開してください。"
            )
            % {"title": event.title},
        )
        _report_warnings(request, form)
        return redirect("events:edit", pk=event.pk)
    return render(request, "events/manage_form.html", {"form": form, "event": None})


# Fields of the edit form's POST that are not the event's own values.
_EDIT_CONTROL_FIELDS = {"csrfmiddlewaretoken", "confirm_changes", "change_id", "action"}


def _carried_fields(request) -> list[tuple[str, str]]:
    """The edit form's values as (name, value) pairs, carried through the
    confirmation page in hidden inputs (files cannot be, see the template)."""
    return [
        (name, value)
        for name, values in request.POST.lists()
        if name not in _EDIT_CONTROL_FIELDS
        for value in values
    ]


@events_manager_required
def event_edit(request, pk):
    event = _managed_event(request, pk)
    form = EventForm(request.POST or None, request.FILES or None, instance=event)
    if request.method == "POST" and form.is_valid():
        edited = form.save(commit=False)
        preview = services.preview_event_update(event=edited)
        confirmed = request.POST.get("confirm_changes") == "yes"
        back = request.POST.get("action") == "back"
        if preview.recipients and (back or not confirmed):
            if back:
                return render(request, "events/manage_form.html", {"form": form, "event": event})
            # Registrants would be mailed: say what changed and to how many
            # first; nothing is saved until the secretariat confirms.
            return render(
                request,
                "events/manage_edit_confirm.html",
                {
                    "event": Event.objects.get(pk=event.pk),
                    "form": form,
                    "preview": preview,
                    "carried": _carried_fields(request),
                    "change_id": uuid.uuid4().hex,
                    "file_dropped": bool(request.FILES),
                },
            )
        try:
            update = services.update_event(
                event=edited, by=request.user, change_id=request.POST.get("change_id") or None
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            event = update.event
            messages.success(request, _("「%(title)s」を保存しました。") % {"title": event.title})
            if update.recipients:
                messages.info(
                    request,
                    _("変更のお知らせを%(n)d人に送ります。") % {"n": update.recipients},
                )
            _report_warnings(request, form)
            _fill_waitlist(request, event)
            return redirect("events:edit", pk=event.pk)
    return render(request, "events/manage_form.html", {"form": form, "event": event})


def _sessions_with_counts(event):
    return event.sessions.annotate(
        active_count=Count(
            "registrations", filter=~Q(registrations__status=Registration.Status.CANCELLED)
        )
    ).order_by("order", "pk")


@events_manager_required
def event_sessions(request, pk):
    event = _managed_event(request, pk)
    formset = SessionFormSet(
        request.POST or None, instance=event, queryset=_sessions_with_counts(event)
    )
    needs_confirmation = []
    if request.method == "POST" and formset.is_valid():
        deleted = [f.instance for f in formset.deleted_forms if f.instance.pk]
        # Registrations keep their place in the event and lose only the
        # session (Registration.session is SET_NULL); the secretariat must
        # know that before it happens.
        needs_confirmation = [s for s in deleted if getattr(s, "active_count", 0)]
        if not needs_confirmation or request.POST.get("confirm_delete") == "yes":
            with transaction.atomic():
                formset.save()
            messages.success(request, _("分科会を保存しました。"))
            for session in needs_confirmation:
                messages.warning(
                    request,
                    _(
                        "分科会「%(title)s」を削除しました。申し込んでいた%(n)d人は「分科会なし」になりました。"
                    )
                    % {"title": session.title, "n": session.active_count},
                )
            _fill_waitlist(request, event)
            return redirect("events:sessions", pk=event.pk)
    return render(
        request,
        "events/manage_sessions.html",
        {"event": event, "formset": formset, "needs_confirmation": needs_confirmation},
    )


# --- state changes through the services ---------------------------------------


@events_manager_required
def event_copy(request, pk):
    event = _managed_event(request, pk)
    if request.method == "POST":
        copy = services.copy_event(event=event, by=request.user)
        messages.success(
            request,
            _("「%(title)s」をコピーして下書きを作りました。日時・回・申込期間を確認してください。")
            % {"title": event.title},
        )
        return redirect("events:edit", pk=copy.pk)
    return render(
        request,
        "events/manage_copy.html",
        {"event": event, "session_count": event.sessions.count()},
    )


@events_manager_required
def event_publish(request, pk):
    event = _managed_event(request, pk)
    if request.method == "POST" and event.can_be_published():
        try:
            services.publish_event(event=event, by=request.user)
        except ValidationError as error:
            messages.error(request, error_text(error))
        else:
            messages.success(
                request,
                _("「%(title)s」を公開しました。対象の人が一覧で見て申し込めます。")
                % {"title": event.title},
            )
            return redirect("events:registrations", pk=event.pk)
    return render(
        request,
        "events/manage_publish.html",
        {"event": event, "warnings": publish_warnings(event)},
    )


@events_manager_required
def event_cancel(request, pk):
    event = _managed_event(request, pk)
    cancellable = event.can_be_cancelled()
    form = EventCancelForm(request.POST or None)
    if request.method == "POST" and cancellable and form.is_valid():
        try:
            services.cancel_event(event=event, reason=form.cleaned_data["reason"], by=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("「%(title)s」を中止にしました。申込者にお知らせを送ります。")
                % {"title": event.title},
            )
            return redirect("events:registrations", pk=event.pk)
    return render(
        request,
        "events/manage_cancel.html",
        {
            "event": event,
            "form": form,
            "cancellable": cancellable,
            "active_count": event.registrations.active().count(),
        },
    )


@events_manager_required
def event_delete(request, pk):
    event = _managed_event(request, pk)
    deletable = event.can_be_deleted()
    if request.method == "POST" and deletable:
        try:
            title = services.delete_draft_event(event=event, by=request.user)
        except ValidationError as error:
            messages.error(request, error_text(error))
        else:
            messages.success(request, _("下書き「%(title)s」を削除しました。") % {"title": title})
            return redirect("events:manage_list")
    return render(
        request,
        "events/manage_delete.html",
        {
            "event": event,
            "deletable": deletable,
            "session_count": event.sessions.count(),
            "registration_count": event.registrations.count(),
        },
    )


@events_manager_required
def event_finish(request, pk):
    event = _managed_event(request, pk)
    finishable = event.can_be_finished() or event.can_send_thanks()
    if request.method == "POST" and (finishable or event.awaits_start()):
        # Before the start the service refuses with its own message.
        was_finished = event.can_send_thanks()
        try:
            services.finish_event(event=event, by=request.user)
        except ValidationError as error:
            messages.error(request, error_text(error))
        else:
            if was_finished:
                text = _("まだお礼メールを受け取っていない参加者に送ります。")
            else:
                text = _(
                    "「%(title)s」を終了にしました。参加者にお礼と資料のご案内を送ります。"
                ) % {"title": event.title}
            messages.success(request, text)
            return redirect("events:registrations", pk=event.pk)
    present = Registration.objects.counted_as_present(event).count()
    return render(
        request,
        "events/manage_finish.html",
        {
            "event": event,
            "finishable": finishable,
            "present_count": present,
            "has_materials": bool(event.report_url or event.video_url or event.slides),
        },
    )


# --- registrations -----------------------------------------------------------------


def _registration_summary(event, sessions):
    """Counts of the event's active registrations by mode, session, 懇親会 and
    organisation kind, in a single aggregate query."""
    active = Registration.objects.filter(event=event).active()
    confirmed = Q(status=Registration.Status.CONFIRMED)
    waitlisted = Q(status=Registration.Status.WAITLISTED)
    aggregates = {
        "total": Count("pk"),
        "confirmed": Count("pk", filter=confirmed),
        "waitlisted": Count("pk", filter=waitlisted),
        "pending": Count("pk", filter=Q(status=Registration.Status.PENDING)),
        "attended": Count("pk", filter=Q(attended=True)),
        "social_confirmed": Count("pk", filter=Q(social=Registration.SocialStatus.CONFIRMED)),
        "social_waitlisted": Count("pk", filter=Q(social=Registration.SocialStatus.WAITLISTED)),
    }
    for mode in Registration.Mode.values:
        aggregates[f"mode_{mode}_c"] = Count("pk", filter=confirmed & Q(mode=mode))
        aggregates[f"mode_{mode}_w"] = Count("pk", filter=waitlisted & Q(mode=mode))
    for session in sessions:
        aggregates[f"session_{session.pk}_c"] = Count("pk", filter=confirmed & Q(session=session))
        aggregates[f"session_{session.pk}_w"] = Count("pk", filter=waitlisted & Q(session=session))
    aggregates["session_none_c"] = Count("pk", filter=confirmed & Q(session__isnull=True))
    aggregates["session_none_w"] = Count("pk", filter=waitlisted & Q(session__isnull=True))
    for kind in OrganisationKind.values:
        aggregates[f"kind_{kind}"] = Count("pk", filter=confirmed & Q(organisation__kind=kind))
    aggregates["kind_none"] = Count("pk", filter=confirmed & Q(organisation__isnull=True))
    counts = active.aggregate(**aggregates)

    def row(label, key, capacity=None):
        return {
            "label": label,
            "confirmed": counts[f"{key}_c"],
            "waitlisted": counts[f"{key}_w"],
            "capacity": capacity,
        }

    modes = []
    if event.offers_venue:
        modes.append(row(_("会場"), "mode_venue", event.venue_capacity))
    if event.offers_online:
        modes.append(row(_("オンライン"), "mode_online", event.online_capacity))
    session_rows = [row(s.title, f"session_{s.pk}", s.capacity) for s in sessions]
    if sessions:
        session_rows.append(row(_("分科会なし"), "session_none"))
    kinds = [
        {"kind": kind, "label": label, "count": counts[f"kind_{kind}"], "badge": True}
        for kind, label in OrganisationKind.choices
    ]
    # Registrations without an organisation of the network: no kind, no badge.
    kinds.append(
        {"kind": "none", "label": _("登録組織なし"), "count": counts["kind_none"], "badge": False}
    )
    return {"counts": counts, "modes": modes, "sessions": session_rows, "kinds": kinds}


@events_manager_required
@require_safe
def registration_list(request, pk):
    event = _managed_event(request, pk)
    sessions = list(event.sessions.order_by("order", "pk"))
    filterset = RegistrationManageFilter(
        request.GET, queryset=Registration.objects.filter(event=event), sessions=sessions
    )
    return render(
        request,
        "events/manage_registrations.html",
        {
            "event": event,
            "filter": filterset,
            "filtered": is_filtered(request, filterset),
            # The row's 変更・キャンセル links ask the event's state, and the
            # note says who acted on the person's behalf: joined, no query per row.
            "page_obj": paginate(
                request, filterset.qs.select_related("event", "changed_by", "cancelled_by")
            ),
            "querystring": querystring_without_page(request),
            "summary": _registration_summary(event, sessions),
            "has_sessions": bool(sessions),
        },
    )


@events_manager_required
def registration_add(request, pk):
    event = _managed_event(request, pk)
    if not event.can_add_registrations():
        return _refuse(request, event, _("参加者を追加できるのは公開中のイベントだけです。"))
    # Coming from the check-in page (a walk-in) returns there afterwards.
    from_checkin = request.GET.get("from") == "checkin" or request.POST.get("from") == "checkin"
    form = RegistrationAddForm(request.POST or None, event=event)
    if request.method == "POST" and form.is_valid():
        try:
            registration = _add_registration(form, event, by=request.user)
        except ValidationError as error:
            form.add_error(_ERROR_FIELDS.get(error.code), error)
        else:
            user = registration.user
            messages.success(
                request,
                _("%(name)s さんを登録しました（%(status)s）。")
                % {"name": user, "status": registration.get_status_display()},
            )
            if registration.is_waitlisted:
                messages.warning(
                    request,
                    _("定員に達しているため、キャンセル待ちとして登録しました。"),
                )
            if from_checkin:
                return redirect(
                    reverse("events:checkin", args=[event.pk])
                    + "?"
                    + urlencode({"q": user.full_name_kana or user.full_name or user.email})
                )
            return redirect("events:registrations", pk=event.pk)
    return render(
        request,
        "events/manage_registration_add.html",
        {"event": event, "form": form, "from_checkin": from_checkin},
    )


@transaction.atomic
def _add_registration(form, event, *, by) -> Registration:
    """The manual-add form's person, registered (and confirmed over capacity
    when asked). An unknown e-mail becomes a contact (no password) who can
    claim the account later; it is rolled back with a refusal."""
    data = form.cleaned_data
    user = form.user or User.objects.create_contact(
        data["email"],
        full_name=data["full_name"].strip(),
        full_name_kana=data["full_name_kana"].strip(),
    )
    registration = services.register(
        event=event,
        user=user,
        mode=data["mode"],
        session=data.get("session"),
        social=data.get("social", False),
        question=data["question"],
        organisation=data.get("organisation"),
        organisation_name=data["organisation_name"],
        by=by,
    )
    if data["force_confirm"] and registration.is_waitlisted:
        registration = services.confirm_over_capacity(registration=registration, by=by)
    return registration


# --- one registration, on the person's behalf -------------------------------------------


def _managed_registration(request, pk, registration_pk):
    event = _managed_event(request, pk)
    registration = get_object_or_404(
        Registration.objects.filter(event=event).select_related(
            "event", "user", "session", "organisation"
        ),
        pk=registration_pk,
    )
    return event, registration


def _back_to_row(registration):
    return redirect(
        reverse("events:registrations", args=[registration.event_id]) + f"#reg-{registration.pk}"
    )


@events_manager_required
def registration_change(request, pk, registration_pk):
    """Change mode, session or 懇親会 for someone (a phone call, a mail): the
    same seat and waiting-list rules as their own change; they are mailed as
    usual, and the list notes who made the change."""
    event, registration = _managed_registration(request, pk, registration_pk)
    changeable = registration.can_be_changed_by_secretariat()
    form = RegistrationForm(
        request.POST if request.method == "POST" and changeable else None,
        event=event,
        user=registration.user,
        registration=registration,
    )
    if request.method == "POST" and changeable and form.is_valid():
        try:
            registration = services.change_registration(
                registration=registration, by=request.user, **form.choices()
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("%(name)s さんの申込を変更しました（%(status)s）。本人にお知らせを送ります。")
                % {"name": registration.user, "status": registration.get_status_display()},
            )
            return _back_to_row(registration)
    return render(
        request,
        "events/manage_registration_change.html",
        {"event": event, "registration": registration, "form": form, "changeable": changeable},
    )


@events_manager_required
def registration_cancel_on_behalf(request, pk, registration_pk):
    event, registration = _managed_registration(request, pk, registration_pk)
    cancellable = registration.can_be_cancelled_by_secretariat()
    if request.method == "POST" and cancellable:
        try:
            registration = services.cancel_registration(registration=registration, by=request.user)
        except ValidationError as error:
            messages.error(request, error_text(error))
        else:
            messages.success(
                request,
                _("%(name)s さんの申込をキャンセルしました。本人にお知らせを送ります。")
                % {"name": registration.user},
            )
            return _back_to_row(registration)
    return render(
        request,
        "events/manage_registration_cancel.html",
        {"event": event, "registration": registration, "cancellable": cancellable},
    )


# --- the day: check-in -----------------------------------------------------------------


def _checkin_query(raw) -> str:
    """The check-in search box, bounded and without NUL bytes (which
    PostgreSQL refuses in text and nobody types)."""
    return (raw or "").replace("\x00", "")[:CHECKIN_QUERY_MAX_LENGTH]


def _checkin_mode(event, raw) -> str:
    """The 会場/オンライン list of a hybrid event's check-in page ("" = everyone);
    anything else in the query string is ignored."""
    if event.is_hybrid and raw in Registration.Mode.values:
        return raw
    return ""


def _checkin_list(event, mode: str = "", query: str = ""):
    """The registrations of the check-in page: the whole event, or one mode's
    list; with a query, those it finds (by prefix on the indexed search keys,
    RegistrationQuerySet.matching, not icontains over every row of the event)."""
    registrations = Registration.objects.matching(query, event=event).active()
    return registrations.filter(mode=mode) if mode else registrations


def _checkin_counts(event, mode: str = "") -> dict:
    """出席 / 確定 of the whole event, or of one mode's list."""
    return _checkin_list(event, mode).aggregate(
        attended=Count("pk", filter=Q(attended=True)),
        confirmed=Count("pk", filter=Q(status=Registration.Status.CONFIRMED)),
    )


def _checkin_url(event, **params) -> str:
    url = reverse("events:checkin", args=[event.pk])
    params = {key: value for key, value in params.items() if value}
    return f"{url}?{urlencode(params)}" if params else url


@events_manager_required
@require_safe
def checkin(request, pk):
    event = _managed_event(request, pk)
    if not event.can_check_in():
        return _refuse(request, event, _("受付できるのは公開中か終了したイベントだけです。"))
    query = _checkin_query(request.GET.get("q"))
    mode = _checkin_mode(event, request.GET.get("mode"))
    registrations = _checkin_list(event, mode, query)
    registrations = registrations.select_related("user", "organisation", "session").order_by(
        "user__full_name_kana", "user__email", "pk"
    )
    mode_tabs = []
    if event.is_hybrid:
        mode_tabs = [
            {
                "label": label,
                "url": _checkin_url(event, q=query, mode=value),
                "current": value == mode,
            }
            for value, label in (("", _("全員")), *Registration.Mode.choices)
        ]
    return render(
        request,
        "events/checkin.html",
        {
            "event": event,
            "query": query,
            "mode": mode,
            "mode_label": Registration.Mode(mode).label if mode else "",
            "online_list": mode == Registration.Mode.ONLINE,
            "mode_tabs": mode_tabs,
            "clear_url": _checkin_url(event, mode=mode),
            "page_obj": paginate(request, registrations),
            "querystring": querystring_without_page(request),
            "counts": _checkin_counts(event, mode),
        },
    )


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@events_manager_required
@require_POST
def checkin_toggle(request, pk, registration_pk):
    event = _managed_event(request, pk)
    registration = get_object_or_404(
        Registration.objects.filter(event=event).select_related("user"), pk=registration_pk
    )
    # The list the row was on (会場/オンライン): its counts are the ones shown.
    mode = _checkin_mode(event, request.POST.get("mode"))
    # The form says which state it wants, so a double tap or a resent form
    # cannot undo the first one; a bare POST toggles.
    wanted = request.POST.get("attended")
    attended = wanted == "1" if wanted in ("0", "1") else not registration.attended
    error = None
    try:
        registration = services.set_attended(
            registration=registration, attended=attended, by=request.user
        )
    except ValidationError as exc:
        error = error_text(exc)
    if _wants_json(request):
        counts = _checkin_counts(event, mode)
        return JsonResponse(
            {
                "ok": error is None,
                "error": error,
                "registration": registration.pk,
                "attended": registration.attended,
                "attended_count": counts["attended"],
                "confirmed_count": counts["confirmed"],
            },
            status=400 if error else 200,
        )
    if error:
        messages.error(request, error)
    elif registration.attended:
        messages.success(
            request, _("%(name)s さんを出席にしました。") % {"name": registration.user}
        )
    else:
        messages.info(
            request, _("%(name)s さんの出席を取り消しました。") % {"name": registration.user}
        )
    page = request.POST.get("page") or ""
    url = _checkin_url(
        event,
        q=_checkin_query(request.POST.get("q")),
        mode=mode,
        page=page if page.isdigit() else "",
    )
    return redirect(f"{url}#reg-{registration.pk}")


# --- bulk message -----------------------------------------------------------------------


# How many recipients the preview names; the rest are 「ほか N名」.
PREVIEW_RECIPIENTS = 50


@events_manager_required
def message(request, pk):
    event = _managed_event(request, pk)
    if not event.can_send_bulk_message():
        return _refuse(
            request, event, _("下書きのイベントには申込者がいないため、メールを送れません。")
        )
    form = BulkMessageForm(request.POST or None, event=event)
    step = "edit"
    preview = None
    message_id = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        action = request.POST.get("action")
        if action == "send":
            try:
                queued = services.send_bulk_message(
                    event=event,
                    subject=data["subject"],
                    body=data["body"],
                    audience=form.audience(),
                    by=request.user,
                    message_id=request.POST.get("message_id") or None,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request,
                    _("%(n)d人へのメールを送信待ちに登録しました。順に送信されます。")
                    % {"n": queued},
                )
                return redirect("events:registrations", pk=event.pk)
        elif action == "preview":
            try:
                preview = services.preview_bulk_message(
                    event=event,
                    subject=data["subject"],
                    body=data["body"],
                    audience=form.audience(),
                    limit=PREVIEW_RECIPIENTS,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                step = "preview"
                # Names the message in the outbox: sending twice from this page
                # (a double click, a reload) queues each mail once.
                message_id = uuid.uuid4().hex
    return render(
        request,
        "events/manage_message.html",
        {
            "event": event,
            "form": form,
            "step": step,
            "preview": preview,
            "chosen": form.chosen() if preview else [],
            "message_id": message_id,
        },
    )
