"""Who comes to the exchange meetings, per 年度: the committee dashboard's
numbers (issue 5), the JSON contract /dashboard/participation.json and the CSV.

What is counted
---------------
* Events: kind 情報交換会 (``exchange``) of the 年度 that took place — status
  finished, or published with a start in the past. Cancelled and draft events
  are left out, and so are the other kinds (シンポジウム, 勉強会, 報告会, 部会):
  the seed's table and its 延べ247名 are the five exchange meetings only (the
  symposium was held with the 3rd meeting and its audience is counted there).
* Who came to an event: ``events.querysets.present_q``, the rule of
  ``Registration.objects.counted_as_present`` — judged per event and mode:
  where check-in was used in a mode (someone of that mode marked attended)
  only the attended registrations of that mode, otherwise every confirmed one
  (a hybrid meeting that checks in the venue only still counts its online
  participants). Here it is applied to all events at once: the events are
  read with one EXISTS per mode (``venue_checkin``, ``online_checkin``), and
  the registrations are filtered with ``present_q(checkin_used_in(pairs))``,
  so the EXISTS is not evaluated again in every query.
* Persons are registrations (one per person and event); the organisation is the
  one the person registered for (at the time).
* Groups: 団体 = 受託団体 + 支援団体 (``organisations``), 自治体
  (``municipalities``), 国 = 国・関係行政 (``government``), その他 (``other``) =
  persons whose organisation is of kind other or who came without one.
* 機関 (an event's ``organisations``, the totals' ``distinct_organisations``)
  counts the organisations of 団体, 自治体 and 国 only: the seed's 第3回 has 90
  persons = 67 + 13 + 6 + 4 (その他) but 52 機関 = 42 + 9 + 1. The ``other``
  group still reports how many organisations of kind other came.
* Totals: 延べ persons (the sum over events: 247 in FY2021), distinct persons,
  distinct organisations (機関, as above).
* Repeat rate: among the organisations that came to at least one event of the
  年度, the share that came to two or more — overall (団体, 自治体 and 国) and
  per group; a float 0–1 rounded to 3 decimals, ``None`` (JSON null) when no
  organisation came.
* First time or returning, per event: an organisation is *returning* when it
  came to an earlier counted event — ever before, across 年度, not only in the
  same 年度. Events that start at the same moment are not "earlier" than each
  other; an organisation first seen at such a moment is counted as new at the
  first of those events in the table.
* Coverage: an area is a 市町村, or the 町村部 of a 振興局 for the 振興局's own
  units (organisations with a 振興局 but no 市町村). A member organisation is an
  active 自治体, 受託団体 or 支援団体 located there (or an inactive one that
  came). The outreach list is the areas that have member organisations none of
  which came in the 年度; the 市町村 without any member organisation are
  counted, not listed.
* 自治体 that commission: the commissioners of the 年度's Commission rows that
  did not come in the 年度 themselves, with how many of their 受託団体 did.

Where the numbers come from: ``compute`` reads the tallies that the events
services keep in the same transaction as every registration change, check-in
and attendance import (events.tallies; docs/committee.md, "Summaries"), so a
page view aggregates no registration. ``compute_from_registrations`` is the
same numbers aggregated from the registrations — the definition, which
tests/test_tallies.py compares with ``compute`` after every service and on
random data. ``compute`` refreshes, before reading, the tallies of events of
this and earlier 年度 that were written or changed behind the services' back
(bulk-written data, an event saved directly) and of organisations whose kind
changed or that were deleted.

Queries: a fixed number, whatever the number of events or registrations:
``compute`` runs 8 (5 for a 年度 without meetings); tests/test_participation.py
asserts them as literals. ``for_year``/``cached`` keep the result in the cache
under a key that includes the data version (one query of scalar subqueries
over events, tallies, organisations and commissions, see ``data_version``), so
while nothing that matters changes, the numbers cost that one query.

Performance (docs/benchmarks.md): at national scale (587
meetings and 47,000 present registrations in the busiest 年度) ``compute``
takes tens of milliseconds instead of half a second or more, and the data
version reads no registration.
"""

from __future__ import annotations

import datetime
import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    When,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core.dates import current_fiscal_year, fiscal_year_of  # noqa: F401 (used as p.current_fiscal_year)
from core.versions import version_of
from events import tallies
from events.enums import EventKind, EventStatus
from events.models import (
    Event,
    EventTally,
    OrganisationYearTally,
    PersonYearTally,
    Registration,
    TalliedEvent,
)
from events.querysets import checkin_used_in, present_q
from network.enums import OrganisationKind
from network.models import Commission, Municipality, Organisation, Region

