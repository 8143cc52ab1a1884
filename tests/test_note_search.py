"""The board's and the note's search, as a member uses it: the keyword box of
a room and of the note (GET ?q=…), over what the services wrote.

Japanese words of every length (1, 2, 3+ characters), kana, width and case
folded; a word in a published reply finds its topic, a hidden reply's words
do not; what a member may not see is never found; an edit moves the index;
bad input narrows or errors, never 500s.
"""

from collections import Counter

import pytest
from django.urls import reverse

from core.models import SearchDocument
from note import search, services
from note.models import NoteEntry, Topic

from .factories import MembershipFactory, OrganisationFactory
from .note_factories import CuratorFactory, room

pytestmark = pytest.mark.django_db


@pytest.fixture
def asker(contractor_member):
    return contractor_member


@pytest.fixture
def other(municipal_member):
    return municipal_member


def ask(by, title, body="詳しく教えてください。", **kwargs):
    return services.post_topic(
        room=kwargs.pop("in_room", None) or room(), by=by, title=title, body=body, **kwargs
    )


def found(client, q, in_room=None) -> list[str]:
    url = reverse("note:room", args=[(in_room or room()).pk])
    response = client.get(url, {"q": q})
    assert response.status_code == 200
    return [t.title for t in response.context["page_obj"]]


def test_note_search_finds_words_of_every_length_with_kana_and_width_folded(
    asker, other, client_for
):
    ask(asker, "フードバンクとの連携", "食料の支援をどうつないでいますか。")
    ask(asker, "就労準備支援の始め方")
    ask(asker, "就労と準備の話", "就労の前に準備することはありますか。")
    client = client_for(other)

    assert found(client, "ﾌｰﾄﾞﾊﾞﾝｸ") == ["フードバンクとの連携"]  # half-width katakana
    assert found(client, "ふーどばんく") == ["フードバンクとの連携"]  # hiragana
    assert found(client, "食") == ["フードバンクとの連携"]  # one character, in the body
    assert sorted(found(client, "就労")) == ["就労と準備の話", "就労準備支援の始め方"]
    # Three characters and more: the word itself, not its pairs apart.
    assert found(client, "就労準備") == ["就労準備支援の始め方"]
    # Every word must be there.
    assert found(client, "就労 始め方") == ["就労準備支援の始め方"]
    assert found(client, "存在しない言葉") == []


def test_note_search_finds_a_topic_by_a_published_reply_not_by_a_hidden_one(
    asker, other, secretariat, client_for
):
    topic = ask(asker, "家計表の書き方")
    reply = services.post_reply(
        topic=topic, by=other, body="うちでは家計簿アプリを紹介しています。"
    )
    client = client_for(asker)
    assert found(client, "家計簿アプリ") == ["家計表の書き方"]

    services.hide_post(post=reply, by=secretariat, reason="個人が特定できるため")

    assert found(client, "家計簿アプリ") == []
    assert found(client, "家計表") == ["家計表の書き方"]


def test_note_search_follows_an_edit(asker, other, client_for):
    topic = ask(asker, "アウトリーチの最初の訪問")
    services.edit_topic(
        topic=topic, by=asker, title="訪問支援の最初の一歩", body="気をつけることは？"
    )
    client = client_for(other)

    assert found(client, "アウトリーチ") == []
    assert found(client, "訪問支援") == ["訪問支援の最初の一歩"]


def test_note_search_never_finds_what_the_member_may_not_read(
    asker, other, secretariat, client_for
):
    # A 自治体-only room: a 受託団体 member reads nothing there, found or not.
    municipal_room = room("municipal")
    ask(other, "自治体だけの相談：委託の評価", in_room=municipal_room)
    assert found(client_for(other), "委託の評価", in_room=municipal_room) == [
        "自治体だけの相談：委託の評価"
    ]
    url = reverse("note:room", args=[municipal_room.pk])
    assert client_for(asker).get(url, {"q": "委託"}).status_code == 404
    # Nor through the room the member reads.
    assert found(client_for(asker), "委託の評価") == []
    # A hidden topic: found by its author only.
    hidden = ask(asker, "非表示になる相談の題")
    services.hide_post(post=hidden, by=secretariat, reason="重複のため")
    assert found(client_for(other), "非表示になる") == []
    assert found(client_for(asker), "非表示になる") == ["非表示になる相談の題"]


