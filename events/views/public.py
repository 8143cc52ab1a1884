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

from core.clientip import client_ip
from core.pagination import paginate, querystring_without_page
from network import access as network_access

from .. import access, ics, services
from ..filters import EventFilter
from ..forms import GuestRegistrationForm, sessions_with_seats
from ..models import CalendarFeed, Event, Registration

logger = logging.getLogger(__name__)

# How far back the personal feed reaches: a year of past meetings is history
# enough for a calendar, and keeps the feed small for people who come often.
FEED_HISTORY = datetime.timedelta(days=400)
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


# --- helpers shared with views.member ------------------------------------------------


def registration_window(event, now=None) -> str:
    """'open', 'not_yet' or 'closed' (also for cancelled, finished and past
    events). The same rule as services._check_open for a member: without a
    closing time, registration stays open until the meeting ends."""
    now = now or timezone.now()
    if event.status != Event.Status.PUBLISHED or event.ends_at <= now:
        return "closed"
    if event.registration_opens_at and now < event.registration_opens_at:
        return "not_yet"
    if event.registration_closes_at and now >= event.registration_closes_at:
        return "closed"
    return "open"


def is_over(event, now=None) -> bool:
    now = now or timezone.now()
    return event.status == Event.Status.FINISHED or event.ends_at < now