K = OrganisationKind
ORGANISATIONS = "organisations"
MUNICIPALITIES = "municipalities"
GOVERNMENT = "government"
OTHER = "other"
GROUPS = (ORGANISATIONS, MUNICIPALITIES, GOVERNMENT, OTHER)
# The repeat rate over 団体, 自治体 and 国 together.
ALL = "all"
# Groups whose organisations are counted as 機関.
COUNTED_GROUPS = (ORGANISATIONS, MUNICIPALITIES, GOVERNMENT)
GROUP_OF_KIND = {
    K.CONTRACTOR: ORGANISATIONS,
    K.SUPPORT: ORGANISATIONS,
    K.MUNICIPALITY: MUNICIPALITIES,
    K.GOVERNMENT: GOVERNMENT,
}
# Kinds whose presence in an area the coverage looks at.
AREA_KINDS = (K.MUNICIPALITY, K.CONTRACTOR, K.SUPPORT)
# The seed writes the one ministry that came by its short name (厚労省(10)).
SHORT_NAMES = {"厚生労働省": "厚労省"}

CACHE_SECONDS = 15 * 60
# Bump when the cached objects change shape.
SCHEMA = 2


def group_of(kind: str | None) -> str:
    return GROUP_OF_KIND.get(kind or "", OTHER)


@dataclass(frozen=True)
class Wording:
    """The translated words of the meeting lines (EventRow.heading and
    summary), looked up once per language rather than for every line: a
    年度 of hundreds of meetings writes each of them several times."""

    labels: dict[str, str]
    day: str  # 6月4日
    numbered: str  # 第1回 6月4日
    organisations: str  # 14機関
    line: str  # 第1回 6月4日 27名 (…)


@functools.lru_cache(maxsize=8)
def _wording(language: str | None) -> Wording:
    return Wording(
        labels={
            ORGANISATIONS: _("団体"),
            MUNICIPALITIES: _("自治体"),
            GOVERNMENT: _("国"),
            OTHER: _("その他"),
        },
        day=_("%(month)d月%(day)d日"),
        numbered=_("第%(number)d回 %(day)s"),
        organisations=_("%(orgs)d機関"),
        line=_("%(heading)s %(persons)d名 (%(detail)s)"),
    )


def wording() -> Wording:
    """The meeting lines' words in the active language."""
    return _wording(get_language())


def group_labels() -> dict[str, str]:
    return dict(wording().labels)


def round_rate(n: int, base: int) -> float | None:
    return round(n / base, 3) if base else None


# --- querysets --------------------------------------------------------------------------


def counted_q(now: datetime.datetime) -> Q:
    """Exchange meetings that took place (finished, or published and started)."""
    return Q(kind=EventKind.EXCHANGE) & (
        Q(status=EventStatus.FINISHED) | Q(status=EventStatus.PUBLISHED, starts_at__lte=now)
    )


# The annotation that says whether a mode of an event used check-in.
CHECKIN_FIELDS = {mode: f"{mode}_checkin" for mode in Registration.Mode.values}


def counted_events(now: datetime.datetime | None = None):
    """Exchange meetings that took place, annotated per mode with whether
    check-in was used in it (``venue_checkin``, ``online_checkin``)."""
    return Event.objects.filter(counted_q(now or timezone.now())).annotate(
        **{
            name: Exists(
                Registration.objects.filter(event=OuterRef("pk"), mode=mode, attended=True)
            )
            for mode, name in CHECKIN_FIELDS.items()
        }
    )


def present_registrations(events):
    """The registrations counted as present at `events` (a ``counted_events()``
    queryset): ``present_q`` for many events in one query."""
    return Registration.objects.filter(event__in=events.values("pk")).filter(present_q())


def _present_q(events: list[EventRow]) -> Q:
    """The same filter for events already read: the modes that used check-in
    as parameters, so that the EXISTS is not evaluated again in every query."""
    pairs = [(e.id, mode) for e in events for mode in e.checked_in_modes]
    return Q(event_id__in=[e.id for e in events]) & present_q(checkin_used_in(pairs))


def available_years(now: datetime.datetime | None = None) -> list[int]:
    """年度 with at least one counted exchange meeting, latest first."""
    return list(
        Event.objects.filter(counted_q(now or timezone.now()))
        .order_by("-fiscal_year")
        .values_list("fiscal_year", flat=True)
        .distinct()
    )


# --- result objects (plain data: they go into the cache) --------------------------------


@dataclass(frozen=True)
class Figures:
    organisations: int = 0
    persons: int = 0


