"""Factories for the note app (board and note), shared by every note test.

Rooms come from the migration (note/rooms.py); `room(kind, key)` picks one.
TopicFactory makes a published topic in the network room by a fresh member;
ReplyFactory a published reply. Both sign the post like the services do
(author organisation and its kind), and write its search document as the
services do (note.search), so that a search finds what a factory made.
"""

import datetime

import factory
from django.utils import timezone

from core.dates import fiscal_year_of
from note import search
from note.enums import RoomKind
from note.models import Curator, NoteEntry, Reply, Room, Topic

from .factories import MembershipFactory


def room(kind=RoomKind.NETWORK, key=None) -> Room:
    if kind == RoomKind.PROGRAM:
        return Room.objects.get(kind=kind, program__key=key)
    if kind == RoomKind.ROLE:
        return Room.objects.get(kind=kind, role=key)
    return Room.objects.get(kind=kind)


def _member():
    return MembershipFactory().user


def _org_of(user):
    membership = user.memberships.select_related("organisation").order_by("pk").first()
    return membership.organisation if membership else None


class _PostFactory(factory.django.DjangoModelFactory):
    author = factory.LazyFunction(_member)
    author_org = factory.LazyAttribute(lambda o: _org_of(o.author))
    author_org_kind = factory.LazyAttribute(lambda o: o.author_org.kind if o.author_org else "")
    is_anonymous = False
    state = Topic.State.PUBLISHED


class TopicFactory(_PostFactory):
    class Meta:
        model = Topic

    room = factory.LazyFunction(room)
    title = factory.Sequence(lambda n: f"就労準備支援の進め方について{n}")
    body = "はじめての利用者さんとの面談の進め方を教えてください。"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        topic = super()._create(model_class, *args, **kwargs)
        search.index_topic(topic)
        return topic


class ReplyFactory(_PostFactory):
    class Meta:
        model = Reply

    topic = factory.SubFactory(TopicFactory)
    body = "うちでは最初の面談を短めにしています。"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        reply = super()._create(model_class, *args, **kwargs)
        search.index_topic(reply.topic)
        return reply


class NoteEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NoteEntry
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"面談の工夫{n}")
    summary = "最初の面談は短く、次の約束をして終える。"
    curator = None
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyAttribute(lambda o: o.created_at)
    fiscal_year = factory.LazyAttribute(lambda o: fiscal_year_of(o.created_at))
    reviewed_on = factory.LazyAttribute(lambda o: timezone.localdate(o.created_at))
    anonymisation_checked = True

    @factory.post_generation
    def functions(self, create, extracted, **kwargs):
        from note import services

        if create:
            services._set_functions(self, extracted or [6])
            search.index_entry(self)


class CuratorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Curator

    user = factory.LazyFunction(_member)


