"""What the navi finds, and what it says about a window.

The web pages (views/public.py) and the LINE bot (line.py) both ask this
module, so a trouble in an area lists the same windows in both:

- windows(): the public windows for a 困りごと (with its children) in a
  municipality or a 振興局 — those located there and those whose service
  area covers it, located ones first (read from directory.places);
- nearest(): the public windows closest to a point, by great-circle
  distance computed here on the server;
- opening(): 受付中 / 本日の受付は終了 / 次は月曜 9:00 from the weekly
  hours, at a given moment (Asia/Tokyo);
- weekly_hours(): the hours as short lines (月〜金 9:00〜17:00).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import (
    ExpressionWrapper,
    F,
    FloatField,
    Prefetch,
    QuerySet,
    Value,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from network.models import Municipality, Region

from .enums import Weekday
from .models import Category, Phone, Schedule, Service, ServiceAtLocation, WindowPlace

WEEKDAYS: tuple[str, ...] = tuple(Weekday.values)  # mon … sun, Python's weekday() order
EARTH_RADIUS_KM = 6371.0
# 「現在地から探す」 lists the windows within this distance, nearest first
# (or the nearest anywhere when none is that close).
NEAR_RADIUS_KM = 50.0
# Growing boxes, then the whole radius: a city centre may hold tens of
# thousands of windows, and the database reads and orders only the box's (a
# band of the latitude index, filtered by longitude). Where windows are dense
# the first box holds enough; where they are sparse each box is cheap.
NEAR_BOXES_KM = (0.5, 3.0, NEAR_RADIUS_KM)
NEAR_LIMIT = 20


# --- Finding ------------------------------------------------------------------


def category_ids(category: Category | None) -> list[int] | None:
    """The category and its children (None: every category)."""
    if category is None:
        return None
    return [category.pk, *Category.objects.filter(parent=category).values_list("pk", flat=True)]


def _in_categories(queryset: QuerySet, ids: Sequence[int] | None) -> QuerySet:
    if ids is None:
        return queryset
    services = Service.categories.through.objects.filter(category_id__in=ids).values("service_id")
    return queryset.filter(service_id__in=services)


class Listing:
    """The public windows of a 困りごと in an area, in the navi's order —
    located there first, then by the service's kana and name — read from
    WindowPlace (directory.places): count() is a count over one index range,
    a slice one query for the ids and the display queries for the page
    (for_display). A Paginator takes it as it is."""

    def __init__(self, places: QuerySet):
        self.places = places.filter(is_public=True)

    def count(self) -> int:
        return self.places.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        ids = list(
            self.places.order_by("distance", "sort_name", "window_id").values_list(
                "window_id", flat=True
            )[index]
        )
        shown = {w.pk: w for w in for_display(ServiceAtLocation.objects.filter(pk__in=ids))}
        return [shown[pk] for pk in ids if pk in shown]

    def __iter__(self):
        return iter(self[:])


def windows(
    category: Category,
    *,
    municipality: Municipality | None = None,
    region: Region | None = None,
) -> Listing:
    """Public windows for a 困りごと in a municipality or a 振興局 (Listing)."""
    places = WindowPlace.objects.filter(category=category)
    if municipality is not None:
        return Listing(places.filter(municipality=municipality))
    if region is None:
        raise ValueError("windows() needs a municipality or a region")
    return Listing(places.filter(region=region))


def for_display(queryset: QuerySet) -> QuerySet:
    """What a result card shows: the service, provider, location and
    municipality in the same query; phones, hours and programs in one query
    each for the page."""
    return queryset.select_related(
        "service__provider", "location__municipality__region"
    ).prefetch_related(
        Prefetch("phones", queryset=Phone.objects.order_by("order", "pk")),
        Prefetch("schedules", queryset=Schedule.objects.order_by("pk")),
        "service__programs",
    )


@dataclass(frozen=True)
class Near:
    window: ServiceAtLocation
    km: float


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def nearest(
    latitude: float,
    longitude: float,
    category: Category | None = None,
    *,
    limit: int = NEAR_LIMIT,
) -> list[Near]:
    """The `limit` public windows nearest to the point, nearest first: those
    within NEAR_RADIUS_KM, or, when there is none, the nearest anywhere.

    The database orders by the flat-earth distance (exact enough to rank
    within a few hundred km), reading the (latitude, longitude) index for the
    box; the distance shown is the great-circle one, computed here. The ids
    are read from the first of NEAR_BOXES_KM that holds `limit` windows
    within its circle (and anywhere when the whole radius held none); then
    the windows to show."""
    base = _in_categories(
        ServiceAtLocation.objects.public().filter(location__latitude__isnull=False),
        category_ids(category),
    )
    cos_lat = max(0.05, math.cos(math.radians(latitude)))
    dlat = F("location__latitude") - Value(latitude)
    dlon = (F("location__longitude") - Value(longitude)) * Value(cos_lat)
    ordered = base.annotate(
        flat=ExpressionWrapper(dlat * dlat + dlon * dlon, output_field=FloatField())
    ).order_by("flat", "pk")
    columns = ("pk", "location__latitude", "location__longitude")
    rows: list = []
    for km in NEAR_BOXES_KM:
        deg = math.degrees(km / EARTH_RADIUS_KM)
        rows = list(
            ordered.filter(
                location__latitude__range=(latitude - deg, latitude + deg),
                location__longitude__range=(longitude - deg / cos_lat, longitude + deg / cos_lat),
            ).values_list(*columns)[:limit]
        )
        # Enough in the box, and each of them within the circle the box
        # holds: nothing outside the box can be nearer.
        if len(rows) == limit and distance_km(latitude, longitude, *rows[-1][1:]) <= km:
            break
    if not rows:
        rows = list(ordered.values_list(*columns)[:limit])
    found = sorted((distance_km(latitude, longitude, lat, lon), pk) for pk, lat, lon in rows)
    objects = ServiceAtLocation.objects.filter(pk__in=[pk for _km, pk in found])
    shown = {w.pk: w for w in for_display(objects)}
    return [Near(shown[pk], km) for km, pk in found if pk in shown]


# --- Opening hours ------------------------------------------------------------


@dataclass(frozen=True)
class Opening:
    """Whether a window takes people now, for the badge of a result card."""

    state: str  # "open", "later", "closed", "unknown"
    text: str

    @property
    def is_open(self) -> bool:
        return self.state == "open"


def _hm(value: datetime.time) -> str:
    return f"{value.hour}:{value.minute:02d}"


def _day_label(weekday: str) -> str:
    return _("%(day)s曜") % {"day": Weekday(weekday).label}


def opening(schedules: Iterable[Schedule], now: datetime.datetime | None = None) -> Opening:
    """受付中（17:00まで） / 本日 13:00から / 本日の受付は終了・次は月曜 9:00 /
    受付時間は窓口に確認, from a window's weekly hours at `now` (local time)."""
    now = timezone.localtime(now)
    by_day: dict[str, list[Schedule]] = {}
    for schedule in schedules:
        by_day.setdefault(schedule.weekday, []).append(schedule)
    if not by_day:
        return Opening("unknown", _("受付時間は窓口に確認してください"))
    today = WEEKDAYS[now.weekday()]
    clock = now.time()
    todays = sorted(
        (s for s in by_day.get(today, []) if s.opens_at and s.closes_at), key=lambda s: s.opens_at
    )
    for schedule in todays:
        if schedule.opens_at <= clock < schedule.closes_at:
            return Opening("open", _("受付中（%(time)sまで）") % {"time": _hm(schedule.closes_at)})
        if clock < schedule.opens_at:
            return Opening("later", _("本日 %(time)sから受付") % {"time": _hm(schedule.opens_at)})
    if today in by_day and not todays:
        return Opening("unknown", _("本日は受付日です（時間は窓口に確認してください）"))
    for ahead in range(1, 8):
        day = WEEKDAYS[(now.weekday() + ahead) % 7]
        if day not in by_day:
            continue
        times = sorted(s.opens_at for s in by_day[day] if s.opens_at)
        when = _("明日") if ahead == 1 else _day_label(day)
        if times:
            when = f"{when} {_hm(times[0])}"
        if today in by_day:
            return Opening("closed", _("本日の受付は終了・次は%(when)s") % {"when": when})
        return Opening("closed", _("本日はお休み・次は%(when)s") % {"when": when})
    return Opening("unknown", _("受付時間は窓口に確認してください"))