@dataclass
class EventRow:
    id: int
    title: str
    number: int | None
    starts_at: datetime.datetime
    date: datetime.date
    # The modes (venue, online) in which check-in was used.
    checked_in_modes: tuple[str, ...]
    persons: int = 0
    organisations: int = 0
    groups: dict[str, Figures] = field(default_factory=dict)
    government_name: str = ""  # the one 国 organisation that came, if only one
    first_time: int = 0
    returning: int = 0

    @property
    def has_checkin(self) -> bool:
        """Check-in was used in some mode (the table's 受付記録あり)."""
        return bool(self.checked_in_modes)

    def group(self, key: str) -> Figures:
        return self.groups.get(key, Figures())

    @property
    def dantai(self) -> Figures:
        return self.group(ORGANISATIONS)

    @property
    def municipal(self) -> Figures:
        return self.group(MUNICIPALITIES)

    @property
    def government(self) -> Figures:
        return self.group(GOVERNMENT)

    @property
    def other(self) -> Figures:
        return self.group(OTHER)

    @property
    def heading(self) -> str:
        """第1回 6月4日 (or the title, for a meeting without a number)."""
        return self._heading(wording())

    def _heading(self, words: Wording) -> str:
        day = words.day % {"month": self.date.month, "day": self.date.day}
        if self.number:
            return words.numbered % {"number": self.number, "day": day}
        return f"{self.title} {day}"

    @property
    def line(self) -> str:
        """The seed's one-line summary:
        第1回 6月4日 27名 (14機関：団体9(13)・自治体4(4)・厚労省(10)), with
        the その他 persons at the end when some came (・その他(4))."""
        return self.summary()

    def summary(self, *, with_other: bool = True) -> str:
        """The one-line summary; without `with_other` the その他 persons are
        left out of the parentheses as the seed's report writes them (its
        第3回 is 90名 (52機関：団体42(67)・自治体9(13)・厚労省(6)), the 4 その他
        counted in the 90 only) — committee.report says so next to the lines."""
        words = wording()
        labels = words.labels
        parts = []
        for key in (ORGANISATIONS, MUNICIPALITIES):
            figures = self.group(key)
            if figures.persons:
                parts.append(f"{labels[key]}{figures.organisations}({figures.persons})")
        government = self.government
        if government.persons:
            if government.organisations == 1 and self.government_name:
                parts.append(f"{self.government_name}({government.persons})")
            else:
                parts.append(
                    f"{labels[GOVERNMENT]}{government.organisations}({government.persons})"
                )
        if with_other and self.other.persons:
            parts.append(f"{labels[OTHER]}({self.other.persons})")
        detail = words.organisations % {"orgs": self.organisations}
        if parts:
            detail += "：" + "・".join(parts)
        return words.line % {
            "heading": self._heading(words),
            "persons": self.persons,
            "detail": detail,
        }

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "number": self.number,
            "date": self.date.isoformat(),
            "persons": self.persons,
            "organisations": self.organisations,
            "groups": {
                key: {
                    "organisations": self.group(key).organisations,
                    "persons": self.group(key).persons,
                }
                for key in GROUPS
            },
        }


@dataclass
class Totals:
    persons: int = 0  # 延べ
    distinct_persons: int = 0
    distinct_organisations: int = 0  # 機関: 団体, 自治体, 国
    # per group: distinct organisations, 延べ persons
    groups: dict[str, Figures] = field(default_factory=dict)
    new_organisations: int = 0  # came for the first time ever this 年度
    returning_organisations: int = 0  # had come in an earlier 年度

    def group(self, key: str) -> Figures:
        return self.groups.get(key, Figures())


@dataclass(frozen=True)
class Repeat:
    key: str
    label: str
    came: int  # organisations with >= 1 event
    repeated: int  # organisations with >= 2 events

    @property
    def rate(self) -> float | None:
        return round_rate(self.repeated, self.came)

    @property
    def is_overall(self) -> bool:
        return self.key == ALL

    @property
    def percent(self) -> str:
        return "—" if self.rate is None else f"{self.repeated / self.came * 100:.1f}%"


@dataclass
class Tally:
    """Member organisations of an area (or 振興局) and how many of them came."""

    members: int = 0
    came: int = 0

    @property
    def missing(self) -> int:
        return self.members - self.came


@dataclass
class Area:
    """A 市町村, or the 町村部 of a 振興局 (its own units)."""

    key: str
    name: str
    region: str
    is_region_unit: bool
    municipal: Tally = field(default_factory=Tally)
    dantai: Tally = field(default_factory=Tally)

    @property
    def members(self) -> int:
        return self.municipal.members + self.dantai.members

    @property
    def came(self) -> int:
        return self.municipal.came + self.dantai.came


@dataclass
class RegionCoverage:
    id: int
    name: str
    short_name: str
    municipalities: int = 0  # 市町村 in the 振興局
    with_members: int = 0  # 市町村 with at least one member organisation
    reached: int = 0  # 市町村 from which someone came
    municipal: Tally = field(default_factory=Tally)
    dantai: Tally = field(default_factory=Tally)

    @property
    def members(self) -> int:
        return self.municipal.members + self.dantai.members

    @property
    def came(self) -> int:
        return self.municipal.came + self.dantai.came