def test_note_search_of_entries(asker, secretariat, client_for):
    topic = ask(asker, "住居確保給付金の家主調整")
    reply = services.post_reply(topic=topic, by=secretariat, body="不動産団体の窓口に相談します。")
    services.mark_resolution(topic=topic, replies=[reply], by=asker)
    CuratorFactory(user=secretariat)
    services.curate_entry(
        topic=topic,
        by=secretariat,
        title="家主さんとの調整が止まったら",
        summary="不動産団体の相談窓口を通すと進みやすい。",
        functions=[6],
        anonymisation_checked=True,
    )
    client = client_for(asker)

    def entries(q):
        response = client.get(reverse("note:entries"), {"q": q})
        assert response.status_code == 200
        return [e.title for e in response.context["page_obj"]]

    assert entries("不動産") == ["家主さんとの調整が止まったら"]
    assert entries("ふどうさん") == []  # kana is not a reading of kanji
    assert entries("ﾔﾁﾝ") == []


def test_note_search_punctuation_only_or_too_long_is_handled(asker, other, client_for):
    ask(asker, "連携の相談")
    client = client_for(other)
    # Only punctuation: no words, nothing narrowed.
    assert found(client, "！？。") == ["連携の相談"]
    # Longer than the box takes: the field's error in Japanese (the list stays
    # unfiltered, as on every filtered list).
    response = client.get(reverse("note:room", args=[room().pk]), {"q": "あ" * 101})
    html = response.content.decode()
    assert response.status_code == 200
    assert "検索条件に誤りがあります。" in html
    assert "この値は 100 文字以下でなければなりません" in html
    assert "<li>q<" not in html  # the message, not the field's name


def test_note_room_search_finds_the_rooms_own_matches_below_other_rooms_best(
    asker, other, client_for, monkeypatch
):
    # A search keeps at most MAX_RESULTS matches: a room's search must rank
    # within the room, not keep the best of every room and filter afterwards.
    monkeypatch.setattr(search, "MAX_RESULTS", 3)
    quiet_room = room("municipal")
    ask(other, "家計の相談 この部屋", in_room=quiet_room)
    for n in range(4):
        ask(asker, f"家計の相談 全体 {n}")  # newer: they rank above it over all rooms
    client = client_for(other)

    assert found(client, "家計", in_room=quiet_room) == ["家計の相談 この部屋"]
    assert len(found(client, "家計")) == 3
    url = reverse("note:room", args=[room().pk])
    more = "見つかったものが多いため、よく合う 3 件までを表示しています。"
    assert more in client.get(url, {"q": "家計"}).content.decode()
    assert more not in client.get(url, {"q": "家計の相談 全体 2"}).content.decode()


def test_note_reindex_indexes_every_topic_under_its_room(asker, other):
    first, second = room(), room("municipal")
    ask(asker, "一つ目の部屋の相談", in_room=first)
    ask(other, "二つ目の部屋の相談", in_room=second)
    SearchDocument.objects.all().delete()

    search.reindex()

    by_kind = Counter(SearchDocument.objects.values_list("kind", flat=True))
    assert by_kind == {
        search.TOPIC: 2,
        search.room_kind(first.pk): 1,
        search.room_kind(second.pk): 1,
    }


def test_note_reindex_rebuilds_what_the_services_wrote(asker, other, client_for):
    ask(asker, "学習支援の会場探し")
    Topic.objects.update(title="子どもの学習支援の場所")  # written around the services
    assert found(client_for(other), "子ども") == []

    counts = search.reindex()

    assert counts == {"topics": Topic.objects.count(), "entries": NoteEntry.objects.count()}
    assert found(client_for(other), "子ども") == ["子どもの学習支援の場所"]


# Session, user, groups, memberships, the member's programs and roles, the
# room; the search (one query of the index); the count, the page of topics
# with their reply counts, their tags.
QUERIES = 10


def test_note_search_query_count_is_flat(asker, other, client_for, django_assert_num_queries):
    client = client_for(other)
    url = reverse("note:room", args=[room().pk])
    for n in range(3):
        ask(asker, f"連携の相談 {n}")
    client.get(url, {"q": "連携"})
    with django_assert_num_queries(QUERIES):
        client.get(url, {"q": "連携"})
    org = OrganisationFactory()
    for n in range(30):
        ask(MembershipFactory(organisation=org).user, f"連携の相談 追加{n}")
    with django_assert_num_queries(QUERIES):
        response = client.get(url, {"q": "連携"})
    assert len(response.context["page_obj"]) > 3


# --- ranking, and the board and the note searched together (/note/search/) ----------------


def search_page(client, q, **params):
    response = client.get(reverse("note:search"), {"q": q, **params})
    assert response.status_code == 200
    return response


def results(client, q) -> list[tuple[str, str]]:
    return [
        ("entry" if f.is_entry else "topic", f.object.title)
        for f in search_page(client, q).context["page_obj"]
    ]


