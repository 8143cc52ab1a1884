"""Scoped querysets for events: views fetch only through these.

Imports enums and access, never the models (which import this module): the
few places that need the Registration model for a subquery take it from the
queryset itself or from the app registry.
"""

import datetime
from collections.abc import Iterable, Iterator

from django.apps import apps
from django.db import connections, models, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from core.text import fold_words

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


# --- the check-in search ------------------------------------------------------------
#
# docs/events.md, "Check-in search". A registration is found by the words of
# RegistrationSearchKey, matched by prefix on the index (event, key), so a
# search reads the index range of its words, whatever the size of the event.
# Every key runs from the start of a word to the end of the field (folded by
# core.text, spaces removed), so 「やまだ はな」 and 「やまだはな」 both find
# やまだ はなこ. A name written without a space is kept from every character:
# its surname and given name cannot be told apart, and 「花子」 must still
# find 「山田花子」.

SEARCH_KEY_MAX_LENGTH = 64
# Characters after which a new word starts in an organisation's name or an
# e-mail address's local part.
_WORD_BREAKS = frozenset("._-+@・/()[]「」『』【】、,&")
# Legal forms an organisation's name starts with and nobody types first.
_LEGAL_FORMS = (
    "特定非営利活動法人",
    "npo法人",
    "一般社団法人",
    "一般財団法人",
    "公益社団法人",
    "公益財団法人",
    "社会福祉法人",
    "学校法人",
    "医療法人",
    "株式会社",
    "有限会社",
    "合同会社",
)


def _suffixes(joined: str, starts: Iterable[int]) -> set[str]:
    return {
        joined[i : i + SEARCH_KEY_MAX_LENGTH]
        for i in starts
        if i < len(joined) and joined[i] not in _WORD_BREAKS
    }


def _word_starts(words: list[str]) -> list[int]:
    starts, position = [], 0
    for word in words:
        starts.append(position)
        position += len(word)
    return starts


def _name_keys(text: str) -> set[str]:
    words = fold_words(text)
    joined = "".join(words)
    if len(words) > 1:
        return _suffixes(joined, _word_starts(words))
    return _suffixes(joined, range(len(joined)))


def _organisation_keys(text: str) -> set[str]:
    words = fold_words(text)
    joined = "".join(words)
    starts = _word_starts(words)
    starts += [i + 1 for i, c in enumerate(joined) if c in _WORD_BREAKS]
    starts += [len(form) for form in _LEGAL_FORMS if joined.startswith(form)]
    return _suffixes(joined, starts)


def _email_keys(email: str) -> set[str]:
    """From the start, each word of the local part, and the domain."""
    joined = "".join(fold_words(email))
    local, at, _domain = joined.partition("@")
    starts = [0] + [i + 1 for i, c in enumerate(local) if c in _WORD_BREAKS]
    if at:
        starts.append(len(local) + 1)
    return _suffixes(joined, starts)


def search_keys(
    *,
    full_name: str = "",
    full_name_kana: str = "",
    email: str = "",
    organisation: str = "",
    organisation_kana: str = "",
    organisation_name: str = "",
) -> set[str]:
    """The keys a registration is found by."""
    keys = _name_keys(full_name) | _name_keys(full_name_kana) | _email_keys(email)
    for text in (organisation, organisation_kana, organisation_name):
        if text:
            keys |= _organisation_keys(text)
    return keys


def registration_search_keys(registration) -> set[str]:
    """The keys of one registration, from its loaded person and organisation."""
    user, organisation = registration.user, registration.organisation
    return search_keys(
        full_name=user.full_name,
        full_name_kana=user.full_name_kana,
        email=user.email,
        organisation=organisation.name if organisation else "",
        organisation_kana=organisation.kana if organisation else "",
        organisation_name=registration.organisation_name,
    )


def search_terms(text: str) -> list[str]:
    """The words of a typed query, folded as the keys are and cut to their length."""
    return [word[:SEARCH_KEY_MAX_LENGTH] for word in fold_words(text)]