@dataclass(frozen=True)
class SilentCommissioner:
    """A 自治体 that commissions 受託団体 in the 年度 but did not come itself."""

    id: int
    name: str
    area: str
    contractors: int
    contractors_came: int


@dataclass
class Participation:
    fiscal_year: int
    events: list[EventRow]
    totals: Totals
    repeat: list[Repeat]
    regions: list[RegionCoverage]
    areas: list[Area]  # areas with member organisations, in 振興局 and code order
    areas_without_members: int  # 市町村 without any member organisation
    municipalities: int  # 市町村 in all
    silent_commissioners: list[SilentCommissioner]
    commissioners: int  # 自治体 that commission in the 年度

    @property
    def outreach(self) -> list[Area]:
        """Areas with member organisations none of which came."""
        return [area for area in self.areas if area.came == 0]

    @property
    def reached_municipalities(self) -> int:
        return sum(region.reached for region in self.regions)

    def repeat_rate(self, key: str) -> Repeat | None:
        return next((r for r in self.repeat if r.key == key), None)

    def as_json(self) -> dict:
        """The contract of /dashboard/participation.json (DESIGN §5)."""
        rates = {r.key: r.rate for r in self.repeat}
        return {
            "fiscal_year": self.fiscal_year,
            "events": [event.as_json() for event in self.events],
            "totals": {
                "persons": self.totals.persons,
                "distinct_persons": self.totals.distinct_persons,
                "distinct_organisations": self.totals.distinct_organisations,
            },
            "repeat_rate": {
                "all": rates[ALL],
                "organisations": rates[ORGANISATIONS],
                "municipalities": rates[MUNICIPALITIES],
            },
        }


# --- the computation ----------------------------------------------------------------------


@dataclass
class _Read:
    """What a 年度's numbers are assembled from, read from the tallies or
    (compute_from_registrations) from the registrations themselves."""

    events: list[EventRow]
    # Per organisation that came: kind, 市町村 and 振興局 (now), whether it
    # came to two meetings or more, the start of its first meeting.
    organisations: list[dict] = field(default_factory=list)
    distinct_persons: int = 0
    seen_before: set[int] = field(default_factory=set)


def compute(fiscal_year: int, *, now: datetime.datetime | None = None) -> Participation:
    """Every number of the dashboard's participation part for one 年度, from
    the tallies the writes keep (events.tallies), in 9 queries whatever the
    amount of data (5 without meetings)."""
    now = now or timezone.now()
    return _assemble(fiscal_year, _read_tallies(fiscal_year, now))


def compute_from_registrations(
    fiscal_year: int, *, now: datetime.datetime | None = None
) -> Participation:
    """The same numbers aggregated from the registrations (present_q) on
    every call: the definition the tallies must reproduce exactly
    (tests/test_tallies.py compares the two). A scan of the 年度's
    registrations: not for page views."""
    now = now or timezone.now()
    return _assemble(fiscal_year, _read_registrations(fiscal_year, now))


def _assemble(fiscal_year: int, read: _Read) -> Participation:
    """The numbers from what was read (4 queries: coverage and commissions)."""
    events, org_rows = read.events, read.organisations
    new_at = _new_at(events, org_rows, read.seen_before)
    for event in events:
        event.first_time = min(new_at.get(event.id, 0), event.organisations)
        event.returning = event.organisations - event.first_time
    came_ids = {row["organisation_id"] for row in org_rows}
    regions, areas, without_members, municipality_count = _coverage(came_ids)  # 3 queries
    silent, commissioners = _silent_commissioners(fiscal_year, came_ids)  # 1 query
    return Participation(
        fiscal_year=fiscal_year,
        events=events,
        totals=_totals(events, org_rows, read.distinct_persons, new_at),
        repeat=_repeat(org_rows),
        regions=regions,
        areas=areas,
        areas_without_members=without_members,
        municipalities=municipality_count,
        silent_commissioners=silent,
        commissioners=commissioners,
    )


# --- read from the tallies ------------------------------------------------------------------


def _read_tallies(fiscal_year: int, now: datetime.datetime) -> _Read:
    events, stale = _tallied_events(fiscal_year, now)  # query 1
    if stale:
        # Meetings bulk-written or changed behind the services' back: the
        # definition, until tallies.repair() (or a service) brings them in.
        # A page view writes nothing.
        return _read_registrations(fiscal_year, now)
    read = _Read(events)
    if not events:
        return read
    read.organisations, read.seen_before, changed = _tallied_organisations(
        fiscal_year, now
    )  # query 2
    if changed:
        # An organisation moved to another group, or was deleted, in the network app.
        return _read_registrations(fiscal_year, now)
    _tallied_groups(events, fiscal_year)  # query 3
    read.distinct_persons = (
        PersonYearTally.objects.filter(fiscal_year=fiscal_year)
        .filter(Q(finished=True) | Q(first_published__lte=now))
        .count()
    )  # query 4
    return read


