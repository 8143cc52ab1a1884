"""An anonymous post's author cannot be found by any other member: not in any
page's full HTML, not in any mail, not in the export, the edit history, the
timestamps, "my topics" or the follow list. The secretariat learns it only
through 「投稿者を確認」, which writes a log row.

The author here is the 受託団体 member 受託 花子 (npo@example.org) of
札幌生活サポートセンター; the second member looking is the 自治体 member,
and the org admin of the same organisation (who would recognise a colleague).
"""

import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from core.models import OutboxMessage
from note import services, tasks
from note.models import AuthorLookup
from tests.note_factories import room

pytestmark = pytest.mark.django_db

# Data attributes the site's own markup uses; none of them carries a person.
ALLOWED_DATA_ATTRIBUTES = {"data-busy", "data-nav-toggle"}


@pytest.fixture
def author(contractor_member):
    return contractor_member


def _leaks(text: str, author) -> list[str]:
    organisation = author.memberships.get().organisation
    return [
        marker
        for marker in (author.full_name, author.email, organisation.name, organisation.kana)
        if marker and marker in text
    ]


@pytest.fixture
def posts(author, municipal_member, org_admin, settings, django_capture_on_commit_callbacks):
    """An anonymous topic (edited once), an anonymous reply, replies by others;
    the follow mails they cause are queued and sent."""
    settings.NOTE_EDIT_WINDOW_MINUTES = 30
    with django_capture_on_commit_callbacks(execute=True):
        return _posts(author, municipal_member)


def _posts(author, municipal_member):
    network = room()
    topic = services.post_topic(
        room=network,
        by=author,
        title="家賃の滞納が続く世帯への最初の声かけ",
        body="どう切り出せばよいか迷っています。",
        anonymous=True,
    )
    # Stored to the second; no page may show the seconds.
    topic.created_at = topic.created_at.replace(second=37, microsecond=123456)
    topic.save(update_fields=["created_at"])
    services.edit_topic(
        topic=topic,
        by=author,
        title=topic.title,
        body="どう切り出せばよいか迷っています。電話より訪問がよいでしょうか。",
    )
    services.follow(topic=topic, by=municipal_member)
    answer = services.post_reply(topic=topic, by=municipal_member, body="まず訪問で。")
    other = services.post_topic(
        room=network, by=municipal_member, title="委託の評価指標", body="件数以外の指標は？"
    )
    anonymous_reply = services.post_reply(
        topic=other, by=author, body="連携会議の回数も見ています。", anonymous=True
    )
    return {"topic": topic, "answer": answer, "other": other, "anonymous_reply": anonymous_reply}


def _pages(posts):
    topic, other = posts["topic"], posts["other"]
    return [
        reverse("note:home"),
        reverse("note:room", args=[topic.room_id]),
        reverse("note:room", args=[topic.room_id]) + "?show=unresolved",
        reverse("note:topic", args=[topic.pk]),
        reverse("note:topic", args=[other.pk]),
        reverse("note:mine"),
        reverse("note:mine") + "?tab=following",
        reverse("note:entries"),
        # The search: the anonymous reply's words find its topic.
        reverse("note:search") + "?q=%E9%80%A3%E6%90%BA%E4%BC%9A%E8%AD%B0",
        reverse("note:room", args=[topic.room_id]) + "?q=%E9%80%A3%E6%90%BA%E4%BC%9A%E8%AD%B0",
    ]


@pytest.mark.parametrize("viewer", ["municipal_member", "org_admin"])
def test_note_anonymous_author_absent_from_every_page_another_member_sees(
    viewer, posts, author, client_for, request
):
    client = client_for(request.getfixturevalue(viewer))
    leaks = {}
    for url in _pages(posts):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        found = _leaks(html, author)
        if found:
            leaks[url] = found
    topic_html = client.get(reverse("note:topic", args=[posts["topic"].pk])).content.decode()
    # The searches above did find the anonymous reply's topic.
    searched = client.get(reverse("note:search"), {"q": "連携会議"}).content.decode()
    assert posts["other"].title in searched

    assert leaks == {}
    # What an anonymous post does show: the organisation kind, nothing else.
    assert topic_html.count('<span class="post-author">匿名の会員（受託団体）</span>') == 1


def test_note_anonymous_pages_carry_no_person_data_attributes(posts, municipal_member, client_for):
    client = client_for(municipal_member)
    found = set()
    for url in _pages(posts):
        found |= set(re.findall(r"\b(data-[a-z-]+)=", client.get(url).content.decode()))

    assert found <= ALLOWED_DATA_ATTRIBUTES


def test_note_anonymous_timestamps_stop_at_the_minute(posts, municipal_member, client_for):
    html = (
        client_for(municipal_member)
        .get(reverse("note:topic", args=[posts["topic"].pk]))
        .content.decode()
    )
    stamps = re.findall(r'datetime="([^"]+)"', html)
    local = timezone.localtime(posts["topic"].created_at)

    assert f"{local:%Y-%m-%dT%H:%M}+09:00" in stamps
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d\+09:00", s) for s in stamps), stamps
    assert re.search(r"\d\d:\d\d:\d\d", html) is None