def _prefix_q(field: str, term: str, vendor: str) -> Q:
    """`field` starts with `term`, as the index (event, key) can answer it:
    LIKE 'term%' on PostgreSQL (the varchar_pattern_ops index), a range on
    SQLite, whose LIKE is case-insensitive and so never uses a plain index."""
    if vendor == "postgresql":
        return Q(**{f"{field}__startswith": term})
    # Every string starting with `term` sorts between it and term + the last
    # code point (SQLite compares text as UTF-8 bytes, i.e. by code point).
    return Q(**{f"{field}__gte": term, f"{field}__lt": term + "\U0010ffff"})


# The columns a registration's keys are computed from, in key_rows' order.
KEY_SOURCES = (
    "pk",
    "event_id",
    "user__full_name",
    "user__full_name_kana",
    "user__email",
    "organisation__name",
    "organisation__kana",
    "organisation_name",
)


def key_rows(sources: Iterable[tuple]) -> Iterator[tuple[int, int, str]]:
    """(registration id, event id, key) of rows of KEY_SOURCES values: for the
    bulk writers (index_for_search, migration events/0006, the bench)."""
    for pk, event_id, name, kana, email, org, org_kana, org_name in sources:
        keys = search_keys(
            full_name=name or "",
            full_name_kana=kana or "",
            email=email or "",
            organisation=org or "",
            organisation_kana=org_kana or "",
            organisation_name=org_name or "",
        )
        for key in sorted(keys):
            yield pk, event_id, key


def insert_search_keys(rows: Iterable[tuple[int, int, str]], *, using: str = "default") -> int:
    """INSERT (registration id, event id, key) rows with executemany: bulk
    loaders write a dozen keys per registration, and model instances for each
    would cost more than the rest of their work. Returns the number of rows."""
    key_model = apps.get_model("events", "RegistrationSearchKey")
    connection = connections[using]
    quote = connection.ops.quote_name
    columns = ", ".join(
        quote(key_model._meta.get_field(name).column) for name in ("registration", "event", "key")
    )
    sql = f"INSERT INTO {quote(key_model._meta.db_table)} ({columns}) VALUES (%s, %s, %s)"
    written = 0
    batch: list[tuple[int, int, str]] = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append(row)
            if len(batch) == 5000:
                cursor.executemany(sql, batch)
                written += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            written += len(batch)
    return written


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

    def matching(self, text, *, event):
        """These registrations of `event` found by every word of `text`, by
        prefix on their search keys (the check-in search): one index range
        per word, so a one-hit query costs the same at 50 or 5,000.

        The event is named on the keys (and checked on the registration
        there), not on the registrations: with `event_id = ?` beside the
        subquery SQLite would read the whole event through an index and
        probe the matches, instead of fetching the matches by primary key."""
        terms = search_terms(text)
        if not terms:
            return self.filter(event=event)
        keys = apps.get_model("events", "RegistrationSearchKey").objects
        vendor = connections[self.db].vendor
        found = self
        for term in terms:
            with_term = keys.filter(
                _prefix_q("key", term, vendor), event=event, registration__event=event
            )
            found = found.filter(pk__in=with_term.values("registration_id"))
        return found

    def index_for_search(self, *, batch_size: int = 2000) -> int:
        """(Re)write the search keys of these registrations from their
        person and organisation as they are now; returns how many keys were
        written. Three queries per `batch_size` registrations, read in
        primary-key order: for the registrations written without the
        services (the demo, the bench, the admin, tests' factories) and for
        `manage.py index_checkin_search`."""
        key_model = apps.get_model("events", "RegistrationSearchKey")
        sources = self.order_by("pk").values_list(*KEY_SOURCES)
        written = 0
        last = None
        while True:
            batch = sources.filter(pk__gt=last) if last is not None else sources
            batch = list(batch[:batch_size])
            if not batch:
                return written
            pks = [row[0] for row in batch]
            # A batch's old keys and new ones together: never a registration without keys.
            with transaction.atomic(using=self.db):
                key_model.objects.using(self.db).filter(registration_id__in=pks).delete()
                written += insert_search_keys(key_rows(batch), using=self.db)
            last = pks[-1]

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