def _event_row(e: dict, venue: bool, online: bool, zone) -> EventRow:
    used = {Registration.Mode.VENUE: venue, Registration.Mode.ONLINE: online}
    return EventRow(
        id=e["pk"],
        title=e["title"],
        number=e["number"],
        starts_at=e["starts_at"],
        date=e["starts_at"].astimezone(zone).date(),
        checked_in_modes=tuple(m for m in CHECKIN_FIELDS if used[m]),
    )


def _tallied_events(fiscal_year: int, now: datetime.datetime) -> tuple[list[EventRow], int]:
    """The 年度's counted events, in order, with the modes that used check-in,
    and how many events of this and earlier 年度 have tallies that do not
    match them (one query: the count is a subquery evaluated once)."""
    stale_sql, stale_params = tallies.stale_events_sql("COUNT(*)", up_to_year=fiscal_year)
    rows = (
        Event.objects.filter(counted_q(now), fiscal_year=fiscal_year)
        .annotate(stale=RawSQL(f"({stale_sql})", stale_params))
        .order_by("starts_at", "pk")
        .values(
            "pk",
            "title",
            "number",
            "starts_at",
            "stale",
            "tally__venue_checkin",
            "tally__online_checkin",
        )
    )
    events, stale, zone = [], 0, timezone.get_current_timezone()
    for e in rows:
        stale = e["stale"]
        events.append(_event_row(e, e["tally__venue_checkin"], e["tally__online_checkin"], zone))
    return events, stale


def _tallied_organisations(
    fiscal_year: int, now: datetime.datetime
) -> tuple[list[dict], set[int], list[int]]:
    """The organisations that came in the 年度, with their kind and place now,
    whether they came twice or more, had come in an earlier 年度, and the
    start of their first meeting (one query); and those whose group is not
    the one they were tallied under, or that no longer exist (the meetings'
    rows count them elsewhere). A published meeting counts once it has
    started: decided here with `now`."""
    started = Q(first_published__lte=now)
    came = Q(finished__gt=0) | started
    earlier = OrganisationYearTally.objects.filter(
        came, fiscal_year__lt=fiscal_year, organisation_id=OuterRef("organisation_id")
    )
    rows = (
        OrganisationYearTally.objects.filter(came, fiscal_year=fiscal_year)
        .annotate(
            meetings=F("finished")
            + Case(When(started, then=1), default=0)
            + Case(When(second_published__lte=now, then=1), default=0),
            seen_before=Exists(earlier),
        )
        .annotate(
            # Only a new organisation's first meeting is looked at.
            first=Case(
                When(seen_before=True, then=None),
                When(first_finished__isnull=True, then=F("first_published")),
                When(
                    started & Q(first_published__lt=F("first_finished")), then=F("first_published")
                ),
                default=F("first_finished"),
                output_field=DateTimeField(),
            )
        )
        .values_list(
            "organisation_id",
            "kind",
            "organisation__kind",
            "organisation__municipality_id",
            "organisation__region_id",
            "meetings",
            "seen_before",
            "first",
        )
    )
    found, seen_before, changed = [], set(), []
    for pk, tallied_kind, kind, municipality, region, meetings, seen, first in rows:
        if kind is None or group_of(kind) != group_of(tallied_kind):
            changed.append(pk)
            continue
        if seen:
            seen_before.add(pk)
        found.append(
            {
                "organisation_id": pk,
                "organisation__kind": kind,
                "organisation__municipality_id": municipality,
                "organisation__region_id": region,
                # At least this many: only whether it is two or more is used.
                "events": meetings,
                "first": first,
            }
        )
    return found, seen_before, changed


def _tallied_groups(events: list[EventRow], fiscal_year: int) -> None:
    """Per event and group, from EventTally (one query)."""
    shown = {e.id for e in events}
    government_one = Q(organisation_kind=K.GOVERNMENT, organisations=1)
    rows = (
        EventTally.objects.filter(event__fiscal_year=fiscal_year)
        .annotate(name=Case(When(government_one, then=F("organisation__name"))))
        .values_list("event_id", "organisation_kind", "persons", "organisations", "name")
    )
    _set_groups(events, (row for row in rows if row[0] in shown))


# --- read from the registrations (the definition) -------------------------------------------


