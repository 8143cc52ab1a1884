"""Workflows of the board and the note. Keyword-only, atomic, and each checks
its actor against note/access.py before it writes, so a view that forgot a
check still cannot post in a room it may not read or hide someone's post.
A refusal is a NoteError with a Japanese message for the person.

The privacy guard (core.privacy) runs here on every text others read: with
findings the post is refused unless the author confirmed it is not about a
real person, and a confirmed post waits as PENDING for the secretariat
(approve or hide) before anyone else sees it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import privacy
from core.dates import fiscal_year_of
from network.models import Organisation

from . import access, search, tasks
from .enums import Function, PostState, RoomKind
from .models import (
    AuthorLookup,
    Curator,
    EntryFunction,
    Follow,
    NoteEntry,
    NotePreference,
    PostRevision,
    Reply,
    Room,
    Tag,
    Topic,
)

MAX_TAGS = 10
TAG_MAX_LENGTH = Tag._meta.get_field("name").max_length
_TAG_SPLIT = re.compile(r"[\s,、，#＃]+")


class NoteError(ValidationError):
    """A refusal, with a Japanese message meant for the person (forms can show it)."""


def _forbidden() -> NoteError:
    return NoteError(_("この操作を行う権限がありません。"), code="forbidden")


def _require(allowed: bool) -> None:
    if not allowed:
        raise _forbidden()


# --- the privacy guard -----------------------------------------------------------


def privacy_findings(*texts: str) -> list[privacy.Finding]:
    """What the guard finds in any of `texts` (the form shows them highlighted)."""
    return [finding for text in texts for finding in privacy.find(text or "")]


def _guarded_state(texts: Iterable[str], *, confirmed: bool) -> tuple[str, str]:
    """(state, findings text) for a post about to be saved; refuses a post
    with findings that the author has not confirmed."""
    findings = privacy_findings(*texts)
    if not findings:
        return PostState.PUBLISHED, ""
    if not confirmed:
        raise NoteError(
            _(
                "個人が特定されるおそれのある内容が見つかりました。書き直すか、"
                "実在の人物についての内容ではないことを確認してください。"
            ),
            code="privacy",
        )
    return PostState.PENDING, privacy.describe(findings)


# --- tags and authors --------------------------------------------------------------


def _reindex(obj) -> None:
    """The search document of what this write changed (note.search): an
    entry's own, or the topic's that the post is or belongs to."""
    if isinstance(obj, NoteEntry):
        search.index_entry(obj)
    elif isinstance(obj, Reply):
        search.index_topic(obj.topic)
    else:
        search.index_topic(obj)


def parse_tags(text: str) -> list[str]:
    """「家計, 初任者　#就労」 → ["家計", "初任者", "就労"]: split on spaces,
    commas and #, each once, at most MAX_TAGS."""
    names: list[str] = []
    for piece in _TAG_SPLIT.split(text or ""):
        name = piece.strip()[:TAG_MAX_LENGTH]
        if name and name not in names:
            names.append(name)
    return names[:MAX_TAGS]


def _set_tags(obj, names: Iterable[str]) -> None:
    names = list(dict.fromkeys(names))[:MAX_TAGS]
    existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    tags = [existing.get(name) or Tag.objects.get_or_create(name=name)[0] for name in names]
    obj.tags.set(tags)


def _posting_organisation(user, organisation: Organisation | None) -> Organisation | None:
    """The organisation a post is signed with: the one chosen, which must be
    one of the author's active ones, or their first."""
    organisations = access.posting_organisations(user)
    if organisation is not None:
        if not organisations.filter(pk=organisation.pk).exists():
            raise NoteError(_("所属を選び直してください。"), code="organisation")
        return organisation
    return organisations.first()


def _sign(post, *, by, anonymous: bool, organisation: Organisation | None) -> None:
    org = _posting_organisation(by, organisation)
    post.author = by
    post.author_org = org
    post.author_org_kind = org.kind if org else ""
    post.is_anonymous = anonymous