def resolved(topic, by, answerer):
    reply = services.post_reply(topic=topic, by=answerer, body="こうしています。")
    return services.mark_resolution(topic=topic, replies=[reply], by=by)


def test_note_search_ranks_title_over_body_then_note_resolved_open(
    asker, other, secretariat, client_for
):
    in_body = ask(asker, "面談の記録のつけ方", "フードバンクの記録も書きます。")
    open_topic = ask(asker, "フードバンクとの連携（未解決）")
    resolved_topic = resolved(ask(asker, "フードバンクとの連携（解決）"), asker, other)
    source = resolved(ask(asker, "食料支援の相談"), asker, other)
    CuratorFactory(user=secretariat)
    services.curate_entry(
        topic=source,
        by=secretariat,
        title="フードバンクとつなぐときの手順",
        summary="社協の窓口に連絡し、受け取りの日を決める。",
        functions=[6],
        anonymisation_checked=True,
    )
    client = client_for(other)

    assert results(client, "フードバンク") == [
        ("entry", "フードバンクとつなぐときの手順"),
        ("topic", resolved_topic.title),
        ("topic", open_topic.title),
        ("topic", in_body.title),
    ]
    # A room's list is ranked the same way.
    assert found(client, "フードバンク") == [resolved_topic.title, open_topic.title, in_body.title]
    page = search_page(client, "フードバンク").content.decode()
    assert "4 件中 1〜4 件" in page
    assert 'href="/note/entries/' in page and f'href="{resolved_topic.get_absolute_url()}"' in page


def test_note_search_page_shows_only_what_the_member_may_read(
    asker, other, secretariat, client_for
):
    ask(other, "委託の評価指標（自治体のみ）", in_room=room("municipal"))
    hidden = ask(asker, "評価指標の相談（非表示）")
    services.hide_post(post=hidden, by=secretariat, reason="重複のため")
    ask(asker, "評価指標の相談（公開）")

    seen_by_asker = {title for _k, title in results(client_for(asker), "評価指標")}
    assert seen_by_asker == {"評価指標の相談（非表示）", "評価指標の相談（公開）"}
    seen_by_other = {title for _k, title in results(client_for(other), "評価指標")}
    assert seen_by_other == {"委託の評価指標（自治体のみ）", "評価指標の相談（公開）"}
    assert client_for(secretariat).get(reverse("note:search"), {"q": "評価"}).status_code == 200


def test_note_search_page_empty_states(asker, other, client_for):
    ask(asker, "連携の相談")
    client = client_for(other)

    first = search_page(client, "").content.decode()
    assert "探したい言葉を入力してください" in first
    missing = search_page(client, "存在しない言葉").content.decode()
    assert "「存在しない言葉」を含む記事・相談は見つかりませんでした。" in missing
    assert results(client, "連") == [("topic", "連携の相談")]


def test_note_search_page_pages_through_many_results(asker, other, client_for):
    for n in range(25):
        ask(asker, f"家計の相談 {n:02d}")
    client = client_for(other)

    first = search_page(client, "家計").context["page_obj"]
    second = search_page(client, "家計", page=2).context["page_obj"]

    assert first.paginator.count == 25 and len(first) == 20 and len(second) == 5
    assert {f.object.pk for f in first}.isdisjoint({f.object.pk for f in second})


# Session, user, groups, memberships, programs and roles; the search; the
# visible ids among the topic hits (none are asked about entries: no entry
# matched); the page's topics and their tags.
SEARCH_PAGE_QUERIES = 9


@pytest.mark.parametrize("extra", [0, 30])
def test_note_search_page_query_count_is_flat(
    extra, asker, other, client_for, django_assert_num_queries
):
    org = OrganisationFactory()
    for n in range(3 + extra):
        ask(asker if n < 3 else MembershipFactory(organisation=org).user, f"連携の相談 {n}")
    client = client_for(other)
    client.get(reverse("note:search"), {"q": "連携"})

    with django_assert_num_queries(SEARCH_PAGE_QUERIES):
        response = client.get(reverse("note:search"), {"q": "連携"})
    assert response.context["page_obj"].paginator.count == 3 + extra


def test_note_search_page_keeps_the_best_matches_and_says_so(asker, other, client_for, monkeypatch):
    monkeypatch.setattr(search, "MAX_RESULTS", 5)
    for n in range(7):
        ask(asker, f"家計の相談 {n}")
    client = client_for(other)

    response = search_page(client, "家計")

    assert response.context["page_obj"].paginator.count == 5
    assert "よく合う 5 件までを表示しています" in response.content.decode()
    assert "よく合う" not in search_page(client, "家計の相談 3").content.decode()