def _read_registrations(fiscal_year: int, now: datetime.datetime) -> _Read:
    events = _events(fiscal_year, now)  # query 1
    present = Registration.objects.filter(_present_q(events))
    read = _Read(events)
    if events:
        _count_groups(events, present)  # query 2
        read.organisations = _organisation_rows(present)  # query 3
        read.distinct_persons = present.aggregate(n=Count("user_id", distinct=True))["n"]  # 4
    read.seen_before = _seen_before(read.organisations, fiscal_year, now)  # query 5
    return read


def _events(fiscal_year: int, now: datetime.datetime) -> list[EventRow]:
    """The 年度's counted events, in order, with the modes that used check-in."""
    zone = timezone.get_current_timezone()
    return [
        _event_row(
            e,
            e[CHECKIN_FIELDS[Registration.Mode.VENUE]],
            e[CHECKIN_FIELDS[Registration.Mode.ONLINE]],
            zone,
        )
        for e in counted_events(now)
        .filter(fiscal_year=fiscal_year)
        .order_by("starts_at", "pk")
        .values("pk", "title", "number", "starts_at", *CHECKIN_FIELDS.values())
    ]


def _count_groups(events: list[EventRow], present) -> None:
    """Per event and group: persons and distinct organisations (one query)."""
    _set_groups(
        events,
        present.values_list("event_id", "organisation__kind")
        .annotate(
            persons=Count("pk"),
            organisations=Count("organisation_id", distinct=True),
            name=Max("organisation__name"),
        )
        .order_by(),
    )


def _set_groups(events: list[EventRow], rows: Iterable[tuple]) -> None:
    """Set per event the groups' figures from rows of (event, organisation
    kind, persons, organisations, an organisation's name), with its 機関 and
    the name of the one 国 organisation that came (厚労省(10)), if only one did."""
    per_event: dict[int, dict[str, list[int]]] = defaultdict(lambda: {g: [0, 0] for g in GROUPS})
    government_names: dict[int, str] = {}
    for event_id, kind, persons, organisations, name in rows:
        group = GROUP_OF_KIND.get(kind or "", OTHER)
        figures = per_event[event_id][group]
        figures[0] += organisations
        figures[1] += persons
        if group == GOVERNMENT and organisations == 1 and name:
            government_names[event_id] = name
    for e in events:
        figures = per_event.get(e.id)
        if figures:
            e.groups = {g: Figures(*figures[g]) for g in GROUPS}
        e.persons = sum(f.persons for f in e.groups.values())
        e.organisations = sum(e.group(g).organisations for g in COUNTED_GROUPS)
        if e.government.organisations == 1 and e.id in government_names:
            e.government_name = short_name(government_names[e.id])


def _organisation_rows(present) -> list[dict]:
    """Per organisation that came: its kind and area, how many events, the first one."""
    return list(
        present.exclude(organisation=None)
        .values(
            "organisation_id",
            "organisation__kind",
            "organisation__municipality_id",
            "organisation__region_id",
        )
        .annotate(events=Count("event_id", distinct=True), first=Min("event__starts_at"))
        .order_by()
    )


def _seen_before(org_rows: list[dict], fiscal_year: int, now: datetime.datetime) -> set[int]:
    """Which of these organisations (機関 only) had come to a counted event
    before the 年度 (one query, none when no organisation came)."""
    counted_ids = [
        row["organisation_id"] for row in org_rows if group_of(row["organisation__kind"]) != OTHER
    ]
    if not counted_ids:
        return set()
    earlier = present_registrations(counted_events(now).filter(fiscal_year__lt=fiscal_year))
    return set(
        Organisation.objects.filter(pk__in=counted_ids)
        .filter(Exists(earlier.filter(organisation=OuterRef("pk"))))
        .values_list("pk", flat=True)
    )


# --- assembling ----------------------------------------------------------------------------


def _new_at(events: list[EventRow], org_rows: list[dict], seen_before: set[int]) -> dict[int, int]:
    """event id -> organisations new at it. An organisation new this 年度 is
    new at its first event of the 年度 (the first in the table of those
    starting at that moment)."""
    event_by_start: dict[datetime.datetime, EventRow] = {}
    for e in events:
        event_by_start.setdefault(e.starts_at, e)
    new_at: dict[int, int] = defaultdict(int)
    for row in org_rows:
        if group_of(row["organisation__kind"]) == OTHER or row["organisation_id"] in seen_before:
            continue
        event = event_by_start.get(row["first"])
        if event is not None:
            new_at[event.id] += 1
    return new_at


def _came_and_repeated(org_rows: list[dict]) -> tuple[dict[str, int], dict[str, int]]:
    """Per group: organisations that came, and those that came twice or more."""
    came: dict[str, int] = defaultdict(int)
    repeated: dict[str, int] = defaultdict(int)
    for row in org_rows:
        group = group_of(row["organisation__kind"])
        came[group] += 1
        if row["events"] >= 2:
            repeated[group] += 1
    return came, repeated


