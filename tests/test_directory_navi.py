"""The public navi (issue #13): what it finds for a trouble in an area, near
a point and by words; what it says about opening hours; its pages as an
anonymous visitor sees them, with literal query counts at two sizes; and
what it counts for the committee."""

from __future__ import annotations

import datetime
from datetime import time
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from directory import indexing, navi
from directory.demo import seed_directory
from directory.enums import Channel, ServiceStatus
from directory.models import (
    Category,
    Location,
    Phone,
    Provider,
    Schedule,
    SearchTally,
    Service,
    ServiceAtLocation,
)
from network.models import Municipality, Region

TOKYO = ZoneInfo("Asia/Tokyo")
SAPPORO = "011002"
ASAHIKAWA = "012041"
OTARU = "012033"


def at(y, m, d, hh, mm=0):
    return datetime.datetime(y, m, d, hh, mm, tzinfo=TOKYO)


def make(
    name,
    *,
    code=SAPPORO,
    categories=("seikatsu",),
    area=(),
    days=("mon", "tue", "wed", "thu", "fri"),
    hours=(time(9), time(17)),
    lat=None,
    lon=None,
    status=ServiceStatus.ACTIVE,
    index=True,
):
    provider = Provider.objects.create(name=f"{name}の運営者")
    service = Service.objects.create(provider=provider, name=name, status=status)
    service.categories.set(Category.objects.filter(key__in=categories))
    service.service_area.set(Municipality.objects.filter(code__in=area))
    location = Location.objects.create(
        name=name,
        address=f"{name}の住所",
        municipality=Municipality.objects.get(code=code),
        latitude=lat,
        longitude=lon,
    )
    window = ServiceAtLocation.objects.create(service=service, location=location)
    Phone.objects.create(service_at_location=window, number="011-000-0000")
    for day in days:
        Schedule.objects.create(
            service_at_location=window, weekday=day, opens_at=hours[0], closes_at=hours[1]
        )
    if index:
        indexing.refresh([window.pk])
    return window


def sched(*rows):
    return [Schedule(weekday=d, opens_at=a, closes_at=b) for d, a, b in rows]


# --- Opening hours -------------------------------------------------------------

WEEKDAYS_9_17 = sched(*((d, time(9), time(17)) for d in ("mon", "tue", "wed", "thu", "fri")))


@pytest.mark.parametrize(
    "now, state, text",
    [
        (at(2026, 12, 7, 10), "open", "受付中（17:00まで）"),  # a Monday
        (at(2026, 12, 7, 8, 30), "later", "本日 9:00から受付"),
        (at(2026, 12, 7, 17), "closed", "本日の受付は終了・次は明日 9:00"),
        (at(2026, 12, 11, 18), "closed", "本日の受付は終了・次は月曜 9:00"),  # Friday
        (at(2026, 12, 12, 10), "closed", "本日はお休み・次は月曜 9:00"),  # Saturday
        (at(2026, 12, 13, 10), "closed", "本日はお休み・次は明日 9:00"),  # Sunday
    ],
)
def test_opening_says_open_later_or_next(now, state, text):
    opening = navi.opening(WEEKDAYS_9_17, now)
    assert (opening.state, opening.text) == (state, text)


def test_opening_with_two_spans_a_day_and_days_without_times():
    split = sched(("mon", time(9), time(12)), ("mon", time(13), time(17)))
    assert navi.opening(split, at(2026, 12, 7, 12, 30)).text == "本日 13:00から受付"
    assert navi.opening(split, at(2026, 12, 7, 13)).text == "受付中（17:00まで）"
    days_only = sched(("mon", None, None), ("wed", None, None))
    assert navi.opening(days_only, at(2026, 12, 7, 10)).state == "unknown"
    assert navi.opening(days_only, at(2026, 12, 8, 10)).text == "本日はお休み・次は明日"
    assert navi.opening([], at(2026, 12, 7, 10)).text == "受付時間は窓口に確認してください"


