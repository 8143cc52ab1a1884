"""Who may read, post and moderate on the board and in the note (DESIGN §4).
Every note rule lives here; views and templates ask these functions, and the
scoped querysets (note/querysets.py) filter with them.

Rooms:
- ネットワーク全体: every member (staff of an active organisation, the
  committee, the secretariat);
- 自治体のみ: 自治体 members, the committee and the secretariat (the §4 row
  「自治体-only events and topics」, network.access.is_municipal_member);
- a program room: members of an active organisation that runs the program;
- a role room: members whose membership (of an active organisation) has the
  role — 主任相談支援員 by staff role, 初任者 by experience band (enums);
- a meeting's follow-up room: the people counted present at the meeting
  (events.querysets.present_q, the one rule of who came).
The secretariat reads and moderates every room; the committee reads the rooms
its members belong to like anyone else (no program, role or meeting room by
office). A room one may not read answers 404, and so does everything in it.

Posts: others see published posts only; the author also sees their own
pending and hidden ones (with the reason), the secretariat sees all. Nobody
but the secretariat learns who wrote an anonymous post, and only through the
logged 「投稿者を確認」 (services.look_up_author).

The user's programs and roles are read once per request (one query) and kept
on the user object, like network.access.roles. This module imports no note
models (querysets import it, models import querysets).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q

from network import access as network_access
from network.access import require
from network.models import Organisation

from .enums import (
    CHIEF_STAFF_ROLES,
    NEWCOMER_EXPERIENCE,
    PostState,
    RoomKind,
    RoomRole,
)

_REACH_ATTR = "_tsunagari_note_reach"
_CURATOR_ATTR = "_tsunagari_note_curator"


@dataclass(frozen=True)
class Reach:
    """What puts a user in program and role rooms (active organisations only)."""

    program_ids: frozenset = field(default_factory=frozenset)
    room_roles: frozenset = field(default_factory=frozenset)


def _active(user) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def reach(user) -> Reach:
    if not _active(user):
        return Reach()
    cached = getattr(user, _REACH_ATTR, None)
    if cached is not None:
        return cached
    # One query: each membership of an active organisation with each program
    # the organisation runs (a NULL program for one that runs none).
    rows = user.memberships.filter(organisation__is_active=True).values_list(
        "staff_role", "experience", "organisation__programs"
    )
    programs, roles = set(), set()
    for staff_role, experience, program_id in rows:
        if program_id is not None:
            programs.add(program_id)
        if staff_role in CHIEF_STAFF_ROLES:
            roles.add(RoomRole.CHIEF)
        if experience in NEWCOMER_EXPERIENCE:
            roles.add(RoomRole.NEWCOMER)
    result = Reach(program_ids=frozenset(programs), room_roles=frozenset(roles))
    setattr(user, _REACH_ATTR, result)
    return result


def forget(user) -> None:
    """Drop the per-request caches (after changing memberships or curators)."""
    for attr in (_REACH_ATTR, _CURATOR_ATTR):
        if hasattr(user, attr):
            delattr(user, attr)
    network_access.forget_roles(user)


# --- roles -----------------------------------------------------------------------


def is_member(user) -> bool:
    return network_access.is_member(user)


def can_moderate(user) -> bool:
    """Hide and restore posts, review the privacy queue, open meeting rooms,
    see who wrote an anonymous post (logged)."""
    return network_access.is_secretariat(user)


def is_curator(user) -> bool:
    """The secretariat, or a member the secretariat named a curator (a
    note.Curator row; read once per request)."""
    if not is_member(user):
        return False
    if can_moderate(user):
        return True
    cached = getattr(user, _CURATOR_ATTR, None)
    if cached is None:
        # The reverse one-to-one raises when there is no row: hasattr is False.
        cached = hasattr(user, "note_curator")
        setattr(user, _CURATOR_ATTR, cached)
    return cached


# --- rooms -----------------------------------------------------------------------


def attended_events(user):
    """The events `user` counts as present at (a subquery of event ids)."""
    # Imported here: events.models needs the app registry, and this module is
    # imported while the note models load.
    from events.models import Registration
    from events.querysets import present_q

    return Registration.objects.filter(user=user).filter(present_q()).values("event_id")


def room_filter(user, *, prefix: str = "") -> Q:
    """The rooms `user` may read, as a filter on Room (or, with `prefix`, on
    a relation to it, e.g. "room__" on topics)."""

    def q(**lookups):
        return Q(**{prefix + name: value for name, value in lookups.items()})

    if not is_member(user):
        return Q(pk__in=[])
    if can_moderate(user):
        return Q()
    r = reach(user)
    allowed = q(kind=RoomKind.NETWORK)
    if network_access.is_municipal_member(user):
        allowed |= q(kind=RoomKind.MUNICIPAL)
    if r.program_ids:
        allowed |= q(kind=RoomKind.PROGRAM, program__in=sorted(r.program_ids))
    if r.room_roles:
        allowed |= q(kind=RoomKind.ROLE, role__in=sorted(r.room_roles))
    allowed |= q(kind=RoomKind.MEETING, event__in=attended_events(user))
    return allowed


def may_read_room(user, room) -> bool:
    if not is_member(user):
        return False
    if can_moderate(user):
        return True
    if room.kind == RoomKind.NETWORK:
        return True
    if room.kind == RoomKind.MUNICIPAL:
        return network_access.is_municipal_member(user)
    if room.kind == RoomKind.PROGRAM:
        return room.program_id in reach(user).program_ids
    if room.kind == RoomKind.ROLE:
        return room.role in reach(user).room_roles
    if room.kind == RoomKind.MEETING:
        return attended_events(user).filter(event_id=room.event_id).exists()
    return False


def may_post_in_room(user, room) -> bool:
    """Ask in a room: anyone who may read it, while it takes posts."""
    return room.takes_posts and may_read_room(user, room)


def can_open_meeting_room(user) -> bool:
    return can_moderate(user)


def may_open_meeting_room(user, event, now=None) -> bool:
    """A follow-up room for a meeting that is over (finished or past its end)."""
    return can_open_meeting_room(user) and event.is_over(now)


# --- posts -----------------------------------------------------------------------


def post_filter(user, *, prefix: str = "") -> Q:
    """Which posts (topics or replies, by `prefix`) `user` sees among those
    of rooms they read: the published ones and their own."""
    if can_moderate(user):
        return Q()
    if not _active(user):
        return Q(pk__in=[])
    return Q(**{f"{prefix}state": PostState.PUBLISHED}) | Q(**{f"{prefix}author": user})


def is_author(user, post) -> bool:
    return _active(user) and post.author_id == user.pk


def may_see_post(user, post) -> bool:
    """One post, its room being readable (the querysets check the room)."""
    return can_moderate(user) or post.is_published or is_author(user, post)


def posting_organisations(user):
    """The organisations a member may sign a post with: the active ones they
    belong to (the form offers them, the service checks the choice)."""
    if not _active(user):
        return Organisation.objects.none()
    return Organisation.objects.filter(memberships__user=user, is_active=True).order_by("pk")


def may_reply(user, topic) -> bool:
    return topic.is_published and may_post_in_room(user, topic.room)


def may_edit_post(user, post, now=None) -> bool:
    """The author, within the edit window, while the post is not hidden (the
    post's own rule, Post.can_be_edited)."""
    return is_author(user, post) and is_member(user) and post.can_be_edited(now)


def may_see_history(user, post) -> bool:
    """Earlier versions may hold what the author took out on purpose (a
    name, a detail): the author and the secretariat only."""
    return is_author(user, post) or can_moderate(user)


def may_mark_resolution(user, topic) -> bool:
    """The asker or the secretariat marks the replies that resolved a topic."""
    if not topic.is_published:
        return False
    return can_moderate(user) or (is_author(user, topic) and is_member(user))


def may_follow(user, topic) -> bool:
    return is_member(user) and topic.is_published


def may_hide(user, post) -> bool:
    return can_moderate(user) and not post.is_hidden


def may_restore(user, post) -> bool:
    return can_moderate(user) and post.is_hidden


def may_approve(user, post) -> bool:
    return can_moderate(user) and post.is_pending


def may_look_up_author(user, post) -> bool:
    """「投稿者を確認」: the secretariat, for an anonymous post, logged."""
    return can_moderate(user) and post.is_anonymous


# --- the note --------------------------------------------------------------------


def may_read_note(user) -> bool:
    return is_member(user)


def entry_filter(user) -> Q:
    """Members read published entries; curators also see their own pending
    and hidden ones; the secretariat all."""
    if can_moderate(user):
        return Q()
    if not is_member(user):
        return Q(pk__in=[])
    return Q(state=PostState.PUBLISHED) | Q(curator=user)


def may_curate_topic(user, topic) -> bool:
    """Turn a resolved, published topic into a note entry (its room being
    readable: the view fetches it through Topic.objects.visible_to)."""
    return is_curator(user) and topic.is_published and topic.is_resolved


def may_edit_entry(user, entry) -> bool:
    return is_curator(user) and (can_moderate(user) or entry.curator_id == user.pk)


def may_mark_reviewed(user, entry) -> bool:
    return is_curator(user) and entry.is_published


def may_see_source_topic(user, topic) -> bool:
    """An entry links its topic only for those who may read that topic's room."""
    return topic is not None and may_read_room(user, topic.room) and may_see_post(user, topic)


def may_export(user) -> bool:
    return can_moderate(user)


# --- view decorators ---------------------------------------------------------------

member_required = require(is_member)
moderator_required = require(can_moderate)
curator_required = require(is_curator)
