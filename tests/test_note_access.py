"""Who may read, post and moderate on the board (note/access.py), as units
over the named actors and every room kind, and as a matrix of every note URL
× every actor, GET and POST (the shape of tests/test_access_matrix.py: a
forbidden POST answers 404, or the login page, and changes nothing).

Two more actors are checked on every row without a column of their own, as in
the portal's matrix: a deactivated former secretariat member fares like the
anonymous visitor, the admin of a deactivated organisation like the outsider.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from core.dates import current_fiscal_year
from note import access
from note.models import Room
from tests import snapshots
from tests.conftest import ACTOR_NAMES
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory
from tests.note_factories import build_world

pytestmark = pytest.mark.django_db

#        anon outsider contractor municipal org_admin committee secretariat superuser
MEMBERS = (302, 404, 200, 200, 200, 200, 200, 200)
MUNICIPAL_ROOM = (302, 404, 404, 200, 404, 200, 200, 200)
PROGRAM_ROOM = (302, 404, 200, 404, 200, 404, 200, 200)  # the 受託団体 runs the program
UNRUN_PROGRAM_ROOM = (302, 404, 404, 404, 404, 404, 200, 200)
CHIEF_ROOM = (302, 404, 404, 404, 200, 404, 200, 200)  # the org admin is 主任相談支援員
NEWCOMER_ROOM = (302, 404, 200, 404, 404, 404, 200, 200)  # the 受託団体 member: 1〜3年
MEETING_ROOM = (302, 404, 200, 404, 404, 404, 200, 200)  # the 受託団体 member attended
OWNER_ONLY = (302, 404, 200, 404, 404, 404, 404, 404)  # the author: the 受託団体 member
OWNER_AND_SECRETARIAT = (302, 404, 200, 404, 404, 404, 200, 200)
SECRETARIAT = (302, 404, 404, 404, 404, 404, 200, 200)
MEMBERS_POST_ONLY = (302, 404, 405, 405, 405, 405, 405, 405)
SECRETARIAT_POST_ONLY = (302, 404, 404, 404, 404, 404, 405, 405)

MIRRORED = {"inactive_user": "anonymous", "inactive_org_admin": "outsider"}
LOGGED_OUT = {"anonymous", "inactive_user"}


def columns(expected):
    named = dict(zip(ACTOR_NAMES, expected, strict=True))
    return [*named.items(), *((actor, named[like]) for actor, like in MIRRORED.items())]


@pytest.fixture
def world(
    contractor_org, municipal_org, contractor_member, municipal_member, org_admin, secretariat
):
    return build_world(
        contractor_org=contractor_org,
        municipal_org=municipal_org,
        contractor_member=contractor_member,
        municipal_member=municipal_member,
        org_admin=org_admin,
        secretariat=secretariat,
    )


@pytest.fixture
def people(actors):
    inactive_user = UserFactory(
        email="former@example.org", full_name="退職 六郎", groups=["secretariat"], is_active=False
    )
    inactive_org = OrganisationFactory(name="解散した相談室", is_active=False)
    inactive_org_admin = MembershipFactory(
        organisation=inactive_org, is_org_admin=True, user__email="closed-admin@example.org"
    ).user
    return {**actors, "inactive_user": inactive_user, "inactive_org_admin": inactive_org_admin}


# --- the rules as units ---------------------------------------------------------------

READERS = {
    # room -> the actors who read it
    "network_room": {
        "contractor_member",
        "municipal_member",
        "org_admin",
        "committee",
        "secretariat",
        "superuser",
    },
    "municipal_room": {"municipal_member", "committee", "secretariat", "superuser"},
    "program_room": {"contractor_member", "org_admin", "secretariat", "superuser"},
    "unrun_program_room": {"secretariat", "superuser"},
    "chief_room": {"org_admin", "secretariat", "superuser"},
    "newcomer_room": {"contractor_member", "secretariat", "superuser"},
    "meeting_room": {"contractor_member", "secretariat", "superuser"},
}


@pytest.mark.parametrize("room_name", sorted(READERS))
def test_note_access_may_read_room_per_kind_and_actor(room_name, world, people):
    the_room = getattr(world, room_name)

    readers = {name for name, user in people.items() if access.may_read_room(user, the_room)}

    assert readers == READERS[room_name]


@pytest.mark.parametrize("actor", [*ACTOR_NAMES, *MIRRORED])
def test_note_access_visible_rooms_agree_with_may_read_room(actor, world, people):
    """The queryset scope (many rooms) and the predicate (one room) are one rule."""
    user = people[actor]
    named = {name: getattr(world, name) for name in READERS}

    visible = set(Room.objects.visible_to(user).filter(pk__in=[r.pk for r in named.values()]))

    assert visible == {r for r in named.values() if access.may_read_room(user, r)}
    assert visible == {r for name, r in named.items() if actor in READERS[name]}


def test_note_access_archived_room_takes_no_posts_from_anyone(world, people):
    the_room = world.network_room
    the_room.is_archived = True
    the_room.save()

    posters = {name for name, user in people.items() if access.may_post_in_room(user, the_room)}
    readers = {name for name, user in people.items() if access.may_read_room(user, the_room)}

    assert posters == set()
    assert readers == READERS["network_room"]


def test_note_access_leaving_the_organisation_closes_its_program_room(world, contractor_member):
    assert access.may_read_room(contractor_member, world.program_room)
    contractor_member.memberships.update(organisation=OrganisationFactory(name="別の団体"))
    access.forget(contractor_member)

    assert not access.may_read_room(contractor_member, world.program_room)


def test_note_access_checked_in_meeting_counts_only_attended(world, contractor_member):
    """present_q: once check-in was used, a confirmed person who was not
    marked attended is not an attendee and loses the meeting room."""
    from tests.event_factories import RegistrationFactory

    RegistrationFactory(event=world.finished_event, attended=True)
    access.forget(contractor_member)

    assert not access.may_read_room(contractor_member, world.meeting_room)


def test_note_access_post_visibility_per_state(world, people):
    """Hidden and pending posts: their author and the secretariat only."""
    from note.models import Topic

    seen = {
        name: set(
            Topic.objects.visible_to(user)
            .filter(pk__in=[world.hidden_topic.pk, world.pending_topic.pk, world.topic.pk])
            .values_list("title", flat=True)
        )
        for name, user in people.items()
    }
    everything = {world.hidden_topic.title, world.pending_topic.title, world.topic.title}
    assert seen == {
        "anonymous": set(),
        "outsider": set(),
        "contractor_member": everything,  # the author of all three
        "municipal_member": {world.topic.title},
        "org_admin": {world.topic.title},
        "committee": {world.topic.title},
        "secretariat": everything,
        "superuser": everything,
        "inactive_user": set(),
        "inactive_org_admin": set(),
    }


def test_note_access_only_the_secretariat_looks_up_authors(world, people):
    allowed = {
        name
        for name, user in people.items()
        if access.may_look_up_author(user, world.anonymous_topic)
    }
    named_topic = {
        name for name, user in people.items() if access.may_look_up_author(user, world.topic)
    }

    assert allowed == {"secretariat", "superuser"}
    assert named_topic == set()  # a signed post has nothing to look up


# --- every note URL × every actor ---------------------------------------------------------


def _targets(world) -> dict:
    kind = lambda kind, obj: {"kind": kind, "pk": obj.pk}  # noqa: E731
    return {
        None: {},
        **{name: {"pk": getattr(world, name).pk} for name in READERS},
        "topic": {"pk": world.topic.pk},
        "municipal_topic": {"pk": world.municipal_topic.pk},
        "meeting_topic": {"pk": world.meeting_topic.pk},
        "hidden_topic": {"pk": world.hidden_topic.pk},
        "pending_topic": {"pk": world.pending_topic.pk},
        "reply": {"pk": world.reply.pk},
        "resolved_topic": {"topic_pk": world.resolved_topic.pk},
        "entry": {"pk": world.entry.pk},
        "pending_entry": {"pk": world.pending_entry.pk},
        "fy": {"fiscal_year": current_fiscal_year()},
        "curator": {"pk": world.curator.pk},
        "topic_kind": kind("topic", world.topic),
        "pending_topic_kind": kind("topic", world.pending_topic),
        "hidden_topic_kind": kind("topic", world.hidden_topic),
        "anonymous_topic_kind": kind("topic", world.anonymous_topic),
    }


MATRIX = [
    ("note:home", None, MEMBERS),
    ("note:room", "network_room", MEMBERS),
    ("note:room", "municipal_room", MUNICIPAL_ROOM),
    ("note:room", "program_room", PROGRAM_ROOM),
    ("note:room", "unrun_program_room", UNRUN_PROGRAM_ROOM),
    ("note:room", "chief_room", CHIEF_ROOM),
    ("note:room", "newcomer_room", NEWCOMER_ROOM),
    ("note:room", "meeting_room", MEETING_ROOM),
    ("note:topic_create", "network_room", MEMBERS),
    ("note:topic_create", "municipal_room", MUNICIPAL_ROOM),
    ("note:topic_create", "chief_room", CHIEF_ROOM),
    ("note:topic_create", "meeting_room", MEETING_ROOM),
    ("note:topic", "topic", MEMBERS),
    ("note:topic", "municipal_topic", MUNICIPAL_ROOM),
    ("note:topic", "meeting_topic", MEETING_ROOM),
    ("note:topic", "hidden_topic", OWNER_AND_SECRETARIAT),
    ("note:topic", "pending_topic", OWNER_AND_SECRETARIAT),
    ("note:topic_edit", "topic", OWNER_ONLY),
    ("note:topic_history", "topic", OWNER_AND_SECRETARIAT),
    ("note:topic_resolve", "topic", OWNER_AND_SECRETARIAT),
    ("note:topic_follow", "topic", MEMBERS_POST_ONLY),
    ("note:reply_edit", "reply", OWNER_ONLY),
    ("note:reply_history", "reply", OWNER_AND_SECRETARIAT),
    ("note:mine", None, MEMBERS),
    ("note:search", None, MEMBERS),
    ("note:settings", None, MEMBERS),
    ("note:entries", None, MEMBERS),
    ("note:entry", "entry", MEMBERS),
    ("note:entry", "pending_entry", SECRETARIAT),
    ("note:entry_edit", "entry", SECRETARIAT),
    ("note:entry_reviewed", "entry", SECRETARIAT_POST_ONLY),
    ("note:entry_create", "resolved_topic", SECRETARIAT),
    ("note:casebook", "fy", MEMBERS),
    ("note:manage_queue", None, SECRETARIAT),
    ("note:manage_rooms", None, SECRETARIAT),
    ("note:manage_curators", None, SECRETARIAT),
    ("note:curator_remove", "curator", SECRETARIAT),
    ("note:export", None, SECRETARIAT),
    ("note:approve", "pending_topic_kind", SECRETARIAT_POST_ONLY),
    ("note:hide", "topic_kind", SECRETARIAT),
    ("note:restore", "hidden_topic_kind", SECRETARIAT),
    ("note:author", "anonymous_topic_kind", SECRETARIAT),
]


def _note_url_names(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    names = set()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            names |= _note_url_names(entry, ns)
        elif isinstance(entry, URLPattern) and entry.name and prefix == "note:":
            names.add(prefix + entry.name)
    return names


def test_note_every_url_has_a_row():
    assert _note_url_names() - {name for name, _t, _e in MATRIX} == set()


@pytest.mark.parametrize(
    "url_name,target,expected", MATRIX, ids=[f"{n}[{t or '-'}]" for n, t, _e in MATRIX]
)
def test_note_access_matrix(url_name, target, expected, world, people, client_for):
    url = reverse(url_name, kwargs=_targets(world)[target])
    failures = []
    for actor, status in columns(expected):
        response = client_for(people[actor]).get(url)
        if response.status_code != status:
            failures.append(f"{actor}: expected {status}, got {response.status_code}")
        elif status == 302 and actor in LOGGED_OUT:
            assert "/login/" in response["Location"], (actor, response["Location"])
    assert not failures, f"{url}: " + "; ".join(failures)


# --- POST: a forbidden actor changes nothing ----------------------------------------------------


@dataclass(frozen=True)
class Writes:
    status: int

    def __repr__(self):
        return f"{self.status}+write"


W200, W302 = Writes(200), Writes(302)
MEMBERS_WRITE = (302, 404, W302, W302, W302, W302, W302, W302)
MUNICIPAL_WRITES = (302, 404, 404, W302, 404, W302, W302, W302)
MEETING_WRITES = (302, 404, W302, 404, 404, 404, W302, W302)
OWNER_WRITES = (302, 404, W302, 404, 404, 404, 404, 404)
OWNER_AND_SECRETARIAT_WRITE = (302, 404, W302, 404, 404, 404, W302, W302)
SECRETARIAT_WRITES = (302, 404, 404, 404, 404, 404, W302, W302)
SECRETARIAT_WRITES_200 = (302, 404, 404, 404, 404, 404, W200, W200)


@dataclass(frozen=True)
class Post:
    url_name: str
    target: str | None
    outcomes: tuple
    data: Callable = field(default=lambda world: {})


def _topic_data(world):
    return {"title": "初回面談の進め方", "body": "面談の最初に何を聞いていますか。"}


def _entry_data(world):
    return {
        "title": "家計表は少しずつ",
        "summary": "初回は収入と固定費だけにする。",
        "functions": ["6"],
        "check_people": "on",
        "check_case": "on",
        "check_authors": "on",
    }


POST_MATRIX = [
    Post("note:topic_create", "network_room", MEMBERS_WRITE, _topic_data),
    Post("note:topic_create", "municipal_room", MUNICIPAL_WRITES, _topic_data),
    Post("note:topic", "topic", MEMBERS_WRITE, lambda w: {"body": "ありがとうございます。"}),
    Post("note:topic", "meeting_topic", MEETING_WRITES, lambda w: {"body": "続きを話しましょう。"}),
    Post("note:topic_edit", "topic", OWNER_WRITES, _topic_data),
    Post(
        "note:topic_resolve",
        "topic",
        OWNER_AND_SECRETARIAT_WRITE,
        lambda w: {"replies": [str(w.other_reply.pk)]},
    ),
    Post("note:topic_follow", "topic", MEMBERS_WRITE),
    Post("note:reply_edit", "reply", OWNER_WRITES, lambda w: {"body": "書き直しました。"}),
    Post("note:settings", None, MEMBERS_WRITE, lambda w: {}),
    Post("note:entry_edit", "entry", SECRETARIAT_WRITES, _entry_data),
    Post("note:entry_reviewed", "entry", SECRETARIAT_WRITES),
    Post("note:entry_create", "resolved_topic", SECRETARIAT_WRITES, _entry_data),
    Post(
        "note:manage_rooms",
        None,
        SECRETARIAT_WRITES,
        lambda w: {"event": str(w.other_finished_event.pk)},
    ),
    Post(
        "note:manage_curators",
        None,
        SECRETARIAT_WRITES,
        lambda w: {"email": "city@example.org"},
    ),
    Post("note:curator_remove", "curator", SECRETARIAT_WRITES),
    Post("note:approve", "pending_topic_kind", SECRETARIAT_WRITES),
    Post("note:hide", "topic_kind", SECRETARIAT_WRITES, lambda w: {"reason": "重複した投稿"}),
    Post("note:restore", "hidden_topic_kind", SECRETARIAT_WRITES),
    Post(
        "note:author",
        "anonymous_topic_kind",
        SECRETARIAT_WRITES_200,
        lambda w: {"reason": "削除依頼の確認"},
    ),
]


def test_note_post_matrix_covers_every_url_that_takes_posts(world, people, client_for):
    """Every note URL answering a POST with anything but 405 has a POST row."""
    from django.db import transaction

    posted = {row.url_name for row in POST_MATRIX}
    first = {}
    for name, target, _expected in MATRIX:
        first.setdefault(name, target)
    missing = []
    for url_name, target in sorted(first.items()):
        client = client_for(people["superuser"])
        savepoint = transaction.savepoint()
        try:
            status = client.post(reverse(url_name, kwargs=_targets(world)[target]), {}).status_code
        finally:
            transaction.savepoint_rollback(savepoint)
        if status != 405 and url_name not in posted:
            missing.append(f"{url_name} ({status})")
    assert missing == []


@pytest.mark.parametrize(
    "row", POST_MATRIX, ids=[f"{row.url_name}[{row.target or '-'}]" for row in POST_MATRIX]
)
def test_note_post_matrix(row, world, people, client_for):
    from django.db import transaction

    url = reverse(row.url_name, kwargs=_targets(world)[row.target])
    failures = []
    for actor, outcome in columns(row.outcomes):
        client = client_for(people[actor])
        savepoint = transaction.savepoint()
        try:
            before = snapshots.take()
            response = client.post(url, row.data(world))
            changed = snapshots.take().changes_from(before)
        finally:
            transaction.savepoint_rollback(savepoint)
        writes = isinstance(outcome, Writes)
        status = outcome.status if writes else outcome
        if response.status_code != status or writes != bool(changed):
            errors = ""
            form = (response.context or {}).get("form") if response.context else None
            if form is not None and form.errors:
                errors = f" {dict(form.errors)}"
            failures.append(
                f"{actor}: expected {outcome!r}, got {response.status_code} {changed}{errors}"
            )
        elif status == 302 and not writes and actor in LOGGED_OUT:
            if "/login/" not in response["Location"]:
                failures.append(f"{actor}: sent to {response['Location']}")
    assert not failures, f"POST {url}: " + "; ".join(failures)


def test_note_room_of_another_kind_answers_404_not_403(world, client_for, contractor_member):
    """Nothing tells an outsider of the room that it exists."""
    response = client_for(contractor_member).get(reverse("note:room", args=[world.chief_room.pk]))

    assert response.status_code == 404
    assert world.chief_room.name not in response.content.decode()


def test_note_rooms_listed_are_exactly_the_readable_ones(world, people, client_for):
    listed = {}
    for actor in ("contractor_member", "municipal_member", "org_admin", "committee"):
        response = client_for(people[actor]).get(reverse("note:home"))
        listed[actor] = {r.pk for r in response.context["rooms"]}
    named = {name: getattr(world, name).pk for name in READERS}
    # The default rooms not in READERS (other programs) are read by nobody here.
    for actor, pks in listed.items():
        assert pks & set(named.values()) == {
            pk for name, pk in named.items() if actor in READERS[name]
        }
        assert pks - set(named.values()) == set(), actor