def _totals(
    events: list[EventRow], org_rows: list[dict], distinct_persons: int, new_at: dict[int, int]
) -> Totals:
    came, _repeated = _came_and_repeated(org_rows)
    totals = Totals(
        persons=sum(e.persons for e in events),
        distinct_persons=distinct_persons,
        distinct_organisations=sum(came[g] for g in COUNTED_GROUPS),
        groups={g: Figures(came[g], sum(e.group(g).persons for e in events)) for g in GROUPS},
        new_organisations=sum(new_at.values()),
    )
    totals.returning_organisations = totals.distinct_organisations - totals.new_organisations
    return totals


def _repeat(org_rows: list[dict]) -> list[Repeat]:
    """The repeat rates: overall (団体, 自治体 and 国), then per group."""
    labels = group_labels()
    came, repeated = _came_and_repeated(org_rows)
    overall = Repeat(
        ALL,
        _("全体"),
        sum(came[g] for g in COUNTED_GROUPS),
        sum(repeated[g] for g in COUNTED_GROUPS),
    )
    return [
        overall,
        *(Repeat(g, labels[g], came[g], repeated[g]) for g in COUNTED_GROUPS),
    ]


def short_name(name: str) -> str:
    """The first word of an organisation's name, as the seed writes it
    (厚生労働省 社会・援護局… → 厚労省)."""
    first = name.replace("\u3000", " ").split(" ", 1)[0]
    return SHORT_NAMES.get(first, first)


def _coverage(came_ids: set[int]):
    """Coverage by 振興局 and by area (3 queries)."""
    regions = {
        pk: RegionCoverage(pk, name, short)
        for pk, name, short in Region.objects.order_by("order", "pk").values_list(
            "pk", "name", "short_name"
        )
    }
    municipalities = list(
        Municipality.objects.order_by("code").values_list("pk", "name", "region_id")
    )
    areas: dict[str, Area] = {}
    for pk, name, region_id in municipalities:
        regions[region_id].municipalities += 1
        areas[f"m{pk}"] = Area(f"m{pk}", name, regions[region_id].short_name, False)
    _tally_members(
        regions, areas, {pk: region_id for pk, _n, region_id in municipalities}, came_ids
    )
    without_members = 0
    for pk, _name, region_id in municipalities:
        area = areas[f"m{pk}"]
        if area.members:
            regions[region_id].with_members += 1
        else:
            without_members += 1
        if area.came:
            regions[region_id].reached += 1
    order = {pk: i for i, pk in enumerate(regions)}
    code_order = {f"m{pk}": i for i, (pk, _n, _r) in enumerate(municipalities)}
    region_key = {f"m{pk}": region_id for pk, _n, region_id in municipalities}

    def sort_key(area: Area):
        if area.is_region_unit:
            return (order[int(area.key[1:])], 0, 0)
        return (order[region_key[area.key]], 1, code_order[area.key])

    listed = sorted((a for a in areas.values() if a.members), key=sort_key)
    return list(regions.values()), listed, without_members, len(municipalities)


def _tally_members(
    regions: dict[int, RegionCoverage],
    areas: dict[str, Area],
    region_of: dict[int, int],
    came_ids: set[int],
) -> None:
    """Count each member organisation (an active 自治体, 受託団体 or 支援団体,
    or an inactive one that came) in its area and its 振興局, adding the
    振興局's 町村部 area for its own units (1 query)."""
    orgs = (
        Organisation.objects.filter(kind__in=AREA_KINDS)
        .values_list("pk", "kind", "municipality_id", "region_id", "is_active")
        .order_by()
    )
    for pk, kind, municipality_id, region_id, is_active in orgs:
        came = pk in came_ids
        if not (is_active or came):
            continue
        if municipality_id:
            area = areas[f"m{municipality_id}"]
        elif region_id:
            area = areas.get(f"r{region_id}")
            if area is None:
                region = regions[region_id]
                area = areas[f"r{region_id}"] = Area(
                    f"r{region_id}",
                    _("%(region)s（町村部）") % {"region": region.name},
                    region.short_name,
                    True,
                )
        else:
            continue  # no place: not part of any area's coverage
        tally = area.municipal if kind == K.MUNICIPALITY else area.dantai
        tally.members += 1
        tally.came += came
        region = regions[region_of[municipality_id] if municipality_id else region_id]
        region_tally = region.municipal if kind == K.MUNICIPALITY else region.dantai
        region_tally.members += 1
        region_tally.came += came