def test_weekly_hours_joins_days_with_the_same_hours():
    week = [*WEEKDAYS_9_17, *sched(("sat", time(9), time(12)))]
    assert navi.weekly_hours(week) == ["月〜金 9:00〜17:00", "土 9:00〜12:00"]
    gap = sched(("mon", time(9), time(17)), ("wed", time(9), time(17)))
    assert navi.weekly_hours(gap) == ["月 9:00〜17:00", "水 9:00〜17:00"]


# --- Finding ---------------------------------------------------------------------


def test_windows_in_an_area_located_there_first_then_serving_it(db):
    serving = make("あ 札幌も受け持つ旭川の窓口", code=ASAHIKAWA, area=[SAPPORO])
    local = make("い 札幌の窓口")
    make("う 小樽の窓口", code=OTARU)
    make("え 札幌の仕事の窓口", categories=["shigoto"])
    make("お 休止中の札幌の窓口", status=ServiceStatus.INACTIVE)
    seikatsu = Category.objects.get(key="seikatsu")
    sapporo = Municipality.objects.get(code=SAPPORO)
    assert list(navi.windows(seikatsu, municipality=sapporo)) == [local, serving]
    ishikari = Region.objects.get(name="石狩振興局")
    assert list(navi.windows(seikatsu, region=ishikari)) == [local, serving]


def test_a_category_includes_its_children(db):
    parent = Category.objects.get(key="kakei")
    child = Category.objects.create(key="saimu", name="借金の整理", parent=parent)
    window = make("債務整理の窓口", categories=[])
    window.service.categories.add(child)
    indexing.refresh([window.pk])  # written around the import and the admin
    assert list(navi.windows(parent, municipality=window.location.municipality)) == [window]


def test_nearest_sorts_by_distance_within_reach_or_looks_further(db):
    far = make("稚内の窓口", code="012149", lat=45.4156, lon=141.6731)
    near = make("札幌駅の窓口", lat=43.0687, lon=141.3508)
    nearer = make("大通の窓口", lat=43.0606, lon=141.3543)
    make("座標のない窓口")
    found = navi.nearest(43.0610, 141.3545)
    assert [n.window for n in found] == [nearer, near]  # 稚内 is 263 km away
    assert found[0].km < 0.1 < found[1].km < 1.0
    assert [n.window for n in navi.nearest(43.0610, 141.3545, limit=1)] == [nearer]
    # Near 宗谷岬, only 稚内 is within reach (22 km).
    assert [n.window for n in navi.nearest(45.5227, 141.9364)] == [far]
    # Nothing within reach (根室): the nearest anywhere, with its distance.
    found = navi.nearest(43.3301, 145.5829)
    assert [n.window for n in found] == [nearer, near, far]
    assert 340 < found[0].km < found[1].km < 345 < 380 < found[2].km < 395


# --- Pages -----------------------------------------------------------------------


def test_home_and_area_pages_list_troubles_and_regions(client, db):
    home = client.get(reverse("directory:home"))
    assert home.status_code == 200
    for name in Category.objects.filter(parent=None).values_list("name", flat=True):
        assert name in home.content.decode()
    assert "いま危険を感じているとき" in home.content.decode()
    area = client.get(reverse("directory:area", args=["kakei"]))
    text = area.content.decode()
    assert all(r.name in text for r in Region.objects.all())
    assert reverse("directory:municipality", args=["kakei", SAPPORO]) in text
    assert client.get(reverse("directory:area", args=["nothing"])).status_code == 404


