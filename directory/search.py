"""The navi's keyword search: Japanese words found by the shared index
(core.search, decision 0006), the same on SQLite and PostgreSQL.

One document per window: the service's and the location's names and kana as
the title; the provider, the description, eligibility, the address, the
municipality, the 困りごと and the programs as the body. Each window is
indexed under WINDOW (the whole of Hokkaido) and under the kind of every
振興局 it is in or serves (REGION_PREFIX + id), so that a search narrowed to
an area walks only that area's documents, as the board's rooms do. Every
window has a document whatever its status; the results are filtered through
ServiceAtLocation.objects.public(). directory.indexing keeps them,
with the trouble × area listing, after every write (the import, a save in
the admin, a correction); ``reindex`` rebuilds everything
(`manage.py index_directory_search`, seed data, the benchmark).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from django.apps import apps as global_apps

from core import search
from core.bulk import chunks
from core.pagination import paginate

QUERY_MAX_LENGTH = search.QUERY_MAX_LENGTH
WINDOW = "directory.window"
REGION_PREFIX = "directory.window.r"
MAX_RESULTS = search.DEFAULT_LIMIT


def region_kind(region_id: int) -> str:
    return f"{REGION_PREFIX}{int(region_id)}"


def normalise(query: str | None) -> str:
    """The query as typed, trimmed (what the search box shows again)."""
    return " ".join((query or "").split())[:QUERY_MAX_LENGTH]


def _documents(
    apps, window_ids: Iterable[int] | None
) -> Iterator[tuple[list[str], search.Document]]:
    """(kinds, document) per window, in id order; a few queries per 1,000."""
    ServiceAtLocation = apps.get_model("directory", "ServiceAtLocation")
    Service = apps.get_model("directory", "Service")
    if window_ids is None:
        batches = chunks(
            ServiceAtLocation.objects.order_by("pk").values_list("pk", flat=True).iterator(),
            1_000,
        )
    else:
        batches = chunks(sorted(set(window_ids)), 1_000)
    for batch in batches:
        rows = list(
            ServiceAtLocation.objects.filter(pk__in=batch)
            .order_by("pk")
            .values_list(
                "pk",
                "service_id",
                "service__name",
                "service__kana",
                "service__description",
                "service__eligibility",
                "service__provider__name",
                "location__name",
                "location__kana",
                "location__address",
                "location__municipality__name",
                "location__municipality__region_id",
            )
        )
        service_ids = {row[1] for row in rows}
        words: dict[int, list[str]] = defaultdict(list)
        regions: dict[int, set[int]] = defaultdict(set)
        Through = Service.categories.through
        for service_id, name in Through.objects.filter(service_id__in=service_ids).values_list(
            "service_id", "category__name"
        ):
            words[service_id].append(name)
        Programs = Service.programs.through
        for service_id, name in Programs.objects.filter(service_id__in=service_ids).values_list(
            "service_id", "program__common_name"
        ):
            words[service_id].append(name)
        Area = Service.service_area.through
        for service_id, region_id in Area.objects.filter(service_id__in=service_ids).values_list(
            "service_id", "municipality__region_id"
        ):
            regions[service_id].add(region_id)
        for (
            pk,
            service_id,
            name,
            kana,
            description,
            eligibility,
            provider,
            location,
            location_kana,
            address,
            municipality,
            region_id,
        ) in rows:
            title = " ".join(dict.fromkeys(t for t in (name, kana, location, location_kana) if t))
            body = "\n".join(
                t
                for t in (
                    provider,
                    description,
                    eligibility,
                    address,
                    municipality,
                    *words[service_id],
                )
                if t
            )
            area = regions[service_id] | ({region_id} if region_id else set())
            kinds = [WINDOW, *(region_kind(r) for r in sorted(area))]
            yield kinds, search.Document(pk, title, body)


def index_windows(window_ids: Iterable[int]) -> int:
    """(Re)write these windows' documents (the import, an edit)."""
    ids = list(window_ids)
    if not ids:
        return 0
    SearchDocument = global_apps.get_model("core", "SearchDocument")
    # A window that left a 振興局 must not stay findable there.
    for batch in chunks(ids, 1_000):
        SearchDocument.objects.filter(kind__startswith=REGION_PREFIX, object_id__in=batch).delete()
    return search.index_many(_documents(global_apps, ids))


def reindex(apps=None) -> int:
    """Every window's document, from scratch; how many windows."""
    apps = apps or global_apps
    by_kind: dict[str, list[search.Document]] = defaultdict(list)
    count = 0
    for kinds, document in _documents(apps, None):
        count += 1
        for kind in kinds:
            by_kind[kind].append(document)
    search.reindex_all(WINDOW, by_kind.pop(WINDOW, []))
    Region = apps.get_model("network", "Region")
    for region_id in Region.objects.values_list("pk", flat=True):
        search.reindex_all(region_kind(region_id), by_kind.pop(region_kind(region_id), []))
    return count


def ranked_page(
    request, queryset, query: str | None, *, region_id: int | None, category=None, per_page: int
):
    """A page of `queryset` (public windows) that hold every word of
    `query`, best first, of `category` (a 困りごと, with its children) if
    given; the search's results too (has_more: more matched than
    MAX_RESULTS). Four queries with words: the search, the hits of the
    category (WindowPlace, by window id), the hits `queryset` holds, the
    page (a category's windows as a subquery made SQLite read every one of
    its services for 200 hits: 300 ms at 150,000 windows)."""
    kind = WINDOW if region_id is None else region_kind(region_id)
    results = search.search(kind, query, limit=MAX_RESULTS)
    if not results.terms:
        return paginate(request, [], per_page), results
    hits = results.ids()
    if category is not None and hits:
        WindowPlace = global_apps.get_model("directory", "WindowPlace")
        of_category = set(
            WindowPlace.objects.filter(window_id__in=hits, category=category).values_list(
                "window_id", flat=True
            )
        )
        hits = [pk for pk in hits if pk in of_category]
    visible = set(queryset.filter(pk__in=hits).values_list("pk", flat=True)) if hits else set()
    page = paginate(request, [pk for pk in hits if pk in visible], per_page)
    page.object_list = search.fetch(queryset, page.object_list)
    return page, results
