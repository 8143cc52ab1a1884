"""Scoped querysets for events: views fetch only through these.

Imports enums and access, never the models (which import this module): the
few places that need the Registration model for a subquery take it from the
queryset itself or from the app registry.
"""

import datetime
from collections.abc import Iterable

from django.apps import apps
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from . import access
from .enums import EventStatus, RegistrationMode, RegistrationStatus, SocialStatus

# --- who counts as present ----------------------------------------------------------
#
# The one rule (docs/events.md, 出席の数え方), judged per event AND per mode: in
# a mode of an event where check-in was used (someone of that mode was marked
# attended) only the attended registrations count; in a mode where nobody was
# marked, every confirmed registration of that mode counts. A hybrid meeting
# usually checks in the venue only, and its online participants must not turn
# absent because of that. Every figure and mail that needs "who came" uses
# present_q: counted_as_present (one event), RegistrationQuerySet.present (any
# number of events), the dashboard (committee.participation, with the modes that
# used check-in read once) and the surveys' attendee sweep and 参加 flag.


def _registrations():
    return apps.get_model("events", "Registration").objects


def _checkin_used_exists() -> Exists:
    """True for a registration whose event and mode used check-in."""
    return Exists(
        _registrations().filter(event=OuterRef("event"), mode=OuterRef("mode"), attended=True)
    )


def checkin_used_in(checked_in: Iterable[tuple[int, str]]) -> Q:
    """The same condition from (event id, mode) pairs already read (e.g. by
    checked_in_modes), so a query that runs several times does not evaluate
    the EXISTS again and again."""
    by_mode: dict[str, list[int]] = {}
    for event_id, mode in checked_in:
        by_mode.setdefault(mode, []).append(event_id)
    used = Q(pk__in=[])
    for mode, event_ids in sorted(by_mode.items()):
        used |= Q(mode=mode, event_id__in=sorted(event_ids))
    return used


def present_q(checkin_used: Q | Exists | None = None) -> Q:
    """Registrations counted as present. `checkin_used` says whether a
    registration's (event, mode) used check-in: by default a correlated EXISTS
    (right for one event or a few people), or checkin_used_in(pairs)."""
    if checkin_used is None:
        checkin_used = _checkin_used_exists()
    return Q(attended=True) | (Q(status=RegistrationStatus.CONFIRMED) & ~Q(checkin_used))


def over_q(now: datetime.datetime | None = None, *, prefix: str = "") -> Q:
    """Events that are over (Event.is_over): finished, or past their end.
    `prefix` puts the condition on a relation ("event__" on registrations)."""
    now = now or timezone.now()
    return Q(**{f"{prefix}ends_at__lt": now}) | Q(**{f"{prefix}status": EventStatus.FINISHED})


class EventQuerySet(models.QuerySet):
    def visible_to(self, user):
        return access.visible_events(self, user)

    def manageable_by(self, user):
        return self if access.can_manage_events(user) else self.none()

    def over(self, now=None):
        return self.filter(over_q(now))

    def not_over(self, now=None):
        return self.exclude(over_q(now))


class RegistrationQuerySet(models.QuerySet):
    def active(self):
        return self.exclude(status=RegistrationStatus.CANCELLED)

    def claimed(self):
        """Active registrations their account holder made or confirmed: an
        unconfirmed guest registration (pending) is not yet theirs, so it
        neither counts as "already registered" nor stands in their way."""
        return self.exclude(status__in=(RegistrationStatus.CANCELLED, RegistrationStatus.PENDING))

    def confirmed(self):
        return self.filter(status=RegistrationStatus.CONFIRMED)

    def waitlisted(self):
        return self.filter(status=RegistrationStatus.WAITLISTED)

    def taken_seats(self, event) -> dict[str, int]:
        """Confirmed seats of `event` by mode, in one query."""
        return dict(
            self.filter(event=event)
            .confirmed()
            .values_list("mode")
            .annotate(n=models.Count("pk"))
            .order_by()
        )

    def seat_counts(self, event) -> dict[str, int]:
        """Confirmed and waiting people of `event` by mode, and the 懇親会's,
        in one aggregate query (the event page's figures)."""
        confirmed = Q(status=RegistrationStatus.CONFIRMED)
        waitlisted = Q(status=RegistrationStatus.WAITLISTED)
        active = ~Q(status=RegistrationStatus.CANCELLED)
        venue, online = Q(mode=RegistrationMode.VENUE), Q(mode=RegistrationMode.ONLINE)
        count = models.Count
        return self.filter(event=event).aggregate(
            venue_taken=count("pk", filter=confirmed & venue),
            online_taken=count("pk", filter=confirmed & online),
            venue_waiting=count("pk", filter=waitlisted & venue),
            online_waiting=count("pk", filter=waitlisted & online),
            social_taken=count("pk", filter=active & Q(social=SocialStatus.CONFIRMED)),
            social_waiting=count("pk", filter=active & Q(social=SocialStatus.WAITLISTED)),
        )

    def waiting_line(self, registration):
        """The waiting list `registration` is in: its event's waitlisted of its
        mode, and of its session when it has one — the people a cancellation
        there would promote first."""
        line = self.filter(event_id=registration.event_id).waitlisted()
        if registration.session_id:
            return line.filter(Q(mode=registration.mode) | Q(session_id=registration.session_id))
        return line.filter(mode=registration.mode)

    def waiting_ahead_of(self, registration):
        """Who is before `registration` in its waiting line (by created_at, pk)."""
        return self.waiting_line(registration).filter(
            Q(created_at__lt=registration.created_at)
            | Q(created_at=registration.created_at, pk__lt=registration.pk)
        )

    def present(self):
        """Who counts as having come, at any number of events (present_q)."""
        return self.filter(present_q())

    def counted_as_present(self, event):
        """Who counts as having come to `event` (present_q: per mode, the
        attended once check-in was used in that mode, otherwise the confirmed)."""
        return self.filter(event=event).present()

    def checked_in_modes(self) -> set[tuple[int, str]]:
        """The (event id, mode) pairs of these registrations that used check-in, in one query."""
        return set(self.filter(attended=True).values_list("event_id", "mode").distinct())

    def visible_to(self, user):
        return access.visible_registrations(self, user)

    def search(self, text):
        text = (text or "").strip()
        if not text:
            return self
        return self.filter(
            Q(user__full_name__icontains=text)
            | Q(user__full_name_kana__icontains=text)
            | Q(user__email__icontains=text)
            | Q(organisation__name__icontains=text)
            | Q(organisation_name__icontains=text)
        )