def _confirmed_in_mode(mode: str):
    # A correlated subquery per mode rather than Count() over a join: it is
    # evaluated for the page's rows only, not for every visible event.
    counts = (
        Registration.objects.filter(event=OuterRef("pk"), status="confirmed", mode=mode)
        .order_by()
        .values("event")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


def number_label(event) -> str:
    """第N回, unless the title already says it (imported titles often do)."""
    if not event.number:
        return ""
    label = _("第%(n)d回") % {"n": event.number}
    return "" if label in event.title else label


def seats_left(event, venue_taken: int, online_taken: int) -> list[tuple[str, int]]:
    """(label, seats left) for each mode the event offers with a capacity."""
    seats = []
    if event.offers_venue and event.venue_capacity is not None:
        seats.append((_("会場"), max(event.venue_capacity - venue_taken, 0)))
    if event.offers_online and event.online_capacity is not None:
        seats.append((_("オンライン"), max(event.online_capacity - online_taken, 0)))
    return seats


def waitlist_position(registration) -> int:
    """1 for the first in line. The line is the one the registration waits in:
    its mode, and its session when it has one — the people a cancellation
    there would promote first."""
    line = Registration.objects.filter(
        event_id=registration.event_id, status=Registration.Status.WAITLISTED
    )
    if registration.session_id:
        line = line.filter(Q(mode=registration.mode) | Q(session_id=registration.session_id))
    else:
        line = line.filter(mode=registration.mode)
    ahead = line.filter(
        Q(created_at__lt=registration.created_at)
        | Q(created_at=registration.created_at, pk__lt=registration.pk)
    )
    return ahead.count() + 1


def outcome_message(registration, *, changed: bool = False) -> str:
    """What the person is told after registering, changing or confirming."""
    if registration.status == Registration.Status.WAITLISTED:
        text = _(
            "定員に達しているため、キャンセル待ち（%(n)d番目）で受け付けました。"
            "空きが出ると自動で参加確定になり、メールでお知らせします。"
        ) % {"n": waitlist_position(registration)}
    elif registration.status == Registration.Status.PENDING:
        text = _("確認メールを送りました。メール内のリンクを開くと申込が確定します。")
    elif changed:
        text = _("参加は確定しています。")
    else:
        text = _("参加が確定しました。")
    if changed:
        text = _("申込内容を変更しました。") + text
    if registration.social == Registration.SocialStatus.WAITLISTED:
        text += _("懇親会は定員に達しているため、キャンセル待ちです。")
    elif registration.social == Registration.SocialStatus.CONFIRMED:
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


def event_list(request):
    user = request.user
    visible = Event.objects.visible_to(user)
    filterset = EventFilter(request.GET, queryset=visible, request=request)
    now = timezone.now()
    past = request.GET.get("when") == "past"
    over = Q(ends_at__lt=now) | Q(status=Event.Status.FINISHED)
    events = filterset.qs
    if past:
        events = events.filter(over).order_by("-starts_at", "-pk")
    else:
        events = events.exclude(over).order_by("starts_at", "pk")
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
        event.my_status = mine.get(event.pk)
        event.my_status_label = (
            Registration.Status(event.my_status).label if event.my_status else ""
        )
        event.seats = seats_left(event, event.venue_taken, event.online_taken)
        event.is_over = is_over(event, now)
        event.number_label = number_label(event)
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
    active = ~Q(status=Registration.Status.CANCELLED)
    counts = Registration.objects.filter(event=event).aggregate(
        venue_taken=Count("pk", filter=Q(status="confirmed", mode="venue")),
        online_taken=Count("pk", filter=Q(status="confirmed", mode="online")),
        venue_waiting=Count("pk", filter=Q(status="waitlisted", mode="venue")),
        online_waiting=Count("pk", filter=Q(status="waitlisted", mode="online")),
        social_taken=Count("pk", filter=active & Q(social="confirmed")),
        social_waiting=Count("pk", filter=active & Q(social="waitlisted")),
    )
    sessions = list(sessions_with_seats(event))
    for session in sessions:
        session.left = (
            None if session.capacity is None else max(session.capacity - session.taken, 0)
        )
    is_member = network_access.is_member(user)
    my_registration = None
    if user.is_authenticated:
        mine = Registration.objects.active()
        if is_member:
            # A member registers with the account; an unconfirmed guest
            # registration for their address does not stand in the way.
            mine = Registration.objects.claimed()
        my_registration = (
            mine.filter(event=event, user=user).select_related("session", "organisation").first()
        )
    window = registration_window(event)
    may_register = access.may_register(user, event) and window == "open"
    show_online_url = bool(
        event.online_url
        and my_registration
        and my_registration.status == Registration.Status.CONFIRMED
        and my_registration.mode == Registration.Mode.ONLINE
        and event.status == Event.Status.PUBLISHED
    )
    social_left = None
    if event.has_social and event.social_capacity is not None:
        social_left = max(event.social_capacity - counts["social_taken"], 0)
    return render(
        request,
        "events/event_detail.html",
        {
            "event": event,
            "number_label": number_label(event),
            "counts": counts,
            "seats": seats_left(event, counts["venue_taken"], counts["online_taken"]),
            "social_left": social_left,
            "sessions": sessions,
            "my_registration": my_registration,
            "waitlist_position": (
                waitlist_position(my_registration)
                if my_registration and my_registration.status == Registration.Status.WAITLISTED
                else None
            ),
            "window": window,
            "is_over": is_over(event),
            "can_register": may_register and is_member and my_registration is None,
            "can_register_as_guest": (
                may_register
                and not is_member
                and my_registration is None
                and event.audience == Event.Audience.PUBLIC
            ),
            "show_online_url": show_online_url,
            "can_manage": access.can_manage_events(user),
        },
    )


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
    if registration_window(event) != "open" or not access.may_register(request.user, event):
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
                {"reason": "refused", "event": event, "error": " ".join(error.messages)},
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


def personal_feed(request, token):
    # Tokens are URL-safe base64; anything else (a NUL byte would make
    # PostgreSQL refuse the query) cannot be one.
    if not _TOKEN_RE.fullmatch(token):
        raise Http404
    feed = CalendarFeed.objects.select_related("user").filter(token=token).first()
    if feed is None or not feed.user.is_active:
        raise Http404
    since = timezone.now() - FEED_HISTORY
    registrations = (
        Registration.objects.filter(user=feed.user, event__starts_at__gte=since)
        .exclude(event__status=Event.Status.DRAFT)
        .filter(
            Q(status__in=[Registration.Status.CONFIRMED, Registration.Status.WAITLISTED])
            # A cancelled meeting stays in the feed, marked cancelled, so the
            # calendar strikes it out instead of it silently vanishing.
            | Q(event__status=Event.Status.CANCELLED)
        )
        .select_related("event__municipality")
        .order_by("event__starts_at", "event_id", "-created_at")
    )
    entries = {}
    for registration in registrations:
        event = registration.event
        current = entries.get(event.pk)
        if current is not None and current[0].status != Registration.Status.CANCELLED:
            continue  # keep the active registration over older cancelled ones
        entries[event.pk] = (registration, event)
    items = []
    for registration, event in entries.values():
        waitlisted = registration.status == Registration.Status.WAITLISTED
        items.append(
            ics.Entry(
                event=event,
                url=request.build_absolute_uri(event.get_absolute_url()),
                summary_prefix=_("【キャンセル待ち】") if waitlisted else "",
                note=_("オンライン参加") if registration.mode == Registration.Mode.ONLINE else "",
            )
        )
    body = ics.calendar(items, name=_("つながり 参加予定"))
    response = _ics_response(body, "tsunagari.ics", attachment=False)
    response["Cache-Control"] = "private, max-age=900"
    response["X-Robots-Tag"] = "noindex"
    return response