def test_results_page_shows_cards_with_tel_links_and_the_danger_block(client, db):
    make("くらしの窓口（テスト）")
    response = client.get(reverse("directory:municipality", args=["seikatsu", SAPPORO]))
    text = response.content.decode()
    assert response.status_code == 200
    assert "札幌市の「生活全般」の窓口" in text
    assert "くらしの窓口（テスト）" in text
    assert 'href="tel:0110000000"' in text
    assert "月〜金 9:00〜17:00" in text
    for number in ("tel:110", "tel:119", "tel:%237119", "tel:0120279338"):
        assert number in text
    empty = client.get(reverse("directory:municipality", args=["kakei", SAPPORO]))
    assert "まだ窓口が登録されていません" in empty.content.decode()
    assert "いま危険を感じているとき" in empty.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/navi/c/nothing/r/1/",
        "/navi/c/seikatsu/r/999/",
        "/navi/c/seikatsu/m/999999/",
        "/navi/c/seikatsu/m/札幌/",
        "/navi/w/999999/",
        "/navi/near/?c=nothing&lat=43&lon=141",
    ],
)
def test_unknown_things_in_the_address_are_404(client, db, url):
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("query", ["", "?lat=43", "?lat=abc&lon=141", "?lat=91&lon=141"])
def test_near_without_a_usable_position_explains_in_japanese(client, db, query):
    response = client.get("/navi/near/" + query)
    assert response.status_code == 400
    assert "現在地がわかりませんでした" in response.content.decode()
    assert not SearchTally.objects.exists()


def test_a_window_that_is_not_active_is_not_shown(client, db):
    window = make("休止中", status=ServiceStatus.INACTIVE)
    assert client.get(reverse("directory:window", args=[window.pk])).status_code == 404
    shown = make("受付中")
    shown.service.verified_on = datetime.date(2026, 6, 4)
    shown.service.save()
    page = client.get(reverse("directory:window", args=[shown.pk])).content.decode()
    assert "最終確認日" in page and "2026年6月4日" in page


@pytest.mark.parametrize("name", ["home", "near", "search"])
def test_navi_pages_refuse_post(client, db, name):
    assert client.post(reverse(f"directory:{name}")).status_code == 405


# --- Keyword search -----------------------------------------------------------


def test_the_demo_windows_are_found_by_1_2_and_3_plus_character_words(client, db):
    seed_directory()

    def found(q, **extra):
        response = client.get(reverse("directory:search"), {"q": q, **extra})
        assert response.status_code == 200
        return {c.window.service.name for c in response.context["cards"]}

    assert "家計改善相談室はこだて（サンプル）" in found("家")
    assert "住まいの相談窓口くしろ（サンプル）" in found("家")  # 家賃, 家を出る
    assert found("家計") == {
        "くらしサポートセンターさっぽろ（サンプル）",
        "家計改善相談室はこだて（サンプル）",
        "くらしサポートセンターいわみざわ（サンプル）",
    }
    assert found("就労") == {"就労準備サポートあさひかわ（サンプル）"}
    assert found("くらしサポート") == {
        "くらしサポートセンターさっぽろ（サンプル）",
        "くらしサポートセンターいわみざわ（サンプル）",
    }
    # Kana and width are folded: half-width katakana finds the same.
    assert found("ｸﾗｼｻﾎﾟｰﾄ") == found("くらしサポート")
    # Narrowed to a 振興局 (its own search kind) or to a 困りごと.
    kamikawa = Region.objects.get(name="上川総合振興局")
    assert found("就労", r=kamikawa.pk) == {"就労準備サポートあさひかわ（サンプル）"}
    ishikari = Region.objects.get(name="石狩振興局")
    assert found("就労", r=ishikari.pk) == set()
    assert found("家", c="tabemono") == set()
    assert found("食", c="tabemono") == {"フードバンク窓口おびひろ（サンプル）"}


def test_search_hides_windows_that_stopped_and_follows_edits(client, db):
    window = make("ひまわり相談室")
    assert client.get("/navi/search/", {"q": "ひまわり"}).context["cards"]
    Service.objects.filter(pk=window.service_id).update(status=ServiceStatus.DEFUNCT)
    assert not client.get("/navi/search/", {"q": "ひまわり"}).context["cards"]
    # A window that moved to another 振興局 is found there, and no longer in the old one.
    Service.objects.filter(pk=window.service_id).update(status=ServiceStatus.ACTIVE)
    Location.objects.filter(pk=window.location_id).update(
        municipality=Municipality.objects.get(code=ASAHIKAWA)
    )
    indexing.refresh([window.pk])
    kamikawa = Region.objects.get(name="上川総合振興局").pk
    ishikari = Region.objects.get(name="石狩振興局").pk
    assert client.get("/navi/search/", {"q": "ひまわり", "r": kamikawa}).context["cards"]
    assert not client.get("/navi/search/", {"q": "ひまわり", "r": ishikari}).context["cards"]


