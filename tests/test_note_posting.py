"""Posting on the board: the privacy guard's flow, the edit window with its
history, hiding with a reason, resolution, curating into the note, meeting
rooms. Through the pages where a person would do it, asserting what the
database holds and what other members see."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from note import access, services
from note.enums import PostState, RoomKind
from note.models import Follow, NoteEntry, PostRevision, Reply, Room, Topic
from tests.event_factories import EventFactory, RegistrationFactory
from tests.note_factories import NoteEntryFactory, ReplyFactory, TopicFactory, minutes_ago, room

pytestmark = pytest.mark.django_db

FLAGGED_BODY = "田中さんの件です。連絡先は090-1234-5678です。"


# --- the privacy guard -----------------------------------------------------------------


def test_note_privacy_guard_shows_findings_and_saves_nothing(contractor_member, client_for):
    url = reverse("note:topic_create", args=[room().pk])

    response = client_for(contractor_member).post(
        url, {"title": "連絡がつかない相談者", "body": FLAGGED_BODY}
    )
    html = response.content.decode()

    assert response.status_code == 200
    assert Topic.objects.count() == 0
    assert '<mark class="privacy-flag" title="人名">田中さん</mark>' in html
    assert '<mark class="privacy-flag" title="電話番号">090-1234-5678</mark>' in html
    assert "実在の人物についての内容ではありません" in html


def test_note_privacy_guard_confirmed_post_waits_for_review(
    contractor_member, municipal_member, secretariat, client_for
):
    url = reverse("note:topic_create", args=[room().pk])

    response = client_for(contractor_member).post(
        url,
        {"title": "連絡がつかない相談者", "body": FLAGGED_BODY, "confirm_not_real_person": "on"},
    )
    topic = Topic.objects.get()

    assert response.status_code == 302
    assert topic.state == PostState.PENDING
    assert topic.privacy_findings == "人名『田中さん』、電話番号『090-1234-5678』"
    # Invisible to other members: the room lists it not, its page answers 404.
    other = client_for(municipal_member)
    listed = other.get(reverse("note:room", args=[topic.room_id])).context["page_obj"]
    assert list(listed) == []
    assert other.get(topic.get_absolute_url()).status_code == 404
    # The author sees it, marked as waiting.
    own = client_for(contractor_member).get(topic.get_absolute_url()).content.decode()
    assert "事務局の確認待ちです" in own
    # The secretariat's queue lists it with the findings.
    queue = client_for(secretariat).get(reverse("note:manage_queue"))
    assert list(queue.context["topics"]) == [topic]
    assert "電話番号『090-1234-5678』" in queue.content.decode()


def test_note_privacy_review_approve_publishes(
    contractor_member, municipal_member, secretariat, client_for
):
    topic = services.post_topic(
        room=room(), by=contractor_member, title="確認", body=FLAGGED_BODY, privacy_confirmed=True
    )

    response = client_for(secretariat).post(
        reverse("note:approve", args=["topic", topic.pk]), {"next": "queue"}
    )
    topic.refresh_from_db()

    assert response["Location"] == reverse("note:manage_queue")
    assert (topic.state, topic.moderated_by) == (PostState.PUBLISHED, secretariat)
    assert client_for(municipal_member).get(topic.get_absolute_url()).status_code == 200


def test_note_privacy_guard_runs_in_the_service_too(contractor_member):
    with pytest.raises(services.NoteError) as refused:
        services.post_topic(room=room(), by=contractor_member, title="確認", body=FLAGGED_BODY)

    assert refused.value.code == "privacy"
    assert Topic.objects.count() == 0


def test_note_privacy_guard_checks_replies_and_tags(contractor_member):
    topic = TopicFactory()

    with pytest.raises(services.NoteError):
        services.post_reply(topic=topic, by=contractor_member, body="佐藤様に伝えました。")
    with pytest.raises(services.NoteError):
        services.post_topic(
            room=room(), by=contractor_member, title="タグ", body="本文", tags=["鈴木さん"]
        )
    reply = services.post_reply(
        topic=topic, by=contractor_member, body="60代の相談者が増えています。"
    )

    assert reply.state == PostState.PUBLISHED


# --- edit window and history -----------------------------------------------------------


def test_note_edit_within_window_keeps_a_revision(contractor_member, client_for, settings):
    settings.NOTE_EDIT_WINDOW_MINUTES = 30
    topic = TopicFactory(
        author=contractor_member, title="古い題", body="古い本文", created_at=minutes_ago(29)
    )

    response = client_for(contractor_member).post(
        reverse("note:topic_edit", args=[topic.pk]), {"title": "新しい題", "body": "新しい本文"}
    )
    topic.refresh_from_db()

    assert response.status_code == 302
    assert (topic.title, topic.body) == ("新しい題", "新しい本文")
    assert topic.edited_at is not None
    assert list(PostRevision.objects.values_list("topic", "title", "body")) == [
        (topic.pk, "古い題", "古い本文")
    ]


def test_note_edit_after_window_is_refused(contractor_member, client_for, settings):
    settings.NOTE_EDIT_WINDOW_MINUTES = 30
    topic = TopicFactory(author=contractor_member, body="古い本文", created_at=minutes_ago(31))
    reply = ReplyFactory(author=contractor_member, body="古い返信", created_at=minutes_ago(31))
    client = client_for(contractor_member)

    topic_response = client.post(
        reverse("note:topic_edit", args=[topic.pk]), {"title": "新しい題", "body": "新しい本文"}
    )
    reply_response = client.post(reverse("note:reply_edit", args=[reply.pk]), {"body": "新"})
    topic.refresh_from_db()
    reply.refresh_from_db()

    assert topic_response["Location"] == topic.get_absolute_url()
    assert reply_response["Location"] == reply.get_absolute_url()
    assert (topic.body, reply.body) == ("古い本文", "古い返信")
    assert PostRevision.objects.count() == 0
    with pytest.raises(services.NoteError):
        services.edit_reply(reply=reply, by=contractor_member, body="新")


def test_note_edit_window_follows_the_setting(contractor_member, settings):
    topic = TopicFactory(author=contractor_member, created_at=minutes_ago(45))

    settings.NOTE_EDIT_WINDOW_MINUTES = 30
    closed = access.may_edit_post(contractor_member, topic)
    settings.NOTE_EDIT_WINDOW_MINUTES = 60
    open_ = access.may_edit_post(contractor_member, topic)

    assert (closed, open_) == (False, True)


def test_note_edit_into_findings_goes_back_to_review(contractor_member, municipal_member):
    reply = ReplyFactory(author=contractor_member, body="最初の面談は短く。")

    services.edit_reply(
        reply=reply, by=contractor_member, body=FLAGGED_BODY, privacy_confirmed=True
    )

    assert reply.state == PostState.PENDING
    assert list(Reply.objects.visible_to(municipal_member)) == []


def test_note_only_the_author_edits(org_admin, contractor_member):
    topic = TopicFactory(author=contractor_member)

    with pytest.raises(services.NoteError):
        services.edit_topic(topic=topic, by=org_admin, title="乗っ取り", body="本文")
    topic.refresh_from_db()

    assert topic.title != "乗っ取り"


# --- hiding -------------------------------------------------------------------------------


def test_note_hide_needs_confirmation_and_a_reason(secretariat, client_for):
    topic = TopicFactory()
    url = reverse("note:hide", args=["topic", topic.pk])
    client = client_for(secretariat)

    page = client.get(url)
    empty = client.post(url, {"reason": ""})
    topic.refresh_from_db()

    assert "非表示にすると、ほかの会員にはこの投稿が表示されなくなります" in page.content.decode()
    assert empty.status_code == 200
    assert topic.state == PostState.PUBLISHED


def test_note_hidden_post_author_sees_reason_others_see_nothing(
    contractor_member, municipal_member, secretariat, client_for
):
    topic = TopicFactory(author=municipal_member)
    reply = ReplyFactory(topic=topic, author=contractor_member, body="この返信は消されます")

    client_for(secretariat).post(
        reverse("note:hide", args=["reply", reply.pk]), {"reason": "個人が特定される内容のため"}
    )
    reply.refresh_from_db()
    own = client_for(contractor_member).get(topic.get_absolute_url()).content.decode()
    other = client_for(municipal_member).get(topic.get_absolute_url()).content.decode()

    assert (reply.state, reply.hidden_reason) == (PostState.HIDDEN, "個人が特定される内容のため")
    assert "この返信は消されます" in own and "個人が特定される内容のため" in own
    assert "この返信は消されます" not in other and "個人が特定される内容のため" not in other


def test_note_restore_shows_the_post_again(municipal_member, secretariat, client_for):
    topic = TopicFactory(state=PostState.HIDDEN, hidden_reason="誤り")

    client_for(secretariat).post(reverse("note:restore", args=["topic", topic.pk]))
    topic.refresh_from_db()

    assert (topic.state, topic.hidden_reason) == (PostState.PUBLISHED, "")
    assert client_for(municipal_member).get(topic.get_absolute_url()).status_code == 200


# --- replies, resolution, follows ------------------------------------------------------


def test_note_reply_through_the_topic_page(municipal_member, client_for):
    topic = TopicFactory()

    response = client_for(municipal_member).post(
        topic.get_absolute_url(), {"body": "うちでは訪問から始めます。", "is_anonymous": "on"}
    )
    reply = Reply.objects.get()

    assert response["Location"] == reply.get_absolute_url()
    assert (reply.author, reply.is_anonymous, reply.author_org_kind) == (
        municipal_member,
        True,
        "municipality",
    )
    assert Follow.objects.filter(user=municipal_member, topic=topic).exists()


def test_note_asker_marks_the_resolving_replies(contractor_member, client_for):
    topic = TopicFactory(author=contractor_member)
    _first, second = ReplyFactory(topic=topic), ReplyFactory(topic=topic)

    client_for(contractor_member).post(
        reverse("note:topic_resolve", args=[topic.pk]), {"replies": [str(second.pk)]}
    )
    topic.refresh_from_db()

    assert topic.is_resolved and topic.resolved_by == contractor_member
    assert list(topic.replies.filter(is_resolution=True)) == [second]
    assert Topic.objects.unresolved().count() == 0
    client_for(contractor_member).post(reverse("note:topic_resolve", args=[topic.pk]), {})
    topic.refresh_from_db()
    assert not topic.is_resolved
    assert topic.replies.filter(is_resolution=True).count() == 0


def test_note_resolution_refuses_another_topics_reply(contractor_member):
    topic = TopicFactory(author=contractor_member)
    stranger = ReplyFactory()

    with pytest.raises(services.NoteError):
        services.mark_resolution(topic=topic, replies=[stranger], by=contractor_member)


def test_note_room_filters_unanswered_and_unresolved(contractor_member, client_for):
    unanswered = TopicFactory(title="未回答の相談")
    answered = TopicFactory(title="回答済みの相談")
    ReplyFactory(topic=answered)
    resolved = TopicFactory(title="解決した相談", resolved_at=timezone.now())
    ReplyFactory(topic=resolved, is_resolution=True)
    hidden_reply_only = TopicFactory(title="非表示の返信だけの相談")
    ReplyFactory(topic=hidden_reply_only, state=PostState.HIDDEN)
    client = client_for(contractor_member)
    url = reverse("note:room", args=[room().pk])

    def titles(**params):
        return {t.title for t in client.get(url, params).context["page_obj"]}

    assert titles(show="unanswered") == {unanswered.title, hidden_reply_only.title}
    assert titles(show="unresolved") == {
        unanswered.title,
        answered.title,
        hidden_reply_only.title,
    }
    assert titles(show="resolved") == {resolved.title}
    assert titles(q="解決") == {resolved.title}


def test_note_room_page_paginates_by_twenty(contractor_member, client_for):
    for n in range(21):
        TopicFactory(title=f"相談{n:02d}")

    response = client_for(contractor_member).get(reverse("note:room", args=[room().pk]))

    assert len(response.context["page_obj"]) == 20
    assert response.context["page_obj"].paginator.num_pages == 2


def test_note_follow_and_unfollow(municipal_member, client_for):
    topic = TopicFactory()
    url = reverse("note:topic_follow", args=[topic.pk])
    client = client_for(municipal_member)

    client.post(url)
    following = list(Follow.objects.values_list("user", "topic"))
    client.post(url, {"action": "unfollow"})

    assert following == [(municipal_member.pk, topic.pk)]
    assert Follow.objects.count() == 0


# --- rooms ---------------------------------------------------------------------------------


def test_note_default_rooms_exist_once_each():
    from network.models import Program

    counts = {kind: Room.objects.filter(kind=kind).count() for kind in RoomKind}

    assert counts == {
        RoomKind.NETWORK: 1,
        RoomKind.MUNICIPAL: 1,
        RoomKind.PROGRAM: Program.objects.count(),
        RoomKind.ROLE: 2,
        RoomKind.MEETING: 0,
    }


def test_note_meeting_room_only_for_a_meeting_that_is_over(secretariat, contractor_member):
    upcoming = EventFactory()
    held = EventFactory(
        starts_at=timezone.now() - datetime.timedelta(days=2),
        ends_at=timezone.now() - datetime.timedelta(days=2, hours=-3),
    )
    RegistrationFactory(event=held, user=contractor_member)

    with pytest.raises(services.NoteError):
        services.open_meeting_room(event=upcoming, by=secretariat)
    with pytest.raises(services.NoteError):
        services.open_meeting_room(event=held, by=contractor_member)
    meeting_room = services.open_meeting_room(event=held, by=secretariat)

    assert (meeting_room.kind, meeting_room.event, meeting_room.opened_by) == (
        RoomKind.MEETING,
        held,
        secretariat,
    )
    assert services.open_meeting_room(event=held, by=secretariat) == meeting_room
    assert access.may_post_in_room(contractor_member, meeting_room)


# --- the note --------------------------------------------------------------------------------


def _entry_form(**extra):
    data = {
        "title": "家計表は少しずつ",
        "summary": "初回は収入と固定費だけにする。",
        "functions": ["6", "4"],
        "check_people": "on",
        "check_case": "on",
        "check_authors": "on",
        "tags": "家計 初回面談",
    }
    data.update(extra)
    return data


def test_note_curate_a_resolved_topic(secretariat, client_for):
    topic = TopicFactory(resolved_at=timezone.now())
    ReplyFactory(topic=topic, is_resolution=True)

    response = client_for(secretariat).post(
        reverse("note:entry_create", args=[topic.pk]), _entry_form()
    )
    entry = NoteEntry.objects.get()

    assert response["Location"] == entry.get_absolute_url()
    assert (entry.source_topic, entry.curator, entry.state) == (
        topic,
        secretariat,
        PostState.PUBLISHED,
    )
    assert [f.value for f in entry.functions] == [4, 6]
    assert sorted(entry.tags.values_list("name", flat=True)) == ["初回面談", "家計"]
    assert entry.reviewed_on == timezone.localdate()


def test_note_curate_needs_every_anonymisation_check(secretariat, client_for):
    topic = TopicFactory(resolved_at=timezone.now())

    response = client_for(secretariat).post(
        reverse("note:entry_create", args=[topic.pk]), _entry_form(check_case="")
    )

    assert response.status_code == 200
    assert "check_case" in response.context["form"].errors
    assert NoteEntry.objects.count() == 0


def test_note_curate_refuses_an_unresolved_topic(secretariat, client_for):
    topic = TopicFactory()

    response = client_for(secretariat).post(
        reverse("note:entry_create", args=[topic.pk]), _entry_form()
    )

    assert response.status_code == 404
    assert NoteEntry.objects.count() == 0


def test_note_curator_may_curate_but_not_moderate(contractor_member, client_for):
    from tests.note_factories import CuratorFactory

    CuratorFactory(user=contractor_member)
    topic = TopicFactory(resolved_at=timezone.now())
    client = client_for(contractor_member)

    created = client.post(reverse("note:entry_create", args=[topic.pk]), _entry_form())
    queue = client.get(reverse("note:manage_queue"))

    assert created.status_code == 302
    assert NoteEntry.objects.get().curator == contractor_member
    assert queue.status_code == 404


def test_note_entries_past_review_period_are_flagged(secretariat, client_for, settings):
    settings.NOTE_REVIEW_MONTHS = 12
    today = timezone.localdate()
    old = NoteEntryFactory(title="古い記事", reviewed_on=today - datetime.timedelta(days=370))
    fresh = NoteEntryFactory(title="新しい記事", reviewed_on=today - datetime.timedelta(days=300))

    queue = client_for(secretariat).get(reverse("note:manage_queue"))
    listing = client_for(secretariat).get(reverse("note:entries"))
    flags = {e.title: e.show_review_flag for e in listing.context["page_obj"]}

    assert list(queue.context["due"]) == [old]
    assert (old.needs_review(), fresh.needs_review()) == (True, False)
    assert flags == {"古い記事": True, "新しい記事": False}
    client_for(secretariat).post(reverse("note:entry_reviewed", args=[old.pk]))
    old.refresh_from_db()
    assert old.reviewed_on == today
    assert list(NoteEntry.objects.due_for_review()) == []


def test_note_entries_browse_by_program_function_region(contractor_member, client_for):
    from tests.factories import program, region

    budget = NoteEntryFactory(title="家計の記事", functions=[6])
    budget.programs.add(program("kakei_kaizen"))
    training = NoteEntryFactory(title="研修の記事", functions=[4])
    training.regions.add(region("石狩振興局"))
    client = client_for(contractor_member)
    url = reverse("note:entries")

    def titles(**params):
        return {e.title for e in client.get(url, params).context["page_obj"]}

    assert titles(program=program("kakei_kaizen").pk) == {"家計の記事"}
    assert titles(function="4") == {"研修の記事"}
    assert titles(region=region("石狩振興局").pk) == {"研修の記事"}
    assert titles(q="家計") == {"家計の記事"}
    assert titles() == {"家計の記事", "研修の記事"}
    assert client.get(url, {"function": "9"}).context["filter"].errors


def test_note_casebook_of_a_year_with_table_of_contents(contractor_member, client_for):
    first = NoteEntryFactory(title="一つ目の事例")
    second = NoteEntryFactory(title="二つ目の事例")
    NoteEntryFactory(title="非表示の事例", state=PostState.HIDDEN)
    html = (
        client_for(contractor_member)
        .get(reverse("note:casebook", args=[first.fiscal_year]))
        .content.decode()
    )

    toc = html[
        html.index('class="casebook-toc"') : html.index("</nav>", html.index("casebook-toc"))
    ]
    assert f'href="#entry-{first.pk}">一つ目の事例' in toc
    assert f'href="#entry-{second.pk}">二つ目の事例' in toc
    assert "非表示の事例" not in html
    assert html.count('class="casebook-entry"') == 2
    assert " style=" not in html and "<script>" not in html


def test_note_tags_parse_spaces_commas_and_hashes():
    assert services.parse_tags(" 家計, 初任者、#就労　家計 ") == ["家計", "初任者", "就労"]
    assert len(services.parse_tags(" ".join(f"t{n}" for n in range(15)))) == 10


def test_note_preferences_opt_out(contractor_member, client_for):
    from note.models import NotePreference

    client_for(contractor_member).post(reverse("note:settings"), {})

    assert NotePreference.objects.get(user=contractor_member).wants_digest is False


def test_note_curators_named_and_removed_by_the_secretariat(
    secretariat, contractor_member, outsider, client_for
):
    from note.models import Curator

    client = client_for(secretariat)
    client.post(reverse("note:manage_curators"), {"email": outsider.email})
    client.post(reverse("note:manage_curators"), {"email": contractor_member.email})
    curator = Curator.objects.get()

    assert (curator.user, curator.added_by) == (contractor_member, secretariat)
    client.post(reverse("note:curator_remove", args=[curator.pk]))
    assert Curator.objects.count() == 0


def test_note_long_topic_pages_its_replies_and_a_reply_link_opens_its_page(
    contractor_member, municipal_member, client_for
):
    from note.views.member import REPLIES_PER_PAGE

    from .note_factories import ReplyFactory, TopicFactory

    topic = TopicFactory(author=municipal_member)
    replies = [ReplyFactory(topic=topic, body=f"返信その{n}") for n in range(REPLIES_PER_PAGE + 3)]
    client = client_for(contractor_member)

    first = client.get(topic.get_absolute_url())
    assert len(first.context["replies"]) == REPLIES_PER_PAGE
    assert f"返信 {REPLIES_PER_PAGE + 3} 件" in first.content.decode()
    assert "1 / 2 ページ" in first.content.decode()
    # A reply's own link (mails, the review queue) opens the page that holds it.
    last = replies[-1]
    opened = client.get(last.get_absolute_url().split("#")[0])
    assert last in opened.context["replies"] and opened.context["page_obj"].number == 2
    assert '<ol class="reply-list" start="51">' in opened.content.decode()
    # Posting lands on the new reply's page.
    posted = client.post(topic.get_absolute_url(), {"body": "新しい返信です。"})
    new = topic.replies.order_by("-pk").first()
    assert posted.url == new.get_absolute_url()
    assert client.get(posted.url.split("#")[0]).context["page_obj"].number == 2
    # A reply id that is not this topic's, or junk, opens page 1.
    assert client.get(topic.get_absolute_url(), {"reply": "x"}).context["page_obj"].number == 1
    assert client.get(topic.get_absolute_url(), {"reply": 999999}).context["page_obj"].number == 1
    for junk in ("-1", "0", str(2**64), "１２"):
        response = client.get(topic.get_absolute_url(), {"reply": junk})
        assert response.status_code == 200 and response.context["page_obj"].number == 1
