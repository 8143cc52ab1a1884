"""The dashboard's tallies: who came to the exchange meetings, kept current by
the writes that change it (docs/committee.md, "Summaries").

The committee dashboard (committee.participation) counts the registrations
present (events.querysets.present_q) at exchange meetings that took place.
Aggregating them on a page view costs a scan of every registration of the
年度 (75,000 at national scale); instead every service that changes a
registration or an event — events.services and events.importing — calls
``refresh(event_ids)`` in its own transaction, and the dashboard reads the
rows kept here (events.models):

* ``TalliedEvent`` — one per exchange meeting that is published or finished:
  the attributes the rows were computed from (年度, finished, start) and the
  modes in which check-in was used; ``revision`` rises with every change.
* ``EventTally`` — per event × organisation kind: persons, distinct
  organisations, the one organisation when only one came.
* ``TalliedPresence`` — the present registrations themselves (person,
  organisation): what the per-年度 rows are recomputed from, for the few
  people and organisations a change touches.
* ``PersonYearTally`` / ``OrganisationYearTally`` — per 年度 × person and
  × organisation: distinct counts across meetings cannot be summed from
  per-event rows. A published meeting counts only once it has started, so the
  rows keep what decides "came" at any time of reading: present at a finished
  meeting (how many), and the earliest starts among the published ones.

``refresh`` recomputes the given events from their registrations (two
queries: the modes that used check-in, then the present registrations),
compares with the stored presence, and recomputes the per-年度 rows of the
people and organisations whose presence changed — for a check-in, one person.
It locks the events' TalliedEvent rows first (PostgreSQL), so two refreshes
of one event follow each other; an event that is not (or no longer) an
exchange meeting published or finished has no rows.

Writes outside the services are not seen by ``refresh``. The dashboard
notices meetings without rows or with rows computed for other attributes
(bulk-written data, an event saved directly) and organisations that changed
group or were deleted, and then computes the 年度 from the registrations
(exact, slower; a page view writes nothing) until ``repair()`` refreshes
them. ``rebuild`` computes everything from scratch (the data migration, the
benchmark's bulk-inserted data set); ``computed``/``stored`` give both as
plain data, which the tests compare after every service.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.apps import apps as global_apps
from django.db import connection, transaction
from django.db.models import Q

from .enums import EventKind, EventStatus, RegistrationMode
from .querysets import checkin_used_in, present_q

TALLIED_KIND = EventKind.EXCHANGE
TALLIED_STATUSES = (EventStatus.PUBLISHED, EventStatus.FINISHED)
# Ids per IN (...) list and rows per INSERT.
CHUNK = 500
BATCH = 2000
STATE_FIELDS = (
    "fiscal_year",
    "finished",
    "starts_at",
    "venue_checkin",
    "online_checkin",
    "revision",
)


def is_tallied(kind: str, status: str) -> bool:
    """An exchange meeting that is published or finished: the dashboard may
    count it (once it has started, for a published one)."""
    return kind == TALLIED_KIND and status in TALLIED_STATUSES


def tallied_q(prefix: str = "") -> Q:
    return Q(**{f"{prefix}kind": TALLIED_KIND, f"{prefix}status__in": TALLIED_STATUSES})


# --- plain data -----------------------------------------------------------------------


@dataclass(frozen=True)
class EventAttributes:
    """What an event's rows depend on: its 年度, whether it is finished (it
    counts) or published (it counts once started), its start."""

    fiscal_year: int
    finished: bool
    starts_at: datetime.datetime


@dataclass
class Tallies:
    """Every row of the tallies as plain data (revisions left out)."""

    events: dict[int, tuple] = field(default_factory=dict)  # pk: (attributes, venue, online)
    kinds: dict[tuple[int, str], tuple] = field(default_factory=dict)  # (persons, orgs, the org)
    presence: dict[int, tuple] = field(default_factory=dict)  # registration: (event, user, org)
    persons: dict[tuple[int, int], tuple] = field(default_factory=dict)  # (finished, first)
    organisations: dict[tuple[int, int], tuple] = field(default_factory=dict)


class _Models:
    """The models, from the app registry a migration passes (or the live one)."""

    def __init__(self, apps=None):
        get = (apps or global_apps).get_model
        self.Event = get("events", "Event")
        self.Registration = get("events", "Registration")
        self.TalliedEvent = get("events", "TalliedEvent")
        self.EventTally = get("events", "EventTally")
        self.TalliedPresence = get("events", "TalliedPresence")
        self.PersonYearTally = get("events", "PersonYearTally")
        self.OrganisationYearTally = get("events", "OrganisationYearTally")


def _chunks(values: Iterable, size: int = CHUNK) -> Iterator[list]:
    values = sorted(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- the computation (shared by refresh, rebuild and computed) ---------------------------


def _read_present(m: _Models, events: Q) -> tuple[dict[int, set[str]], list[tuple]]:
    """The modes that used check-in per event, and the present registrations
    (pk, event, user, organisation, its kind) of the registrations `events`
    selects: present_q with the modes read once (two queries)."""
    registrations = m.Registration.objects.filter(events)
    # As RegistrationQuerySet.checked_in_modes (a migration's model has no custom queryset).
    pairs = set(
        registrations.filter(attended=True).values_list("event_id", "mode").distinct().order_by()
    )
    modes: dict[int, set[str]] = defaultdict(set)
    for event_id, mode in pairs:
        modes[event_id].add(mode)
    rows = list(
        registrations.filter(present_q(checkin_used_in(pairs)))
        .values_list("pk", "event_id", "user_id", "organisation_id", "organisation__kind")
        .order_by()
    )
    return modes, rows


def _kind_rows(rows: Iterable[tuple]) -> dict[tuple[int, str], tuple]:
    """(event, organisation kind) -> (persons, distinct organisations, the
    organisation when only one)."""
    persons: dict[tuple[int, str], int] = defaultdict(int)
    organisations: dict[tuple[int, str], set[int]] = defaultdict(set)
    for _pk, event_id, _user, organisation_id, kind in rows:
        key = (event_id, kind or "")
        persons[key] += 1
        if organisation_id is not None:
            organisations[key].add(organisation_id)
    result = {}
    for key, n in persons.items():
        orgs = organisations.get(key, set())
        result[key] = (n, len(orgs), next(iter(orgs)) if len(orgs) == 1 else None)
    return result


def _person_years(
    rows: Iterable[tuple[int, int]], events: dict[int, EventAttributes]
) -> dict[tuple[int, int], tuple]:
    """(年度, person) -> (present at a finished meeting, earliest start of a
    published one) from (event, person) pairs."""
    result: dict[tuple[int, int], list] = {}
    for event_id, user_id in rows:
        event = events[event_id]
        entry = result.setdefault((event.fiscal_year, user_id), [False, None])
        if event.finished:
            entry[0] = True
        elif entry[1] is None or event.starts_at < entry[1]:
            entry[1] = event.starts_at
    return {key: tuple(value) for key, value in result.items()}


def _organisation_years(
    rows: Iterable[tuple[int, int | None]], events: dict[int, EventAttributes], kinds: dict
) -> dict[tuple[int, int], tuple]:
    """(年度, organisation) -> (kind, finished meetings, first finished start,
    first and second published start) from (event, organisation) pairs,
    each meeting counted once."""
    seen: dict[tuple[int, int], set[int]] = defaultdict(set)
    for event_id, organisation_id in rows:
        if organisation_id is not None:
            seen[(events[event_id].fiscal_year, organisation_id)].add(event_id)
    result = {}
    for (fiscal_year, organisation_id), event_ids in seen.items():
        finished = [events[e].starts_at for e in event_ids if events[e].finished]
        published = sorted(events[e].starts_at for e in event_ids if not events[e].finished)
        result[(fiscal_year, organisation_id)] = (
            kinds.get(organisation_id) or "",
            len(finished),
            min(finished, default=None),
            published[0] if published else None,
            published[1] if len(published) > 1 else None,
        )
    return result


def _attributes(kind, status, fiscal_year, starts_at) -> EventAttributes | None:
    if not is_tallied(kind, status):
        return None
    return EventAttributes(fiscal_year, status == EventStatus.FINISHED, starts_at)


def computed(apps=None) -> Tallies:
    """What every row should hold, from the registrations (one pass)."""
    m = _Models(apps)
    events = {
        pk: _attributes(kind, status, fy, starts_at)
        for pk, kind, status, fy, starts_at in m.Event.objects.filter(tallied_q()).values_list(
            "pk", "kind", "status", "fiscal_year", "starts_at"
        )
    }
    modes, rows = _read_present(m, tallied_q("event__"))
    kinds = {org: kind for _pk, _e, _u, org, kind in rows if org is not None}
    return Tallies(
        events={
            pk: (
                attributes,
                RegistrationMode.VENUE in modes.get(pk, ()),
                RegistrationMode.ONLINE in modes.get(pk, ()),
            )
            for pk, attributes in events.items()
        },
        kinds=_kind_rows(rows),
        presence={pk: (event, user, org) for pk, event, user, org, _kind in rows},
        persons=_person_years(((event, user) for _pk, event, user, _o, _k in rows), events),
        organisations=_organisation_years(
            ((event, org) for _pk, event, _u, org, _k in rows), events, kinds
        ),
    )


def stored(apps=None) -> Tallies:
    """What the rows hold."""
    m = _Models(apps)
    return Tallies(
        events={
            pk: (EventAttributes(fy, finished, starts_at), venue, online)
            for pk, fy, finished, starts_at, venue, online in m.TalliedEvent.objects.values_list(
                "event_id",
                "fiscal_year",
                "finished",
                "starts_at",
                "venue_checkin",
                "online_checkin",
            )
        },
        kinds={
            (event, kind): (persons, organisations, organisation)
            for event, kind, persons, organisations, organisation in m.EventTally.objects.values_list(
                "event_id", "organisation_kind", "persons", "organisations", "organisation_id"
            )
        },
        presence={
            pk: (event, user, org)
            for pk, event, user, org in m.TalliedPresence.objects.values_list(
                "registration_id", "event_id", "user_id", "organisation_id"
            )
        },
        persons={
            (fy, user): (finished, first)
            for fy, user, finished, first in m.PersonYearTally.objects.values_list(
                "fiscal_year", "user_id", "finished", "first_published"
            )
        },
        organisations={
            (fy, org): tuple(rest)
            for fy, org, *rest in m.OrganisationYearTally.objects.values_list(
                "fiscal_year",
                "organisation_id",
                "kind",
                "finished",
                "first_finished",
                "first_published",
                "second_published",
            )
        },
    )


# --- writing ---------------------------------------------------------------------------


@transaction.atomic
def rebuild(apps=None) -> dict[str, int]:
    """Throw every row away and compute them again from the registrations.
    Takes the app registry a migration passes (default: the live one); returns
    how many rows of each kind were written."""
    m = _Models(apps)
    for model in (
        m.PersonYearTally,
        m.OrganisationYearTally,
        m.TalliedPresence,
        m.EventTally,
        m.TalliedEvent,
    ):
        model.objects.all().delete()
    tallies = computed(apps)
    m.TalliedEvent.objects.bulk_create(
        (
            m.TalliedEvent(
                event_id=pk,
                fiscal_year=attributes.fiscal_year,
                finished=attributes.finished,
                starts_at=attributes.starts_at,
                venue_checkin=venue,
                online_checkin=online,
                revision=1,
            )
            for pk, (attributes, venue, online) in tallies.events.items()
        ),
        batch_size=BATCH,
    )
    _write_kinds(m, tallies.kinds)
    m.TalliedPresence.objects.bulk_create(
        (
            m.TalliedPresence(registration_id=pk, event_id=event, user_id=user, organisation_id=org)
            for pk, (event, user, org) in tallies.presence.items()
        ),
        batch_size=BATCH,
    )
    _write_persons(m, tallies.persons)
    _write_organisations(m, tallies.organisations)
    return {
        "events": len(tallies.events),
        "kinds": len(tallies.kinds),
        "presence": len(tallies.presence),
        "persons": len(tallies.persons),
        "organisations": len(tallies.organisations),
    }


def _write_kinds(m: _Models, kinds: dict) -> None:
    m.EventTally.objects.bulk_create(
        (
            m.EventTally(
                event_id=event,
                organisation_kind=kind,
                persons=persons,
                organisations=organisations,
                organisation_id=organisation,
            )
            for (event, kind), (persons, organisations, organisation) in kinds.items()
        ),
        batch_size=BATCH,
    )


def _write_persons(m: _Models, persons: dict) -> None:
    m.PersonYearTally.objects.bulk_create(
        (
            m.PersonYearTally(
                fiscal_year=fy, user_id=user, finished=finished, first_published=first
            )
            for (fy, user), (finished, first) in persons.items()
        ),
        batch_size=BATCH,
    )


def _write_organisations(m: _Models, organisations: dict) -> None:
    m.OrganisationYearTally.objects.bulk_create(
        (
            m.OrganisationYearTally(
                fiscal_year=fy,
                organisation_id=org,
                kind=kind,
                finished=finished,
                first_finished=first_finished,
                first_published=first_published,
                second_published=second_published,
            )
            for (fy, org), (
                kind,
                finished,
                first_finished,
                first_published,
                second_published,
            ) in organisations.items()
        ),
        batch_size=BATCH,
    )


@transaction.atomic
def refresh(event_ids: Iterable[int]) -> None:
    """Bring the rows of these events up to date with their registrations and
    attributes, in the caller's transaction. Cheap for one event: for one
    that is not an exchange meeting two small queries, for a check-in a
    handful and the per-年度 rows of one person and one organisation."""
    _refresh(_Models(), {int(pk) for pk in event_ids})


@transaction.atomic
def forget(event_ids: Iterable[int]) -> None:
    """Drop the rows of events about to be deleted outright, with what they
    added to the per-年度 rows (a deletion leaves no registration to
    recompute from). Call before deleting."""
    _refresh(_Models(), {int(pk) for pk in event_ids}, forgetting=True)


@transaction.atomic
def refresh_organisations(organisation_ids: Iterable[int]) -> None:
    """An organisation's kind changed, or it was deleted, outside the events
    services (network pages, the admin's import): refresh the events it was
    tallied at and its per-年度 rows (repair finds such organisations)."""
    m = _Models()
    ids = {int(pk) for pk in organisation_ids}
    if not ids:
        return
    event_ids: set[int] = set()
    years: set[int] = set()
    for chunk in _chunks(ids):
        event_ids.update(
            m.TalliedPresence.objects.filter(organisation_id__in=chunk)
            .values_list("event_id", flat=True)
            .distinct()
            .order_by()
        )
        years.update(
            m.OrganisationYearTally.objects.filter(organisation_id__in=chunk)
            .values_list("fiscal_year", flat=True)
            .distinct()
            .order_by()
        )
    _refresh(m, event_ids)
    _recompute_organisations(m, {fy: ids for fy in years})


# --- what the services did not see ------------------------------------------------------


def stale_events_sql(select: str, *, up_to_year: int | None = None) -> tuple[str, list]:
    """SQL selecting `select` from the events (alias e, LEFT JOIN their
    TalliedEvent as t) whose tallies do not match them: tallied but without
    rows (bulk-written data, a meeting saved directly), or with rows although
    no longer tallied, or computed for another 年度, start or status. With
    `up_to_year`: those that matter to that 年度's figures (this and earlier
    年度). A scan of the events with one probe each; no registration is read."""
    qn = connection.ops.quote_name

    def e(name: str) -> str:
        return f"e.{qn(name)}"

    def t(name: str) -> str:
        return f"t.{qn(name)}"

    tallied = f"({e('kind')} = %s AND {e('status')} IN (%s, %s))"
    tallied_params = [TALLIED_KIND, *TALLIED_STATUSES]
    years, year_params = "", []
    if up_to_year is not None:
        years = f"({e('fiscal_year')} <= %s OR {t('fiscal_year')} <= %s) AND "
        year_params = [up_to_year, up_to_year]
    event = global_apps.get_model("events", "Event")._meta.db_table
    tally = global_apps.get_model("events", "TalliedEvent")._meta.db_table
    sql = (
        f"SELECT {select} FROM {qn(event)} e"
        f" LEFT JOIN {qn(tally)} t"
        f" ON {t('event_id')} = {e('id')} WHERE {years}"
        f"(({t('event_id')} IS NULL AND {tallied})"
        f" OR ({t('event_id')} IS NOT NULL AND (NOT {tallied} OR {t('fiscal_year')} IS NULL"
        f" OR {t('fiscal_year')} <> {e('fiscal_year')} OR {t('starts_at')} <> {e('starts_at')}"
        f" OR {t('finished')} <> ({e('status')} = %s))))"
    )
    return sql, [*year_params, *tallied_params, *tallied_params, EventStatus.FINISHED]


def stale_events() -> list[int]:
    """The events whose tallies do not match them (stale_events_sql)."""
    sql, params = stale_events_sql(f"e.{connection.ops.quote_name('id')}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


def stale_organisations() -> list[int]:
    """Organisations whose kind is not the one they were tallied under, or
    that were deleted (the network pages, the admin's import)."""
    m = _Models()
    return sorted(
        {
            pk
            for pk, tallied, kind in m.OrganisationYearTally.objects.values_list(
                "organisation_id", "kind", "organisation__kind"
            )
            if kind != tallied
        }
    )


@transaction.atomic
def repair() -> dict[str, int]:
    """Refresh what changed behind the services' back: events bulk-written or
    saved directly, organisations whose kind changed or that were deleted.
    Until then the dashboard computes the 年度 they touch from the
    registrations (exact, slower). Nothing calls it on a schedule: run it
    after a script that wrote events or organisations directly. Returns how many of each were refreshed."""
    events = stale_events()
    refresh(events)
    organisations = stale_organisations()
    refresh_organisations(organisations)
    return {"events": len(events), "organisations": len(organisations)}


def _refresh(m: _Models, ids: set[int], *, forgetting: bool = False) -> None:
    if not ids:
        return
    # Lock first, then read the events: a concurrent change of one of them
    # (which refreshes too) is then either fully before or fully after this.
    states = _lock(m, ids)
    current = _current(m, ids, forgetting)
    missing = [pk for pk in current if pk not in states]
    if missing:
        m.TalliedEvent.objects.bulk_create(
            [m.TalliedEvent(event_id=pk) for pk in missing], ignore_conflicts=True
        )
        states.update(_lock(m, missing))
        current = _current(m, ids, forgetting)
    involved = sorted(set(states) | set(current))
    if not involved:
        return

    modes, rows = _read_present(m, Q(event_id__in=sorted(current))) if current else ({}, [])
    old = {
        pk: (event, user, org)
        for pk, event, user, org in m.TalliedPresence.objects.filter(
            event_id__in=involved
        ).values_list("registration_id", "event_id", "user_id", "organisation_id")
    }
    new = {pk: (event, user, org) for pk, event, user, org, _kind in rows}

    def snapshot(pk):
        state = states.get(pk)
        if state is None or state.fiscal_year is None:
            return None
        return EventAttributes(state.fiscal_year, state.finished, state.starts_at)

    before = {pk: snapshot(pk) for pk in involved}
    moved = {pk for pk in involved if before[pk] != current.get(pk)}
    persons: dict[int, set[int]] = defaultdict(set)
    organisations: dict[int, set[int]] = defaultdict(set)
    changed_events: set[int] = set(moved)
    for pk in old.keys() | new.keys():
        was, now = old.get(pk), new.get(pk)
        event_id = (was or now)[0]
        if was == now and event_id not in moved:
            continue
        changed_events.add(event_id)
        for value, attributes in ((was, before.get(event_id)), (now, current.get(event_id))):
            if value is not None and attributes is not None:
                persons[attributes.fiscal_year].add(value[1])
                if value[2] is not None:
                    organisations[attributes.fiscal_year].add(value[2])

    _write_presence(m, old, new)
    kinds = _kind_rows(rows)
    old_kinds = {
        (event, kind): (persons_, orgs, org)
        for event, kind, persons_, orgs, org in m.EventTally.objects.filter(
            event_id__in=involved
        ).values_list(
            "event_id", "organisation_kind", "persons", "organisations", "organisation_id"
        )
    }
    kinds_changed = {event for event, _kind in kinds.keys() ^ old_kinds.keys()} | {
        key[0] for key in kinds.keys() & old_kinds.keys() if kinds[key] != old_kinds[key]
    }
    if kinds_changed:
        m.EventTally.objects.filter(event_id__in=sorted(kinds_changed)).delete()
        _write_kinds(m, {key: value for key, value in kinds.items() if key[0] in kinds_changed})

    gone = [pk for pk in involved if pk not in current]
    if gone:
        m.TalliedEvent.objects.filter(event_id__in=gone).delete()
    updated = []
    for pk, attributes in current.items():
        state = states[pk]
        venue = RegistrationMode.VENUE in modes.get(pk, ())
        online = RegistrationMode.ONLINE in modes.get(pk, ())
        if (
            pk not in changed_events
            and pk not in kinds_changed
            and (state.venue_checkin, state.online_checkin) == (venue, online)
        ):
            continue
        state.fiscal_year = attributes.fiscal_year
        state.finished = attributes.finished
        state.starts_at = attributes.starts_at
        state.venue_checkin, state.online_checkin = venue, online
        state.revision += 1
        updated.append(state)
    m.TalliedEvent.objects.bulk_update(updated, STATE_FIELDS, batch_size=CHUNK)
    _recompute_persons(m, persons)
    _recompute_organisations(m, organisations)


def _lock(m: _Models, ids: Iterable[int]) -> dict:
    return {
        state.event_id: state
        for state in m.TalliedEvent.objects.select_for_update()
        .filter(event_id__in=sorted(ids))
        .order_by("event_id")
    }


def _current(m: _Models, ids: set[int], forgetting: bool) -> dict[int, EventAttributes]:
    """The events among `ids` the tallies cover now, with their attributes."""
    if forgetting:
        return {}
    found = {}
    for pk, kind, status, fy, starts_at in m.Event.objects.filter(pk__in=sorted(ids)).values_list(
        "pk", "kind", "status", "fiscal_year", "starts_at"
    ):
        attributes = _attributes(kind, status, fy, starts_at)
        if attributes is not None:
            found[pk] = attributes
    return found


def _write_presence(m: _Models, old: dict, new: dict) -> None:
    removed = [pk for pk in old if pk not in new]
    for chunk in _chunks(removed):
        m.TalliedPresence.objects.filter(registration_id__in=chunk).delete()
    # A registration's organisation may change (an import names another one).
    moved: dict[int | None, list[int]] = defaultdict(list)
    for pk, value in new.items():
        if pk in old and old[pk] != value:
            moved[value[2]].append(pk)
    for organisation_id, pks in moved.items():
        for chunk in _chunks(pks):
            m.TalliedPresence.objects.filter(registration_id__in=chunk).update(
                organisation_id=organisation_id
            )
    m.TalliedPresence.objects.bulk_create(
        (
            m.TalliedPresence(registration_id=pk, event_id=event, user_id=user, organisation_id=org)
            for pk, (event, user, org) in new.items()
            if pk not in old
        ),
        batch_size=BATCH,
    )


def _recompute_persons(m: _Models, persons: dict[int, set[int]]) -> None:
    """The per-年度 rows of these people, from their presence at the 年度's
    tallied events (the events' stored attributes)."""
    for fiscal_year, users in persons.items():
        for chunk in _chunks(users):
            rows = list(
                m.TalliedPresence.objects.filter(
                    user_id__in=chunk, event__fiscal_year=fiscal_year
                ).values_list("event_id", "user_id", "event__finished", "event__starts_at")
            )
            events = {e: EventAttributes(fiscal_year, f, s) for e, _u, f, s in rows}
            wanted = _person_years(((e, u) for e, u, _f, _s in rows), events)
            existing = {
                (fiscal_year, user): (finished, first)
                for user, finished, first in m.PersonYearTally.objects.filter(
                    fiscal_year=fiscal_year, user_id__in=chunk
                ).values_list("user_id", "finished", "first_published")
            }
            if wanted == existing:
                continue
            stale = {
                user
                for (_fy, user) in existing.keys() | wanted.keys()
                if existing.get((fiscal_year, user)) != wanted.get((fiscal_year, user))
            }
            gone = sorted(user for (_fy, user) in existing if user in stale)
            if gone:
                m.PersonYearTally.objects.filter(fiscal_year=fiscal_year, user_id__in=gone).delete()
            _write_persons(m, {key: value for key, value in wanted.items() if key[1] in stale})


def _recompute_organisations(m: _Models, organisations: dict[int, set[int]]) -> None:
    """The per-年度 rows of these organisations, with their kind now."""
    for fiscal_year, ids in organisations.items():
        for chunk in _chunks(ids):
            rows = list(
                m.TalliedPresence.objects.filter(
                    organisation_id__in=chunk, event__fiscal_year=fiscal_year
                )
                .values_list(
                    "event_id",
                    "organisation_id",
                    "event__finished",
                    "event__starts_at",
                    "organisation__kind",
                )
                .distinct()
                .order_by()
            )
            events = {e: EventAttributes(fiscal_year, f, s) for e, _o, f, s, _k in rows}
            kinds = {o: k for _e, o, _f, _s, k in rows}
            wanted = _organisation_years(((e, o) for e, o, _f, _s, _k in rows), events, kinds)
            existing = {
                (fiscal_year, org): tuple(rest)
                for org, *rest in m.OrganisationYearTally.objects.filter(
                    fiscal_year=fiscal_year, organisation_id__in=chunk
                ).values_list(
                    "organisation_id",
                    "kind",
                    "finished",
                    "first_finished",
                    "first_published",
                    "second_published",
                )
            }
            if wanted == existing:
                continue
            stale = {
                org
                for (_fy, org) in existing.keys() | wanted.keys()
                if existing.get((fiscal_year, org)) != wanted.get((fiscal_year, org))
            }
            gone = sorted(org for (_fy, org) in existing if org in stale)
            if gone:
                m.OrganisationYearTally.objects.filter(
                    fiscal_year=fiscal_year, organisation_id__in=gone
                ).delete()
            _write_organisations(
                m, {key: value for key, value in wanted.items() if key[1] in stale}
            )
