"""Where each window is listed (WindowPlace), kept from the windows.

A window is listed, for every 困りごと of its service (and each one's
parent, so a trouble's page shows its children's windows), in the
municipality it is located in (distance 0), in every municipality its
service area covers (distance 1), and in the 振興局 of each of those (0 when
it is located in that 振興局). `is_public` follows the service's status and
`sort_name` its kana and name, so a page is a range of one index, in the
order the navi shows: located ones first, then by kana and name.

refresh() rewrites the rows of some windows (the import, an edit in the
admin, a correction); rebuild() rewrites every row (a migration, the
benchmark). Both take the app registry a migration passes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from django.apps import apps as global_apps

from core.bulk import chunks, insert_rows

from .enums import ServiceStatus

BATCH = 1_000
SORT_NAME_LENGTH = 410


def _rows(apps, window_ids: list[int]) -> Iterator[tuple]:
    ServiceAtLocation = apps.get_model("directory", "ServiceAtLocation")
    Service = apps.get_model("directory", "Service")
    Category = apps.get_model("directory", "Category")
    Municipality = apps.get_model("network", "Municipality")
    parent_of = dict(Category.objects.values_list("pk", "parent_id"))
    region_of = dict(Municipality.objects.values_list("pk", "region_id"))
    for batch in chunks(window_ids, BATCH):
        windows = list(
            ServiceAtLocation.objects.filter(pk__in=batch).values_list(
                "pk",
                "service_id",
                "service__status",
                "service__kana",
                "service__name",
                "location__municipality_id",
            )
        )
        services = {w[1] for w in windows}
        categories: dict[int, set[int]] = defaultdict(set)
        for service_id, category_id in Service.categories.through.objects.filter(
            service_id__in=services
        ).values_list("service_id", "category_id"):
            categories[service_id].add(category_id)
            if parent_of.get(category_id):
                categories[service_id].add(parent_of[category_id])
        areas: dict[int, set[int]] = defaultdict(set)
        for service_id, municipality_id in Service.service_area.through.objects.filter(
            service_id__in=services
        ).values_list("service_id", "municipality_id"):
            areas[service_id].add(municipality_id)
        for pk, service_id, status, kana, name, here in windows:
            towns = {m: 1 for m in areas[service_id]}
            if here is not None:
                towns[here] = 0
            regions: dict[int, int] = {}
            for town, distance in towns.items():
                region = region_of[town]
                regions[region] = min(distance, regions.get(region, 1))
            sort_name = f"{kana}\t{name}"[:SORT_NAME_LENGTH]
            public = status == ServiceStatus.ACTIVE
            for category in sorted(categories[service_id]):
                for town, distance in towns.items():
                    yield (pk, category, town, None, distance, sort_name, public)
                for region, distance in regions.items():
                    yield (pk, category, None, region, distance, sort_name, public)


_COLUMNS = (
    "window_id",
    "category_id",
    "municipality_id",
    "region_id",
    "distance",
    "sort_name",
    "is_public",
)


def _write(apps, rows: Iterable[tuple]) -> int:
    WindowPlace = apps.get_model("directory", "WindowPlace")
    count = 0
    batch: list[dict] = []
    for row in rows:
        batch.append(dict(zip(_COLUMNS, row, strict=True)))
        if len(batch) >= 5_000:
            insert_rows(WindowPlace, batch)
            count += len(batch)
            batch = []
    if batch:
        insert_rows(WindowPlace, batch)
        count += len(batch)
    return count


def refresh(window_ids: Iterable[int], apps=None) -> int:
    """Rewrite the places of these windows; how many rows were written."""
    apps = apps or global_apps
    ids = sorted(set(window_ids))
    WindowPlace = apps.get_model("directory", "WindowPlace")
    for batch in chunks(ids, BATCH):
        WindowPlace.objects.filter(window_id__in=batch).delete()
    return _write(apps, _rows(apps, ids))


def rebuild(apps=None) -> int:
    """Rewrite every window's places; how many rows were written."""
    apps = apps or global_apps
    apps.get_model("directory", "WindowPlace").objects.all().delete()
    ServiceAtLocation = apps.get_model("directory", "ServiceAtLocation")
    ids = list(ServiceAtLocation.objects.order_by("pk").values_list("pk", flat=True))
    return _write(apps, _rows(apps, ids))