def minutes_ago(n: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(minutes=n)


# --- the note world: one of every room, post state and actor role -----------------


class NoteWorld:
    """Rooms, posts and entries the access tests point at (see `build_world`)."""

    def __init__(self, **objects):
        self.__dict__.update(objects)


def build_world(
    *, contractor_org, municipal_org, contractor_member, municipal_member, org_admin, secretariat
):
    """The named actors made distinct for the rooms:
    - contractor_member: 相談支援員, 1〜3年 (初任者), attended the finished meeting;
    - org_admin: 主任相談支援員, 10年以上;
    - municipal_member: 行政担当者, 3〜5年, cancelled the finished meeting;
    - the contractor organisation runs 家計改善支援事業, the 自治体 none.
    """
    from datetime import timedelta

    from events.enums import EventStatus
    from events.models import Registration
    from network.enums import Experience, StaffRole
    from note import services
    from note.enums import RoomRole

    from .event_factories import EventFactory, RegistrationFactory
    from .factories import program

    contractor_member.memberships.update(staff_role=StaffRole.SODAN, experience=Experience.Y1_3)
    org_admin.memberships.update(staff_role=StaffRole.SHUNIN_SODAN, experience=Experience.OVER_10)
    municipal_member.memberships.update(staff_role=StaffRole.GYOSEI, experience=Experience.Y3_5)
    contractor_org.programs.add(program("kakei_kaizen"))
    now = timezone.now()
    finished = EventFactory(
        title="第1回 情報交換会（終了）",
        status=EventStatus.FINISHED,
        starts_at=now - timedelta(days=10),
        ends_at=now - timedelta(days=10, hours=-3),
    )
    RegistrationFactory(event=finished, user=contractor_member)
    RegistrationFactory(event=finished, user=municipal_member, status=Registration.Status.CANCELLED)
    meeting_room = services.open_meeting_room(event=finished, by=secretariat)
    other_finished = EventFactory(
        title="第2回 情報交換会（終了）",
        status=EventStatus.FINISHED,
        starts_at=now - timedelta(days=5),
        ends_at=now - timedelta(days=5, hours=-3),
    )
    rooms = {
        "network_room": room(RoomKind.NETWORK),
        "municipal_room": room(RoomKind.MUNICIPAL),
        "program_room": room(RoomKind.PROGRAM, "kakei_kaizen"),
        "unrun_program_room": room(RoomKind.PROGRAM, "kodomo_gakushu"),
        "chief_room": room(RoomKind.ROLE, RoomRole.CHIEF),
        "newcomer_room": room(RoomKind.ROLE, RoomRole.NEWCOMER),
        "meeting_room": meeting_room,
    }
    topic = TopicFactory(
        room=rooms["network_room"], author=contractor_member, title="家計表の使い方"
    )
    reply = ReplyFactory(topic=topic, author=contractor_member, body="自分で補足します。")
    other_reply = ReplyFactory(topic=topic, author=org_admin, body="最初は固定費だけで。")
    resolved = TopicFactory(
        room=rooms["network_room"],
        author=municipal_member,
        title="解決した相談",
        resolved_at=now,
    )
    ReplyFactory(topic=resolved, author=org_admin, is_resolution=True)
    entry = NoteEntryFactory(
        title="家計表は最初から全部を求めない",
        curator=secretariat,
        source_topic=resolved,
        reviewed_on=timezone.localdate() - timedelta(days=400),
    )
    return NoteWorld(
        **rooms,
        finished_event=finished,
        other_finished_event=other_finished,
        topic=topic,
        reply=reply,
        other_reply=other_reply,
        resolved_topic=resolved,
        municipal_topic=TopicFactory(room=rooms["municipal_room"], author=municipal_member),
        meeting_topic=TopicFactory(room=rooms["meeting_room"], author=contractor_member),
        hidden_topic=TopicFactory(
            author=contractor_member, state=Topic.State.HIDDEN, hidden_reason="個人情報"
        ),
        pending_topic=TopicFactory(author=contractor_member, state=Topic.State.PENDING),
        anonymous_topic=TopicFactory(author=contractor_member, is_anonymous=True),
        entry=entry,
        pending_entry=NoteEntryFactory(curator=secretariat, state=NoteEntry.State.PENDING),
        curator=CuratorFactory(),
    )


def admin_matrix_objects(contractor_member, secretariat) -> dict:
    """One row of every note model the admin shows, for tests/test_admin_matrix.py
    (`_objects`: `**admin_matrix_objects(contractor_member, secretariat)`)."""
    from note import services
    from note.models import (
        AuthorLookup,
        DigestRun,
        Follow,
        NotePreference,
        PostRevision,
        Tag,
    )

    topic = TopicFactory(author=contractor_member, is_anonymous=True, title="相談（秘）")
    reply = ReplyFactory(topic=topic)
    entry = NoteEntryFactory(curator=secretariat, source_topic=topic)
    lookup = services.look_up_author(post=topic, by=secretariat, reason="確認")
    return {
        Room: room(),
        Tag: Tag.objects.create(name="家計"),
        Topic: topic,
        Reply: reply,
        PostRevision: PostRevision.objects.create(topic=topic, title="前の題", body="前の本文"),
        AuthorLookup: AuthorLookup.objects.get(pk=lookup.pk),
        Follow: Follow.objects.create(user=contractor_member, topic=topic),
        NotePreference: NotePreference.objects.create(user=contractor_member),
        Curator: CuratorFactory(),
        DigestRun: DigestRun.objects.create(week="2024-W07", queued=3),
        NoteEntry: entry,
    }