def weekly_hours(schedules: Iterable[Schedule]) -> list[str]:
    """The week's hours as short lines, consecutive days with the same hours
    joined: 「月〜金 9:00〜17:00」「土 9:00〜12:00」."""
    hours: dict[str, tuple] = {}
    for schedule in schedules:
        span = (schedule.opens_at, schedule.closes_at)
        hours.setdefault(schedule.weekday, ())
        hours[schedule.weekday] += (span,)
    lines: list[str] = []
    run: list[str] = []

    def flush():
        if not run:
            return
        spans = hours[run[0]]
        days = Weekday(run[0]).label
        if len(run) > 1:
            days = f"{days}〜{Weekday(run[-1]).label}"
        times = "・".join(
            f"{_hm(a)}〜{_hm(b)}" if a and b else _("時間は窓口に確認")
            for a, b in sorted(spans, key=str)
        )
        lines.append(f"{days} {times}")
        run.clear()

    for day in WEEKDAYS:
        if day in hours and (not run or hours[run[-1]] == hours[day]):
            run.append(day)
            continue
        flush()
        if day in hours:
            run.append(day)
    flush()
    return lines


# --- What a result card shows -------------------------------------------------


@dataclass(frozen=True)
class Card:
    window: ServiceAtLocation
    opening: Opening
    hours: list[str]
    km: float | None = None


def cards(
    windows: Iterable[ServiceAtLocation | Near], now: datetime.datetime | None = None
) -> list[Card]:
    """Result cards for windows fetched with for_display(), or for what
    nearest() found (with the distance); no query."""
    now = now or timezone.now()
    shown = []
    for item in windows:
        window, km = (item.window, item.km) if isinstance(item, Near) else (item, None)
        schedules = window.schedules.all()
        shown.append(Card(window, opening(schedules, now), weekly_hours(schedules), km))
    return shown