# --- posting -----------------------------------------------------------------------


@transaction.atomic
def post_topic(
    *,
    room: Room,
    by,
    title: str,
    body: str,
    programs: Iterable = (),
    regions: Iterable = (),
    tags: Iterable[str] = (),
    anonymous: bool = False,
    organisation: Organisation | None = None,
    privacy_confirmed: bool = False,
) -> Topic:
    """Ask in `room`. The asker follows the topic (mail on replies)."""
    _require(access.may_post_in_room(by, room))
    tags = list(tags)
    state, findings = _guarded_state([title, body, *tags], confirmed=privacy_confirmed)
    topic = Topic(room=room, title=title, body=body, state=state, privacy_findings=findings)
    _sign(topic, by=by, anonymous=anonymous, organisation=organisation)
    topic.save()
    topic.programs.set(programs)
    topic.regions.set(regions)
    _set_tags(topic, tags)
    Follow.objects.get_or_create(user=by, topic=topic)
    _reindex(topic)
    return topic


@transaction.atomic
def post_reply(
    *,
    topic: Topic,
    by,
    body: str,
    anonymous: bool = False,
    organisation: Organisation | None = None,
    privacy_confirmed: bool = False,
) -> Reply:
    """Answer a topic; followers are mailed once it is published."""
    _require(access.may_reply(by, topic))
    state, findings = _guarded_state([body], confirmed=privacy_confirmed)
    reply = Reply(topic=topic, body=body, state=state, privacy_findings=findings)
    _sign(reply, by=by, anonymous=anonymous, organisation=organisation)
    reply.save()
    Follow.objects.get_or_create(user=by, topic=topic)
    if reply.is_published:
        _reindex(reply)
        tasks.notify_followers.delay_on_commit(reply.pk)
    return reply


def _revise(post, *, title: str, body: str, privacy_confirmed: bool, extra_texts=()) -> bool:
    """Keep the old text as a revision and re-run the guard; True when the
    post became visible to others by this edit."""
    # The stored version, not the instance: a model form has already copied
    # the new text onto the instance it was given.
    stored = _lock(post)
    was_published = stored.is_published
    state, findings = _guarded_state([title, body, *extra_texts], confirmed=privacy_confirmed)
    PostRevision.objects.create(
        **{post.post_kind: post},
        title=getattr(stored, "title", "") or "",
        body=stored.body,
        replaced_at=timezone.now(),
    )
    post.body = body
    post.state = state
    post.privacy_findings = findings
    post.edited_at = timezone.now()
    return post.is_published and not was_published


@transaction.atomic
def edit_topic(
    *,
    topic: Topic,
    by,
    title: str,
    body: str,
    programs: Iterable = (),
    regions: Iterable = (),
    tags: Iterable[str] = (),
    privacy_confirmed: bool = False,
) -> Topic:
    _require(access.may_edit_post(by, topic))
    tags = list(tags)
    _revise(topic, title=title, body=body, privacy_confirmed=privacy_confirmed, extra_texts=tags)
    topic.title = title
    topic.save()
    topic.programs.set(programs)
    topic.regions.set(regions)
    _set_tags(topic, tags)
    _reindex(topic)
    return topic


@transaction.atomic
def edit_reply(*, reply: Reply, by, body: str, privacy_confirmed: bool = False) -> Reply:
    _require(access.may_edit_post(by, reply))
    became_visible = _revise(reply, title="", body=body, privacy_confirmed=privacy_confirmed)
    reply.save()
    _reindex(reply)
    if became_visible:
        tasks.notify_followers.delay_on_commit(reply.pk)
    return reply


