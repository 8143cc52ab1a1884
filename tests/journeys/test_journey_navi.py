"""J-navi: a person in trouble, on a phone or a desktop, without logging in,
finds a window in their area in three taps: the trouble, the area, the
window's tel: link (issue #13). Then the same person searches by a word,
and asks for windows near where they are (the browser's location, which
site.js puts into the form; the server sorts by distance)."""

from __future__ import annotations

from directory.demo import seed_directory
from directory.models import SearchTally

JOURNEY = "navi"


def test_journey_trouble_area_window_in_three_taps(open_anonymous):
    seed_directory()
    person = open_anonymous()
    page = person.page
    person.goto("/navi/")
    assert "いま危険を感じているとき" in person.main_text()

    person.submit(page.get_by_role("link", name="生活全般", exact=True))  # tap 1
    person.shot("area")
    person.submit(page.get_by_role("link", name="石狩振興局", exact=True))  # tap 2
    person.shot("results")
    main = person.main_text()
    assert "石狩振興局の「生活全般」の窓口" in main
    assert "いま危険を感じているとき" in main
    card = page.locator("li.navi-card", has_text="くらしサポートセンターさっぽろ（サンプル）")
    call = card.get_by_role("link", name="電話する 0120-000-001")  # tap 3
    assert call.is_visible()
    assert call.get_attribute("href") == "tel:0120000001"
    box = call.bounding_box()
    assert box["height"] >= 44  # a large tap target, on both sizes
    # A window outside the area is not listed.
    assert "就労準備サポートあさひかわ" not in main
    # The search was counted for the committee, and found something.
    tally = SearchTally.objects.get(category__key="seikatsu", region__name="石狩振興局")
    assert (tally.searches, tally.found_nothing) == (1, 0)

    # The window's own page says when it was last confirmed.
    person.submit(card.get_by_role("link", name="くらしサポートセンターさっぽろ（サンプル）"))
    assert "最終確認日" in person.main_text()
    assert page.get_by_role("link", name="電話する 0120-000-001").is_visible()


def test_journey_search_by_word_and_near_me(open_anonymous):
    seed_directory()
    person = open_anonymous()
    page = person.page
    person.goto("/navi/")
    page.get_by_label("ことばで探す").fill("家計")
    person.submit(page.get_by_role("button", name="探す", exact=True))
    person.shot("search")
    found = page.locator("li.navi-card h2").all_inner_texts()
    assert set(found) == {
        "くらしサポートセンターさっぽろ（サンプル）",
        "家計改善相談室はこだて（サンプル）",
        "くらしサポートセンターいわみざわ（サンプル）",
    }

    # 「現在地から探す」 (shown only with JavaScript and a location): near 帯広.
    person.context.grant_permissions(["geolocation"])
    person.context.set_geolocation({"latitude": 42.92, "longitude": 143.20})
    person.goto("/navi/")
    person.submit(page.get_by_role("button", name="現在地から探す"))
    person.shot("near")
    first = page.locator("li.navi-card h2").first.inner_text()
    assert first == "フードバンク窓口おびひろ（サンプル）"
    # 0.36 km north–south and 0.28 km east–west: 0.49 km as the crow flies.
    assert "約 0.5 km" in page.locator("li.navi-card").first.inner_text()