def test_note_anonymous_edit_history_is_the_authors_and_the_secretariats(
    posts, author, municipal_member, secretariat, client_for
):
    url = reverse("note:topic_history", args=[posts["topic"].pk])

    other = client_for(municipal_member).get(url)
    own = client_for(author).get(url)
    staff = client_for(secretariat).get(url)

    assert other.status_code == 404
    assert _leaks(other.content.decode(), author) == []
    assert (
        own.status_code == 200 and "どう切り出せばよいか迷っています。</p>" in own.content.decode()
    )
    assert staff.status_code == 200
    assert _leaks(staff.content.decode(), author) == []  # history names nobody


def test_note_my_topics_lists_only_ones_own(posts, author, municipal_member, client_for):
    own = client_for(municipal_member).get(reverse("note:mine"), {"user": author.pk})
    following = client_for(municipal_member).get(reverse("note:mine"), {"tab": "following"})

    assert [t.title for t in own.context["page_obj"]] == ["委託の評価指標"]
    # Following the anonymous topic shows the topic, never who else follows it.
    assert {t.title for t in following.context["page_obj"]} == {
        "家賃の滞納が続く世帯への最初の声かけ",
        "委託の評価指標",
    }
    assert _leaks(following.content.decode(), author) == []


def test_note_follow_mails_never_name_the_anonymous_author(
    posts, author, municipal_member, django_capture_on_commit_callbacks
):
    """The 自治体 member follows both topics (the one they asked, the one
    they follow); the author replies anonymously to one of them: no mail to
    anyone else names the author, in the outbox or as delivered."""
    with django_capture_on_commit_callbacks(execute=True):
        services.post_reply(
            topic=posts["other"], by=author, body="もう一つ補足です。", anonymous=True
        )
    to_others = OutboxMessage.objects.exclude(to_email=author.email)
    delivered = [m for m in mail.outbox if author.email not in m.to]

    assert sorted(to_others.values_list("kind", flat=True)) == ["note.new_reply"]
    assert to_others.get().to_email == municipal_member.email
    assert len(delivered) == 1
    assert [m.key for m in to_others if _leaks(m.subject + m.body, author)] == []
    assert [m.subject for m in delivered if _leaks(m.subject + m.body, author)] == []


def test_note_digest_never_names_the_anonymous_author(posts, author, municipal_member):
    topic = posts["topic"]
    # A new, unanswered anonymous topic of last week.
    unanswered = services.post_topic(
        room=topic.room,
        by=author,
        title="夜間の緊急連絡先",
        body="どう決めていますか。",
        anonymous=True,
    )
    last_week = timezone.now() - timezone.timedelta(days=7)
    type(unanswered).objects.filter(pk=unanswered.pk).update(created_at=last_week)

    tasks.sweep_digest()
    digest = OutboxMessage.objects.get(kind="note.digest", to_email=municipal_member.email)

    assert "夜間の緊急連絡先" in digest.body
    assert _leaks(digest.subject + digest.body, author) == []


def test_note_export_keeps_anonymous_posts_anonymous(posts, author, secretariat, client_for):
    response = client_for(secretariat).get(reverse("note:export"))
    text = response.content.decode("utf-8-sig")

    assert response["Content-Type"].startswith("text/csv")
    assert "家賃の滞納が続く世帯への最初の声かけ,匿名の会員（受託団体）" in text
    assert _leaks(text, author) == []
    assert re.search(r"\d\d:\d\d:\d\d", text) is None


def test_note_secretariat_sees_the_author_only_through_a_logged_lookup(
    posts, author, secretariat, client_for
):
    client = client_for(secretariat)
    topic = posts["topic"]
    page = client.get(reverse("note:topic", args=[topic.pk])).content.decode()
    url = reverse("note:author", args=["topic", topic.pk])
    form = client.get(url)

    assert _leaks(page, author) == []
    assert "投稿者を確認" in page
    assert _leaks(form.content.decode(), author) == []
    assert AuthorLookup.objects.count() == 0

    answer = client.post(url, {"reason": "個人情報を含むとの通報の確認"})

    assert author.full_name in answer.content.decode()
    assert list(AuthorLookup.objects.values_list("topic", "looked_by", "reason")) == [
        (topic.pk, secretariat.pk, "個人情報を含むとの通報の確認")
    ]


def test_note_lookup_without_a_reason_shows_nothing_and_logs_nothing(
    posts, author, secretariat, client_for
):
    url = reverse("note:author", args=["reply", posts["anonymous_reply"].pk])

    response = client_for(secretariat).post(url, {"reason": ""})

    assert response.status_code == 200
    assert _leaks(response.content.decode(), author) == []
    assert AuthorLookup.objects.count() == 0


def test_note_asker_badge_never_joins_a_named_reply_to_an_anonymous_topic(
    posts, author, municipal_member, client_for
):
    """The asker replying under their name on their anonymous topic: the
    reply is signed, and nothing marks it as the asker's."""
    services.post_reply(topic=posts["topic"], by=author, body="補足します。")
    html = (
        client_for(municipal_member)
        .get(reverse("note:topic", args=[posts["topic"].pk]))
        .content.decode()
    )

    assert author.full_name in html  # the signed reply
    assert "質問者" not in html