@transaction.atomic
def mark_resolution(*, topic: Topic, replies: Iterable[Reply], by) -> Topic:
    """The replies that resolved the topic (none: unresolved again)."""
    _require(access.may_mark_resolution(by, topic))
    chosen = {reply.pk for reply in replies}
    valid = set(topic.replies.published().filter(pk__in=chosen).values_list("pk", flat=True))
    if valid != chosen:
        raise NoteError(_("解決にできるのは、この相談の公開中の返信だけです。"), code="reply")
    topic.replies.exclude(pk__in=valid).update(is_resolution=False)
    topic.replies.filter(pk__in=valid).update(is_resolution=True)
    if valid:
        topic.resolved_at = topic.resolved_at or timezone.now()
        topic.resolved_by = by
    else:
        topic.resolved_at = None
        topic.resolved_by = None
    topic.save(update_fields=["resolved_at", "resolved_by"])
    _reindex(topic)  # a resolved topic ranks higher
    return topic


@transaction.atomic
def follow(*, topic: Topic, by) -> Follow:
    _require(access.may_follow(by, topic))
    return Follow.objects.get_or_create(user=by, topic=topic)[0]


@transaction.atomic
def unfollow(*, topic: Topic, by) -> int:
    _require(access.is_member(by))
    deleted, _rows = Follow.objects.filter(user=by, topic=topic).delete()
    return deleted


# --- moderation --------------------------------------------------------------------


def _lock(post):
    return type(post).objects.select_for_update().get(pk=post.pk)


@transaction.atomic
def hide_post(*, post, by, reason: str):
    """Hide a topic, reply or entry; its author sees it with the reason."""
    post = _lock(post)
    _require(access.may_hide(by, post))
    reason = (reason or "").strip()
    if not reason:
        raise NoteError(_("非表示にする理由を入力してください。"), code="reason")
    post.state = PostState.HIDDEN
    post.hidden_reason = reason
    post.moderated_by = by
    post.moderated_at = timezone.now()
    post.save(update_fields=["state", "hidden_reason", "moderated_by", "moderated_at"])
    _reindex(post)
    return post


@transaction.atomic
def restore_post(*, post, by):
    post = _lock(post)
    _require(access.may_restore(by, post))
    return _publish(post, by=by)


@transaction.atomic
def approve_post(*, post, by):
    """A post waiting after the privacy guard, checked by the secretariat."""
    post = _lock(post)
    _require(access.may_approve(by, post))
    return _publish(post, by=by)


def _publish(post, *, by):
    post.state = PostState.PUBLISHED
    post.hidden_reason = ""
    post.moderated_by = by
    post.moderated_at = timezone.now()
    post.save(update_fields=["state", "hidden_reason", "moderated_by", "moderated_at"])
    _reindex(post)
    if isinstance(post, Reply):
        tasks.notify_followers.delay_on_commit(post.pk)
    return post


@transaction.atomic
def look_up_author(*, post, by, reason: str) -> AuthorLookup:
    """「投稿者を確認」: log who looked at which anonymous post's author, and why."""
    _require(access.may_look_up_author(by, post))
    reason = (reason or "").strip()
    if not reason:
        raise NoteError(_("確認する理由を入力してください。"), code="reason")
    return AuthorLookup.objects.create(**{post.post_kind: post}, looked_by=by, reason=reason)


# --- rooms ---------------------------------------------------------------------------


@transaction.atomic
def open_meeting_room(*, event, by) -> Room:
    """The follow-up room of a meeting that is over, for those who came."""
    _require(access.may_open_meeting_room(by, event))
    room, _created = Room.objects.get_or_create(
        kind=RoomKind.MEETING,
        event=event,
        defaults={
            "name": _("%(title)s のあと") % {"title": event.title},
            "description": _("この会に参加した人どうしで、続きを話す部屋です。"),
            "opened_by": by,
            "order": 900,
        },
    )
    return room


# --- the note ------------------------------------------------------------------------


def _set_functions(entry: NoteEntry, functions: Iterable[int]) -> None:
    wanted = {Function(int(f)) for f in functions}
    entry.function_rows.exclude(function__in=wanted).delete()
    have = set(entry.function_rows.values_list("function", flat=True))
    EntryFunction.objects.bulk_create(
        EntryFunction(entry=entry, function=f) for f in sorted(wanted - have)
    )


