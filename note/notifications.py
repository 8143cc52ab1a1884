"""The e-mails of the note app: what each says, and under which outbox key.

No mail ever names the author of a post, anonymous or not: a follow mail
says that a topic has a new reply, the digest lists titles and rooms. So the
mails cannot be the place an anonymous author is found out, and nobody has
to remember which post was anonymous when changing a template.

Templates: templates/note/emails/<name>_subject.txt and <name>.txt.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from core.models import OutboxMessage
from core.outbox import queue_message

_BLANK_RUNS = re.compile(r"\n[ \t]*(?:\n[ \t]*)+\n")
FOLLOW_PREFIX = "note:follow"
DIGEST_PREFIX = "note:digest"


def absolute(path: str) -> str:
    return settings.SITE_URL + path


def follow_key(topic_id: int, user_id: int, reply_id: int) -> str:
    return f"{FOLLOW_PREFIX}:{topic_id}:{user_id}:{reply_id}"


def follow_prefix(topic_id: int) -> str:
    return f"{FOLLOW_PREFIX}:{topic_id}:"


def user_of_follow_key(key: str) -> int:
    return int(key.split(":")[3])


def digest_key(user_id: int, week: str) -> str:
    return f"{DIGEST_PREFIX}:{user_id}:{week}"


def _render(name: str, context: dict) -> tuple[str, str]:
    # A worker has no request that would activate a language.
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"note/emails/{name}_subject.txt", context)
        body = render_to_string(f"note/emails/{name}.txt", context)
    body = _BLANK_RUNS.sub("\n\n", body.strip())
    return " ".join(subject.split()), body + "\n"


def _base_context(user) -> dict:
    return {
        "addressee": user.full_name,
        "site_url": settings.SITE_URL,
        "settings_url": absolute(reverse("note:settings")),
    }


def new_reply(*, reply, follower) -> OutboxMessage | None:
    topic = reply.topic
    subject, body = _render(
        "new_reply",
        {
            **_base_context(follower),
            "topic": topic,
            "room": topic.room,
            "topic_url": absolute(topic.get_absolute_url()),
        },
    )
    return queue_message(
        key=follow_key(topic.pk, follower.pk, reply.pk),
        kind="note.new_reply",
        to_email=follower.email,
        subject=subject,
        body=body,
    )


def digest(*, user, week: str, topics, entries) -> OutboxMessage | None:
    subject, body = _render(
        "digest",
        {
            **_base_context(user),
            "topics": [(t, absolute(t.get_absolute_url())) for t in topics],
            "entries": [(e, absolute(e.get_absolute_url())) for e in entries],
            "board_url": absolute(reverse("note:home")),
        },
    )
    return queue_message(
        key=digest_key(user.pk, week),
        kind="note.digest",
        to_email=user.email,
        subject=subject,
        body=body,
    )
