"""Pages anyone may open for the events they may see: the list, an event's page
and .ics, the public registration form and its e-mail link, the personal feed.

Everything is fetched through Event.objects.visible_to(user), so an event the
visitor may not see answers 404 exactly like one that does not exist.
"""

import datetime
import logging
import re

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core.clientip import client_ip
from core.forms import error_text
from core.pagination import paginate, querystring_without_page
from network import access as network_access

from .. import access, ics, services
from ..enums import EventStatus
from ..filters import EventFilter
from ..forms import GuestRegistrationForm, sessions_with_seats
from ..models import CalendarFeed, Event, Registration

logger = logging.getLogger(__name__)

# How far back the personal feed reaches: a year of past meetings is history
# enough for a calendar, and keeps the feed small for people who come often.
FEED_HISTORY = datetime.timedelta(days=400)
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


# --- helpers (outcome_message is shared with views.member) ----------------------------


def _confirmed_in_mode(mode: str):
    # A correlated subquery per mode rather than Count() over a join: it is
    # evaluated for the page's rows only, not for every visible event.
    counts = (
        Registration.objects.filter(
            event=OuterRef("pk"), status=Registration.Status.CONFIRMED, mode=mode
        )
        .order_by()
        .values("event")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


def outcome_message(registration, *, changed: bool = False) -> str:
    """What the person is told after registering, changing or confirming."""
    if registration.is_waitlisted:
        text = _(
            "定員に達しているため、キャンセル待ち（%(n)d番目）で受け付けました。"
            "空きが出ると自動で参加確定になり、メールでお知らせします。"
        ) % {"n": registration.waitlist_position()}
    elif registration.is_pending:
        text = _("確認メールを送りました。メール内のリンクを開くと申込が確定します。")
    elif changed:
        text = _("参加は確定しています。")
    else:
        text = _("参加が確定しました。")
    if changed:
        text = _("申込内容を変更しました。") + text
    if registration.is_social_waitlisted:
        text += _("懇親会は定員に達しているため、キャンセル待ちです。")
    elif registration.has_social_seat:
        text += (
            _("懇親会への参加も確定しています。")
            if changed
            else _("懇親会への参加も確定しました。")
        )
    return text


def _ics_response(body: str, filename: str, *, attachment: bool) -> HttpResponse:
    response = HttpResponse(body.encode("utf-8"), content_type="text/calendar; charset=utf-8")
    disposition = "attachment" if attachment else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


# --- list and detail -----------------------------------------------------------------


@require_safe
def event_list(request):
    user = request.user
    visible = Event.objects.visible_to(user)
    filterset = EventFilter(request.GET, queryset=visible, request=request)
    now = timezone.now()
    past = request.GET.get("when") == "past"
    events = filterset.qs
    if past:
        events = events.over(now).order_by("-starts_at", "-pk")
    else:
        events = events.not_over(now).order_by("starts_at", "pk")
    events = events.select_related("municipality").annotate(
        venue_taken=_confirmed_in_mode(Registration.Mode.VENUE),
        online_taken=_confirmed_in_mode(Registration.Mode.ONLINE),
    )
    page_obj = paginate(request, events)
    rows = list(page_obj)
    mine = {}
    if rows and user.is_authenticated:
        # One query for the page: which of these the visitor registered for.
        mine = dict(
            Registration.objects.active()
            .filter(user=user, event__in=[event.pk for event in rows])
            .values_list("event_id", "status")
        )
    for event in rows:
        status = mine.get(event.pk)
        event.my_status = status
        # 申込済み says enough for a confirmed seat; anything else is named.
        event.my_status_note = (
            Registration.Status(status).label
            if status and status != Registration.Status.CONFIRMED
            else ""
        )
        event.seats = event.seats_left(event.venue_taken, event.online_taken)
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("when", None)
    return render(
        request,
        "events/event_list.html",
        {
            "filter": filterset,
            "page_obj": page_obj,
            "past": past,
            "querystring": querystring_without_page(request),
            "filter_querystring": params.urlencode(),
            "filtered": any(value for key, value in params.items()),
        },
    )


def _visible_event_or_login(request, queryset, pk):
    """The event, if the visitor may see it. Otherwise 404 — except that an
    anonymous visitor is sent to log in first: members follow event links from
    their e-mail while logged out. Every id not public answers the same way,
    so this reveals nothing about which events exist."""
    event = queryset.filter(pk=pk).first()
    if event is not None:
        return event
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    raise Http404


@require_safe
def event_detail(request, pk):
    user = request.user
    event = _visible_event_or_login(
        request,
        Event.objects.visible_to(user).select_related(
            "municipality__region", "host_organisation", "audience_program"
        ),
        pk,
    )
    if isinstance(event, HttpResponse):
        return event
    counts = Registration.objects.seat_counts(event)
    sessions = list(sessions_with_seats(event))
    is_member = network_access.is_member(user)
    my_registration = _my_registration(user, event, member=is_member)
    unregistered = my_registration is None
    return render(
        request,
        "events/event_detail.html",
        {
            "event": event,
            "counts": counts,
            "seats": event.seats_left(counts["venue_taken"], counts["online_taken"]),
            "social_left": event.social_seats_left(counts["social_taken"]),
            "sessions": sessions,
            "my_registration": my_registration,
            "waitlist_position": my_registration.waitlist_position() if my_registration else None,
            "window": event.registration_window(),
            "can_register": unregistered and access.may_register_as_member(user, event),
            "can_register_as_guest": unregistered and access.may_register_as_guest(user, event),
            "show_online_url": access.may_see_online_url(user, event, my_registration),
            "can_manage": access.can_manage_events(user),
        },
    )


def _my_registration(user, event, *, member: bool):
    """The visitor's active registration for `event`, if any. A member
    registers with the account: an unconfirmed guest registration for their
    address does not stand in the way (nor count as theirs)."""
    if not user.is_authenticated:
        return None
    mine = Registration.objects.claimed() if member else Registration.objects.active()
    return mine.filter(event=event, user=user).select_related("session", "organisation").first()


@require_safe
def event_ics(request, pk):
    event = _visible_event_or_login(
        request, Event.objects.visible_to(request.user).select_related("municipality"), pk
    )
    if isinstance(event, HttpResponse):
        return event
    body = ics.calendar(
        [ics.Entry(event=event, url=request.build_absolute_uri(event.get_absolute_url()))],
        name=event.title,
    )
    return _ics_response(body, f"tsunagari-event-{event.pk}.ics", attachment=True)


# --- public registration ---------------------------------------------------------------


@never_cache
def register_guest(request, pk):
    event = get_object_or_404(
        Event.objects.visible_to(request.user).filter(audience=Event.Audience.PUBLIC), pk=pk
    )
    if network_access.is_member(request.user):
        # Members register with their account (organisation, changes, feed).
        return redirect("events:register", pk=event.pk)
    if not access.may_register_as_guest(request.user, event):
        messages.warning(request, _("このイベントは現在申込を受け付けていません。"))
        return redirect(event)
    form = GuestRegistrationForm(request.POST if request.method == "POST" else None, event=event)
    status = 200
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        if form.is_bot:
            # Answer exactly as for a person, so a bot learns nothing.
            logger.info("guest registration honeypot filled; discarded")
            return render(request, "events/guest_sent.html", {"event": event, "email": email})
        try:
            services.check_guest_rate(email=email, client=client_ip(request) or "")
            services.register_guest(
                event=event,
                email=email,
                full_name=form.cleaned_data["full_name"],
                full_name_kana=form.cleaned_data["full_name_kana"],
                organisation_name=form.cleaned_data["organisation_name"],
                **form.choices(),
            )
        except services.RegistrationError as error:
            form.add_error(None, error)
            if error.code == "throttled":
                status = 429
        else:
            return render(request, "events/guest_sent.html", {"event": event, "email": email})
    return render(
        request, "events/register_guest.html", {"event": event, "form": form}, status=status
    )


@never_cache
def confirm_guest(request, token):
    # The e-mailed link only shows a button: mail scanners that open links
    # must not confirm anything; the POST does the work. A used link has had
    # its hash cleared, so "unknown" also covers "already used".
    registration = services.find_pending_guest(token)
    if registration is None:
        return render(request, "events/guest_invalid.html", {"reason": "unknown"}, status=404)
    event = registration.event
    if request.method == "POST":
        try:
            registration = services.confirm_guest(token=token)
        except services.RegistrationError as error:
            return render(
                request,
                "events/guest_invalid.html",
                {"reason": "refused", "event": event, "error": error_text(error)},
                status=404 if error.code == "bad_token" else 410,
            )
        return render(
            request,
            "events/guest_confirmed.html",
            {
                "event": event,
                "registration": registration,
                "message": outcome_message(registration),
            },
        )
    return render(
        request, "events/guest_confirm.html", {"event": event, "registration": registration}
    )


# --- personal calendar feed ------------------------------------------------------------


@require_safe
def personal_feed(request, token):
    # Tokens are URL-safe base64; anything else (a NUL byte would make
    # PostgreSQL refuse the query) cannot be one.
    if not _TOKEN_RE.fullmatch(token):
        raise Http404
    feed = CalendarFeed.objects.select_related("user").filter(token=token).first()
    if not access.may_read_feed(feed):
        raise Http404
    since = timezone.now() - FEED_HISTORY
    registrations = (
        Registration.objects.filter(user=feed.user, event__starts_at__gte=since)
        .exclude(event__status=EventStatus.DRAFT)
        .filter(
            Q(status__in=[Registration.Status.CONFIRMED, Registration.Status.WAITLISTED])
            # A cancelled meeting stays in the feed, marked cancelled, so the
            # calendar strikes it out instead of it silently vanishing.
            | Q(event__status=EventStatus.CANCELLED)
        )
        .select_related("event__municipality")
        .order_by("event__starts_at", "event_id", "-created_at")
    )
    entries = {}
    for registration in registrations:
        event = registration.event
        current = entries.get(event.pk)
        if current is not None and not current[0].is_cancelled:
            continue  # keep the active registration over older cancelled ones
        entries[event.pk] = (registration, event)
    items = []
    for registration, event in entries.values():
        items.append(
            ics.Entry(
                event=event,
                url=request.build_absolute_uri(event.get_absolute_url()),
                summary_prefix=_("【キャンセル待ち】") if registration.is_waitlisted else "",
                note=_("オンライン参加") if registration.is_online else "",
            )
        )
    body = ics.calendar(items, name=_("つながり 参加予定"))
    response = _ics_response(body, "tsunagari.ics", attachment=False)
    response["Cache-Control"] = "private, max-age=900"
    response["X-Robots-Tag"] = "noindex"
    return response
