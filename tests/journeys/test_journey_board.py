"""J-board: ask → answer → keep → find, in the browser (issue #12).

A 受託団体 member asks in the network room without their name; two other
members answer; the asker marks the answer that solved it; the secretariat
keeps it in the note; a third member finds the entry by searching a
2-character word. A second post, with a phone number and a name with さん,
is caught by the privacy guard, shown highlighted, and — confirmed anyway —
waits for the secretariat instead of reaching the others.
"""

from __future__ import annotations

from committee.models import Need
from note.enums import PostState, RoomKind
from note.models import NoteEntry, Reply, Room, Topic

from ..factories import MembershipFactory, OrganisationFactory

JOURNEY = "board"

TITLE = "家計表、初回面談でどこまで書いてもらいますか"
BODY = "初回から全部書いてもらうと負担が大きいようです。みなさんはどうしていますか。"
ANSWER = "初回は収入と固定費だけにして、残りは次回に一緒に書いています。"
OTHER_ANSWER = "うちは家計表を持ち帰ってもらい、次の面談で確認します。"


def _members():
    third_org = OrganisationFactory(name="道東くらし支援センター", kind="support")
    return {
        "answerer": MembershipFactory(user__full_name="返信 一子").user,
        "third": MembershipFactory(organisation=third_org, user__full_name="探す 三郎").user,
    }


def test_journey_ask_answer_keep_and_find(
    open_as, contractor_member, municipal_member, secretariat
):
    people = _members()
    network = Room.objects.get(kind=RoomKind.NETWORK)

    # The asker posts without their name.
    asker = open_as(contractor_member)
    page = asker.page
    asker.goto("/note/")
    asker.submit(page.get_by_role("link", name=network.name))
    asker.submit(page.get_by_role("link", name="この部屋で相談する"))
    page.get_by_label("タイトル").fill(TITLE)
    page.get_by_label("本文").fill(BODY)
    page.get_by_label("匿名で投稿する").check()
    asker.shot("ask")
    asker.submit(asker.button("投稿する"))
    topic = Topic.objects.get(title=TITLE)
    assert topic.is_anonymous and topic.state == PostState.PUBLISHED
    assert "匿名の会員（受託団体）" in asker.main_text()

    # Two others answer.
    for user, text in ((municipal_member, ANSWER), (people["answerer"], OTHER_ANSWER)):
        member = open_as(user)
        member.goto(topic.get_absolute_url())
        assert "受託 花子" not in member.page.content()  # the anonymous asker's name
        member.page.get_by_role("textbox", name="返信").fill(text)
        member.submit(member.button("返信する"))
        assert text in member.main_text()
    assert Reply.objects.filter(topic=topic).count() == 2

    # The asker marks the answer that solved it.
    asker.goto(topic.get_absolute_url())
    asker.submit(page.get_by_role("link", name="解決した返信を選ぶ"))
    page.get_by_label(ANSWER[:10], exact=False).check()
    asker.submit(asker.button("保存する"))
    topic.refresh_from_db()
    assert topic.is_resolved
    assert Reply.objects.get(body=ANSWER).is_resolution
    assert "解決済み" in asker.main_text()

    # The secretariat keeps it in the note.
    office = open_as(secretariat)
    office.goto(topic.get_absolute_url())
    office.submit(office.page.get_by_role("link", name="ノートにまとめる"))
    form = office.page
    form.get_by_label("タイトル").fill("家計表は初回に全部書かなくてよい")
    form.get_by_label("まとめ").fill(
        "初回は収入と固定費だけ。残りは次の面談で一緒に書くと続きやすい。"
    )
    form.get_by_label("6 ノウハウ提供").check()
    for box in form.locator("input[name^=check_]").all():
        box.check()
    office.shot("curate")
    office.submit(office.button("保存する"))
    entry = NoteEntry.objects.get(source_topic=topic)
    assert entry.state == PostState.PUBLISHED

    # … and raises it as a need for the committee, which links back to the topic.
    office.goto(topic.get_absolute_url())
    office.submit(office.button("課題にする"))
    assert "課題として登録しました" in office.main_text()
    need = Need.objects.get(source_topic=topic)
    assert (need.title, need.source) == (TITLE, Need.Source.TOPIC)
    assert "受託 花子" not in office.page.content()
    office.submit(office.page.get_by_role("link", name=f"掲示板の相談「{TITLE}」"))
    assert office.path() == topic.get_absolute_url()

    # A third member finds it by a 2-character word.
    third = open_as(people["third"])
    third.goto("/note/")
    third.submit(third.page.get_by_role("link", name="探す", exact=True))
    third.page.get_by_label("キーワード").fill("家計")
    third.submit(third.button("探す"))
    results = third.page.locator(".search-results li")
    assert "家計表は初回に全部書かなくてよい" in results.first.inner_text()
    assert "ノート" in results.first.inner_text()  # the note entry ranks first
    assert TITLE in third.main_text()
    third.shot("search")
    assert "受託 花子" not in third.page.content()
    third.submit(results.first.get_by_role("link", name="家計表は初回に全部書かなくてよい"))
    assert "初回は収入と固定費だけ" in third.main_text()


def test_journey_privacy_guard_catches_highlights_and_holds_for_review(
    open_as, contractor_member, municipal_member, secretariat
):
    network = Room.objects.get(kind=RoomKind.NETWORK)
    asker = open_as(contractor_member)
    page = asker.page
    asker.goto(f"/note/rooms/{network.pk}/new/")
    page.get_by_label("タイトル").fill("連絡がつかない相談者")
    page.get_by_label("本文").fill("田中さん（090-1234-5678）に何度電話してもつながりません。")
    asker.submit(asker.button("投稿する"))

    # Caught, highlighted, nothing saved.
    flags = page.locator("mark.privacy-flag")
    assert sorted(flags.all_inner_texts()) == ["090-1234-5678", "田中さん"]
    assert Topic.objects.count() == 0
    asker.shot("privacy-flagged")

    # Confirmed anyway: saved, waiting for the secretariat.
    page.get_by_label("実在の人物についての内容ではありません").check()
    asker.submit(asker.button("投稿する"))
    topic = Topic.objects.get()
    assert topic.state == PostState.PENDING
    assert "事務局の確認待ちです" in asker.main_text()

    other = open_as(municipal_member)
    other.goto(f"/note/rooms/{network.pk}/")
    assert "連絡がつかない相談者" not in other.main_text()

    office = open_as(secretariat)
    office.goto("/note/manage/")
    assert "連絡がつかない相談者" in office.main_text()
    assert "電話番号『090-1234-5678』" in office.main_text()