def _check_entry(*, functions, anonymisation_checked: bool) -> None:
    if not anonymisation_checked:
        raise NoteError(_("匿名化の確認項目をすべて確認してください。"), code="anonymisation")
    if not functions:
        raise NoteError(_("あてはまる機能を1つ以上選んでください。"), code="functions")


@transaction.atomic
def curate_entry(
    *,
    topic: Topic,
    by,
    title: str,
    summary: str,
    programs: Iterable = (),
    regions: Iterable = (),
    functions: Iterable[int] = (),
    tags: Iterable[str] = (),
    anonymisation_checked: bool = False,
    privacy_confirmed: bool = False,
) -> NoteEntry:
    """Keep what a resolved topic taught as a note entry."""
    _require(access.may_curate_topic(by, topic))
    functions, tags = list(functions), list(tags)
    _check_entry(functions=functions, anonymisation_checked=anonymisation_checked)
    state, findings = _guarded_state([title, summary, *tags], confirmed=privacy_confirmed)
    now = timezone.now()
    entry = NoteEntry.objects.create(
        title=title,
        summary=summary,
        source_topic=topic,
        curator=by,
        fiscal_year=fiscal_year_of(now),
        reviewed_on=timezone.localdate(now),
        anonymisation_checked=True,
        state=state,
        privacy_findings=findings,
        created_at=now,
        updated_at=now,
    )
    entry.programs.set(programs)
    entry.regions.set(regions)
    _set_functions(entry, functions)
    _set_tags(entry, tags)
    _reindex(entry)
    return entry


@transaction.atomic
def edit_entry(
    *,
    entry: NoteEntry,
    by,
    title: str,
    summary: str,
    programs: Iterable = (),
    regions: Iterable = (),
    functions: Iterable[int] = (),
    tags: Iterable[str] = (),
    anonymisation_checked: bool = False,
    privacy_confirmed: bool = False,
) -> NoteEntry:
    """Rewrite an entry; an edit is a review, so the review date moves too."""
    _require(access.may_edit_entry(by, entry))
    if entry.is_hidden:
        raise NoteError(_("非表示の記事は編集できません。"), code="hidden")
    functions, tags = list(functions), list(tags)
    _check_entry(functions=functions, anonymisation_checked=anonymisation_checked)
    state, findings = _guarded_state([title, summary, *tags], confirmed=privacy_confirmed)
    entry.title = title
    entry.summary = summary
    entry.state = state
    entry.privacy_findings = findings
    entry.reviewed_on = timezone.localdate()
    entry.updated_at = timezone.now()
    entry.save()
    entry.programs.set(programs)
    entry.regions.set(regions)
    _set_functions(entry, functions)
    _set_tags(entry, tags)
    _reindex(entry)
    return entry


@transaction.atomic
def mark_reviewed(*, entry: NoteEntry, by) -> NoteEntry:
    """The curator read the entry again and it still holds."""
    _require(access.may_mark_reviewed(by, entry))
    entry.reviewed_on = timezone.localdate()
    entry.save(update_fields=["reviewed_on"])
    return entry


@transaction.atomic
def add_curator(*, user, by) -> Curator:
    """Name a member a curator of the note."""
    _require(access.can_moderate(by))
    if not access.is_member(user):
        raise NoteError(_("ネットワークの会員だけを編集者にできます。"), code="not_member")
    curator, _created = Curator.objects.get_or_create(user=user, defaults={"added_by": by})
    access.forget(user)
    return curator


@transaction.atomic
def remove_curator(*, curator: Curator, by) -> None:
    _require(access.can_moderate(by))
    curator.delete()
    access.forget(curator.user)


# --- preferences ---------------------------------------------------------------------


@transaction.atomic
def set_preferences(*, by, wants_digest: bool) -> NotePreference:
    _require(access.is_member(by))
    preference, _created = NotePreference.objects.update_or_create(
        user=by, defaults={"wants_digest": wants_digest}
    )
    return preference
