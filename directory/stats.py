"""What people look for in the navi, for the committee (functions 2 and 7).

Every finished search — a web results page, a LINE flow that listed
windows — adds one to the month's tally of its channel, 困りごと and area,
and to `found_nothing` when it listed no window. Only these counts are
kept: no LINE user id, no IP address, no search words.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from core import versions
from network.models import Municipality, Region

from .enums import Channel, ServiceStatus
from .models import Category, SearchTally, Service


def _key(month: datetime.date, channel: str, category, region, municipality) -> str:
    parts = (category, region, municipality)
    return "|".join([f"{month:%Y-%m}", channel, *("" if p is None else str(p.pk) for p in parts)])


def record(
    channel: Channel,
    *,
    category: Category | None = None,
    region: Region | None = None,
    municipality: Municipality | None = None,
    found: int,
    today: datetime.date | None = None,
) -> None:
    """Count one search. A municipality implies its 振興局. Safe under
    concurrent calls: an UPDATE … +1, or the row's first INSERT, which a
    racing request that lost turns into the UPDATE."""
    if municipality is not None:
        region = municipality.region
    month = (today or timezone.localdate()).replace(day=1)
    key = _key(month, channel, category, region, municipality)
    nothing = 0 if found else 1
    bump = {"searches": F("searches") + 1, "found_nothing": F("found_nothing") + nothing}
    if SearchTally.objects.filter(key=key).update(**bump):
        return
    try:
        with transaction.atomic():
            SearchTally.objects.create(
                key=key,
                month=month,
                channel=channel,
                category=category,
                region=region,
                municipality=municipality,
                searches=1,
                found_nothing=nothing,
            )
    except IntegrityError:
        SearchTally.objects.filter(key=key).update(**bump)


@dataclass(frozen=True)
class Summary:
    """The navi's searches of a period, for the committee's dashboard."""

    total: int
    found_nothing: int
    by_month: list[dict]  # month, web, line, found_nothing
    by_category: list[dict]  # category__name, searches, found_nothing
    by_region: list[dict]  # region__name, searches, found_nothing
    unmet: list[dict]  # category__name, region__name, municipality__name, searches, found_nothing


def summary(start: datetime.date, end: datetime.date, *, unmet_limit: int = 30) -> Summary:
    """The tallies of the months from `start` to before `end`, in one query
    (the tally table holds one row per month, channel, 困りごと and area), summed
    here per month, 困りごと, 振興局 and trouble × area."""
    rows = SearchTally.objects.filter(month__gte=start.replace(day=1), month__lt=end).values_list(
        "month", "channel", "category__name", "region__name", "municipality__name",
        "searches", "found_nothing",
    )  # fmt: skip
    by_month: dict[datetime.date, dict] = {}
    by_category: dict[str | None, list[int]] = {}
    by_region: dict[str | None, list[int]] = {}
    unmet: dict[tuple, list[int]] = {}
    for month, channel, category, region, town, searches, nothing in rows:
        m = by_month.setdefault(month, {"month": month, "web": 0, "line": 0, "found_nothing": 0})
        m[channel] += searches
        m["found_nothing"] += nothing
        for table, key in ((by_category, category), (by_region, region)):
            total = table.setdefault(key, [0, 0])
            total[0] += searches
            total[1] += nothing
        if nothing and category and (region or town):
            total = unmet.setdefault((category, region, town), [0, 0])
            total[0] += searches
            total[1] += nothing

    def listed(table: dict, names: tuple[str, ...]) -> list[dict]:
        return [
            {**dict(zip(names, key if isinstance(key, tuple) else (key,), strict=True)),
             "searches": n, "found_nothing": nothing}
            for key, (n, nothing) in table.items()
        ]  # fmt: skip

    months = [by_month[m] for m in sorted(by_month)]
    return Summary(
        total=sum(m["web"] + m["line"] for m in months),
        found_nothing=sum(m["found_nothing"] for m in months),
        by_month=months,
        by_category=sorted(
            listed(by_category, ("category__name",)),
            key=lambda r: (-r["searches"], r["category__name"] or ""),
        ),
        by_region=sorted(
            listed(by_region, ("region__name",)),
            key=lambda r: (-r["searches"], r["region__name"] or ""),
        ),
        unmet=sorted(
            listed(unmet, ("category__name", "region__name", "municipality__name")),
            key=lambda r: (
                -r["found_nothing"],
                r["category__name"],
                r["region__name"] or "",
                r["municipality__name"] or "",
            ),
        )[:unmet_limit],
    )


# --- the windows listed ------------------------------------------------------------------

LISTED_CACHE_SECONDS = 15 * 60


@dataclass(frozen=True)
class Listed:
    """The windows the navi lists now (受付中), for the annual report."""

    windows: int
    providers: int
    verified: int  # of those, checked (確認日) from `start` to before `end`
    by_category: list[tuple[str, int]]  # (困りごと, windows), in the categories' order


def listed_data_version() -> str:
    """What listed() reads, in one query: the services (number and latest
    ``updated_at``: a status or 確認日 change saves the service), their
    categories (the m2m rows: number and latest id — setting them anew
    writes new rows) and the categories."""
    qn = connection.ops.quote_name
    service, links = versions.table(Service), versions.table(Service.categories.through)
    parts = [
        (f"(SELECT COUNT(*) FROM {service})", []),
        (f"(SELECT MAX({qn('updated_at')}) FROM {service})", []),
        (f"(SELECT COUNT(*) FROM {links})", []),
        (f"(SELECT MAX({qn('id')}) FROM {links})", []),
        (f"(SELECT COUNT(*) FROM {versions.table(Category)})", []),
    ]
    return versions.version_of("listed", parts)


def listed(start: datetime.date, end: datetime.date) -> Listed:
    """The windows listed now and those checked in the period: one query
    while nothing they read changed (listed_data_version), else three
    (150k windows: counting them by 困りごと is a join over every one)."""
    key = f"directory:listed:{listed_data_version()}:{start}:{end}"
    found = cache.get(key)
    if found is None:
        active = Q(services__status=ServiceStatus.ACTIVE)
        by_category = list(
            Category.objects.annotate(windows=Count("services", filter=active, distinct=True))
            .order_by("order", "key")
            .values_list("name", "windows")
        )
        totals = Service.objects.filter(status=ServiceStatus.ACTIVE).aggregate(
            windows=Count("pk"),
            providers=Count("provider", distinct=True),
            verified=Count("pk", filter=Q(verified_on__gte=start, verified_on__lt=end)),
        )
        found = Listed(by_category=by_category, **totals)
        cache.set(key, found, LISTED_CACHE_SECONDS)
    return found