def test_rebuild_gives_the_same_documents_and_places(db):
    from directory.models import WindowPlace

    seed_directory()
    before = sorted(
        WindowPlace.objects.values_list("window", "category", "municipality", "region", "distance"),
        key=str,
    )
    assert indexing.rebuild()["windows"] == ServiceAtLocation.objects.count() == 12
    after = sorted(
        WindowPlace.objects.values_list("window", "category", "municipality", "region", "distance"),
        key=str,
    )
    assert after == before and len(after) > 12


# --- Query counts, at two sizes ---------------------------------------------------


@pytest.mark.parametrize("size", [2, 25])
def test_navi_pages_query_counts_do_not_grow(client, db, django_assert_num_queries, size):
    for n in range(size):
        make(f"窓口{n:02d}", lat=43.06 + n / 1000, lon=141.35, index=False)
    indexing.rebuild()
    window = ServiceAtLocation.objects.first()
    ishikari = Region.objects.get(name="石狩振興局").pk
    # The category, its children, the municipality with its region, the
    # count, the tally's UPDATE (+ its first INSERT in a savepoint), the page,
    # phones, hours, programs.
    with django_assert_num_queries(12):
        client.get(reverse("directory:municipality", args=["seikatsu", SAPPORO]))
    with django_assert_num_queries(9):
        client.get(reverse("directory:municipality", args=["seikatsu", SAPPORO]))
    # The region's page: the same, with the region for the municipality, and
    # the region's municipalities to narrow down to; a tally of its own.
    with django_assert_num_queries(13):
        client.get(reverse("directory:region", args=["seikatsu", ishikari]))
    # The search: the region, the category and its children, the search, the
    # ids, the page, three prefetches, the tally (the region page's row: an
    # UPDATE only), the regions and troubles of the form.
    with django_assert_num_queries(12):
        client.get(reverse("directory:search"), {"q": "窓口", "c": "seikatsu", "r": ishikari})
    # A window: itself with its service, provider and location; phones,
    # hours, programs, troubles.
    with django_assert_num_queries(5):
        client.get(reverse("directory:window", args=[window.pk]))
    with django_assert_num_queries(1):  # the troubles
        client.get(reverse("directory:home"))
    with django_assert_num_queries(3):  # the trouble, the regions, their municipalities
        client.get(reverse("directory:area", args=["seikatsu"]))


@pytest.mark.parametrize("size", [25, 60])
def test_near_query_count_does_not_grow_where_windows_are_dense(
    client, db, django_assert_num_queries, size
):
    for n in range(size):
        make(f"窓口{n:02d}", lat=43.06 + n / 50_000, lon=141.35, index=False)
    indexing.rebuild()
    # The category and its children, the ids in the first box (it holds 20
    # within 0.5 km), the windows, three prefetches, the tally (UPDATE,
    # SAVEPOINT, INSERT, RELEASE).
    with django_assert_num_queries(11):
        client.get(reverse("directory:near"), {"lat": "43.06", "lon": "141.35", "c": "seikatsu"})


def test_near_reads_the_whole_radius_when_the_first_box_is_not_enough(
    client, db, django_assert_num_queries
):
    make("近い窓口", lat=43.06, lon=141.35)
    make("20 km 先の窓口", lat=43.24, lon=141.35)
    # Without a trouble: the ids in each box — 0.5 km, 3 km, the whole radius
    # (two windows are fewer than 20) —, the windows, three prefetches, the tally.
    with django_assert_num_queries(11):
        response = client.get(reverse("directory:near"), {"lat": "43.06", "lon": "141.35"})
    names = [c.window.service.name for c in response.context["cards"]]
    assert names == ["近い窓口", "20 km 先の窓口"]


# --- What is counted for the committee ------------------------------------------------


