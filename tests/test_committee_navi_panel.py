"""The dashboard's 「ナビで探されたこと」 and 「見つからなかった地域と困りごと」
(issue #13): what the navi counted, per 年度, as the committee reads it."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from directory import stats
from directory.enums import Channel
from directory.models import Category
from network.models import Municipality, Region

from .test_directory_navi import make


def _section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    return html[start : html.index("</section>", start)]


def test_the_dashboard_shows_what_was_looked_for_and_not_found(client, committee_member):
    make("札幌のくらし窓口")
    # Found, through the web pages people use.
    client.get(reverse("directory:municipality", args=["seikatsu", "011002"]))
    client.get(reverse("directory:municipality", args=["seikatsu", "011002"]))
    # Not found: 食べもの in 小樽市 (web) and in 宗谷 (LINE).
    client.get(reverse("directory:municipality", args=["tabemono", "012033"]))
    food = Category.objects.get(key="tabemono")
    stats.record(
        Channel.LINE, category=food, region=Region.objects.get(name="宗谷総合振興局"), found=0
    )
    # Last 年度 (March): not in this 年度's figures.
    stats.record(
        Channel.WEB,
        category=food,
        municipality=Municipality.objects.get(code="012033"),
        found=0,
        today=datetime.date(2026, 3, 31),
    )

    client.force_login(committee_member)
    html = client.get(reverse("dashboard:home"), {"fy": 2026}).content.decode()
    navi = _section(html, "navi")
    assert "この年度の検索 4 回、うち窓口が見つからなかった 2 回。" in navi
    assert "2026年12月" in navi
    unmet = _section(html, "unmet")
    assert "食べもの" in unmet and "後志総合振興局・小樽市" in unmet and "宗谷総合振興局" in unmet
    assert "生活全般" not in unmet

    last_year = client.get(reverse("dashboard:home"), {"fy": 2025}).content.decode()
    assert "この年度の検索 1 回、うち窓口が見つからなかった 1 回。" in _section(last_year, "navi")


def test_the_panels_say_so_when_nothing_was_counted(client, committee_member):
    client.force_login(committee_member)
    html = client.get(reverse("dashboard:home"), {"fy": 2026}).content.decode()
    assert "まだナビで探された記録がありません" in _section(html, "navi")
    assert "窓口が見つかりました" in _section(html, "unmet")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_counts_are_not_lost():
    """The first INSERT of a month's row and racing UPDATEs: every search counts."""
    import threading

    from django.db import connection

    food = Category.objects.get(key="tabemono")
    barrier = threading.Barrier(4)

    def count():
        try:
            barrier.wait()
            for _ in range(5):
                stats.record(Channel.WEB, category=food, found=0)
        finally:
            connection.close()

    errors = []

    def guarded():
        try:
            count()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=guarded) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    (row,) = stats.summary(datetime.date(2000, 4, 1), datetime.date(2100, 4, 1)).by_category
    assert (row["searches"], row["found_nothing"]) == (20, 20)
