"""The board's and the note's search: Japanese words found by the shared
index (core.search, decision 0006), the same on SQLite and PostgreSQL.

What is indexed: a topic's title, its body and the bodies of its published
replies (an answer is often where the word is); a note entry's title and
summary. Every topic and entry has a document whatever its state — who may
see what stays with the caller's scoped queryset (Topic.objects.visible_to),
which the results are filtered through — but a reply that is not published
adds nothing to its topic's document: its words must not make the topic
findable. note.services reindexes in the transaction of every write that
changes what is indexed; ``reindex`` rebuilds everything (seed data, the
benchmark, a changed normalisation; `manage.py index_note_search`).

A word of 1 character is found as a character, of 2 as a pair, of 3 or more
as its pairs and then checked as a real substring; kana, width and case are
folded (「ﾌｰﾄﾞﾊﾞﾝｸ」 finds フードバンク). A search returns at most
MAX_RESULTS matches, best first; the list then shows them in its own order
(newest first).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from django.apps import apps as global_apps

from core import search

from .enums import PostState

QUERY_MAX_LENGTH = search.QUERY_MAX_LENGTH
TOPIC = "note.topic"
ENTRY = "note.entry"
MAX_RESULTS = search.MAX_LIMIT


def normalise(query: str | None) -> str:
    """The query as typed, trimmed (what the search box shows again)."""
    return " ".join((query or "").split())[:QUERY_MAX_LENGTH]


def _topic_text(topic, replies: list[str]) -> str:
    return "\n".join([topic.body, *replies])


def index_topic(topic) -> None:
    """(Re)write one topic's document: title, body, its published replies."""
    Reply = global_apps.get_model("note", "Reply")
    replies = list(
        Reply.objects.filter(topic_id=topic.pk, state=PostState.PUBLISHED)
        .order_by("created_at", "pk")
        .values_list("body", flat=True)
    )
    search.index(TOPIC, topic.pk, title=topic.title, body=_topic_text(topic, replies))


def index_entry(entry) -> None:
    search.index(ENTRY, entry.pk, title=entry.title, body=entry.summary)


def _topic_documents(apps) -> Iterator[search.Document]:
    Topic = apps.get_model("note", "Topic")
    Reply = apps.get_model("note", "Reply")
    replies: dict[int, list[str]] = defaultdict(list)
    for topic_id, body in (
        Reply.objects.filter(state=PostState.PUBLISHED)
        .order_by("topic_id", "created_at", "pk")
        .values_list("topic_id", "body")
    ):
        replies[topic_id].append(body)
    for topic in Topic.objects.order_by("created_at", "pk").only("pk", "title", "body"):
        yield search.Document(topic.pk, topic.title, _topic_text(topic, replies.pop(topic.pk, [])))


def _entry_documents(apps) -> Iterator[search.Document]:
    NoteEntry = apps.get_model("note", "NoteEntry")
    for pk, title, summary in NoteEntry.objects.order_by("created_at", "pk").values_list(
        "pk", "title", "summary"
    ):
        yield search.Document(pk, title, summary)


def reindex(apps=None) -> dict[str, int]:
    """Every topic's and entry's document, from scratch; how many of each.
    Takes the app registry a migration passes (default: the live one)."""
    apps = apps or global_apps
    return {
        "topics": search.reindex_all(TOPIC, _topic_documents(apps)),
        "entries": search.reindex_all(ENTRY, _entry_documents(apps)),
    }


def _matching(queryset, kind: str, query: str | None):
    results = search.search(kind, query, limit=MAX_RESULTS)
    if not results.terms:
        return queryset
    return queryset.filter(pk__in=results.ids(kind))


def search_topics(queryset, query: str | None):
    """The topics of `queryset` that hold every word of `query` (title, body
    or a published reply)."""
    return _matching(queryset, TOPIC, query)


def search_entries(queryset, query: str | None):
    """The entries of `queryset` whose title or summary holds every word of `query`."""
    return _matching(queryset, ENTRY, query)