def test_each_search_is_counted_once_by_trouble_and_area_and_nothing_else(client, db):
    for n in range(25):
        make(f"窓口{n:02d}")
    url = reverse("directory:municipality", args=["seikatsu", SAPPORO])
    client.get(url)
    client.get(url, {"page": 2})  # the same search, read further: not counted again
    client.get(reverse("directory:municipality", args=["kakei", OTARU]))  # nothing found
    rows = {
        (t.channel, t.category.key, t.region.name, t.municipality.code): (
            t.searches,
            t.found_nothing,
        )
        for t in SearchTally.objects.select_related("category", "region", "municipality")
    }
    assert rows == {
        (Channel.WEB, "seikatsu", "石狩振興局", SAPPORO): (1, 0),
        (Channel.WEB, "kakei", "後志総合振興局", OTARU): (1, 1),
    }
    # Only counts and their keys are kept: no address, no words, no visitor.
    fields = {f.name for f in SearchTally._meta.get_fields()}
    assert fields == {
        "id", "key", "month", "channel", "category", "region", "municipality",
        "searches", "found_nothing",
    }  # fmt: skip


def test_an_edit_in_the_admin_or_a_correction_is_found_by_the_search(client, db):
    from directory import freshness
    from tests.factories import UserFactory

    window = make("あおぞら相談室")
    admin_user = UserFactory(email="root@example.org", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    service = window.service
    response = client.post(
        reverse("admin:directory_service_change", args=[service.pk]),
        {
            "provider": service.provider_id,
            "name": "ひだまり相談室",
            "kana": "",
            "status": "active",
            "categories": [c.pk for c in service.categories.all()],
            "windows-TOTAL_FORMS": "1",
            "windows-INITIAL_FORMS": "1",
            "windows-MIN_NUM_FORMS": "0",
            "windows-MAX_NUM_FORMS": "1000",
            "windows-0-id": window.pk,
            "windows-0-service": service.pk,
            "windows-0-location": window.location_id,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    client.logout()

    def found(q):
        return [c.window.pk for c in client.get("/navi/search/", {"q": q}).context["cards"]]

    assert found("ひだまり") == [window.pk]
    # A correction of the text by the provider's org admin (or the secretariat).
    freshness.correct(
        service=Service.objects.get(pk=service.pk),
        user=admin_user,
        changes={"description": "住まいと仕事の相談、フードバンクの紹介"},
    )
    assert found("フードバンク") == [window.pk]
    freshness.correct(
        service=Service.objects.get(pk=service.pk), user=admin_user, changes={"description": "家計"}
    )
    assert found("フードバンク") == []


def test_places_list_a_window_where_it_is_and_where_it_serves(db):
    from directory.models import WindowPlace

    window = make(
        "旭川から札幌も受け持つ窓口", code=ASAHIKAWA, area=[SAPPORO], categories=["kakei"]
    )
    rows = {
        (p.category.key, p.municipality.code if p.municipality else p.region.name, p.distance)
        for p in WindowPlace.objects.filter(window=window).select_related(
            "category", "municipality", "region"
        )
    }
    assert rows == {
        ("kakei", ASAHIKAWA, 0),
        ("kakei", SAPPORO, 1),
        ("kakei", "上川総合振興局", 0),
        ("kakei", "石狩振興局", 1),
    }


def test_a_window_stopped_by_a_correction_leaves_the_listing(db):
    from directory import freshness
    from tests.factories import UserFactory

    window = make("とまる窓口")
    sapporo = Municipality.objects.get(code=SAPPORO)
    seikatsu = Category.objects.get(key="seikatsu")
    assert list(navi.windows(seikatsu, municipality=sapporo)) == [window]
    secretariat = UserFactory(email="desk@example.org", groups=["secretariat"])
    freshness.correct(
        service=window.service, user=secretariat, changes={"status": ServiceStatus.INACTIVE}
    )
    assert list(navi.windows(seikatsu, municipality=sapporo)) == []
    assert navi.windows(seikatsu, municipality=sapporo).count() == 0