def _silent_commissioners(fiscal_year: int, came_ids: set[int]):
    """自治体 commissioning 受託団体 in the 年度 that did not come (1 query)."""
    rows = (
        Commission.objects.filter(fiscal_year=fiscal_year)
        .values_list(
            "commissioner_id",
            "commissioner__name",
            "commissioner__kana",
            "commissioner__municipality__name",
            "commissioner__region__short_name",
            "contractor_id",
        )
        .order_by()
    )
    commissioners: dict[int, dict] = {}
    for pk, name, kana, municipality, region, contractor_id in rows:
        entry = commissioners.setdefault(
            pk,
            {
                "name": name,
                "kana": kana,
                "area": municipality or region or "",
                "contractors": set(),
            },
        )
        entry["contractors"].add(contractor_id)
    silent = [
        SilentCommissioner(
            id=pk,
            name=entry["name"],
            area=entry["area"],
            contractors=len(entry["contractors"]),
            contractors_came=len(entry["contractors"] & came_ids),
        )
        for pk, entry in sorted(
            commissioners.items(), key=lambda item: (item[1]["kana"], item[1]["name"], item[0])
        )
        if pk not in came_ids
    ]
    return silent, len(commissioners)


# --- the cache --------------------------------------------------------------------------


def data_version(fiscal_year: int, now: datetime.datetime | None = None) -> str:
    """What a 年度's numbers depend on, in one query of scalar subqueries, none
    of which reads registrations:

    * the tallies of the counted events of this and earlier 年度 (earlier ones
      decide who is "returning"): how many there are and the sum of their
      ``revision`` — every refresh that changed a figure raises it, in the
      same transaction as the check-in, cancellation or import that caused it
      (a sum, unlike a latest time, grows with every commit whatever their
      order). Registering for an upcoming meeting does not change it;
    * the counted events themselves (a published meeting whose start has
      passed starts being counted), and every event's ``updated_at`` (an event
      saved directly: compute then refreshes its tallies);
    * organisations (kind, place; their number catches a deletion, which
      empties registrations' organisation without touching ``updated_at``)
      and the 年度's commissions.

    Not caught: registrations written outside the events services (the admin,
    bulk scripts, a person deleted with their registrations) — they reach the
    tallies only when their event is refreshed (docs/committee.md, Summaries)."""
    now = now or timezone.now()
    qn = connection.ops.quote_name

    def t(model) -> str:
        return qn(model._meta.db_table)

    event, tally = t(Event), t(TalliedEvent)
    counted = (
        f"SELECT e.{qn('id')} FROM {event} e WHERE e.{qn('kind')} = %s AND e.{qn('fiscal_year')} <= %s"
        f" AND (e.{qn('status')} = %s OR (e.{qn('status')} = %s AND e.{qn('starts_at')} <= %s))"
    )
    counted_params = [
        EventKind.EXCHANGE,
        fiscal_year,
        EventStatus.FINISHED,
        EventStatus.PUBLISHED,
        connection.ops.adapt_datetimefield_value(now),
    ]
    tallies_of_counted = f"FROM {tally} t WHERE t.{qn('event_id')} IN ({counted})"
    parts = [
        (f"(SELECT COUNT(*) FROM ({counted}) c)", counted_params),
        (f"(SELECT COUNT(*) {tallies_of_counted})", counted_params),
        (f"(SELECT SUM(t.{qn('revision')}) {tallies_of_counted})", counted_params),
        (f"(SELECT COUNT(*) FROM {event})", []),
        (f"(SELECT MAX({qn('updated_at')}) FROM {event})", []),
        (f"(SELECT COUNT(*) FROM {t(Organisation)})", []),
        (f"(SELECT MAX({qn('updated_at')}) FROM {t(Organisation)})", []),
        (
            f"(SELECT COUNT(*) FROM {t(Commission)} WHERE {qn('fiscal_year')} = %s)",
            [fiscal_year],
        ),
        (f"(SELECT MAX({qn('id')}) FROM {t(Commission)})", []),
    ]
    return version_of(fiscal_year, parts)


def cache_key(fiscal_year: int, version: str, what: str = "data") -> str:
    return f"surveys:participation:{SCHEMA}:{what}:{fiscal_year}:{version}"


def cached(fiscal_year: int, version: str, *, now: datetime.datetime | None = None):
    """``compute`` through the cache, for a version from ``data_version``."""
    key = cache_key(fiscal_year, version)
    found = cache.get(key)
    if found is None:
        found = compute(fiscal_year, now=now)
        cache.set(key, found, CACHE_SECONDS)
    return found


def for_year(fiscal_year: int, *, now: datetime.datetime | None = None) -> Participation:
    """The numbers of a 年度: 1 query while nothing they depend on changed."""
    now = now or timezone.now()
    return cached(fiscal_year, data_version(fiscal_year, now), now=now)
