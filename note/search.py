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
folded (「ﾌｰﾄﾞﾊﾞﾝｸ」 finds フードバンク). Results are ranked: a title that
holds every word before a body that does, then the boost — a note entry
(ENTRY_BOOST) over a resolved topic (RESOLVED_BOOST) over an open one —
then the newer. A search keeps at most MAX_RESULTS matches, and says when
more matched (the page asks for another word).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from django.apps import apps as global_apps

from core import search
from core.pagination import paginate

from .enums import PostState

QUERY_MAX_LENGTH = search.QUERY_MAX_LENGTH
TOPIC = "note.topic"
# Each topic is indexed twice: under TOPIC (the note's search across the rooms
# a member reads) and under its room's own kind, so that a room's search walks
# only that room's documents — never the best matches of every room, filtered
# afterwards, which could miss a room's own matches and read many rows for
# few (make bench: a 4-character room search on PostgreSQL, p95 55 ms).
ROOM_TOPIC_PREFIX = "note.topic.r"
ENTRY = "note.entry"
# A search costs about in proportion to its limit (decision 0006), and ten
# pages of the best matches are enough to read.
MAX_RESULTS = search.DEFAULT_LIMIT
ENTRY_BOOST = 2.0
RESOLVED_BOOST = 1.5
OPEN_BOOST = 1.0


def _topic_boost(topic) -> float:
    return RESOLVED_BOOST if topic.resolved_at else OPEN_BOOST


def room_kind(room_id: int) -> str:
    """The search kind of one room's topics."""
    return f"{ROOM_TOPIC_PREFIX}{int(room_id)}"


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
    search.index(
        [TOPIC, room_kind(topic.room_id)],
        topic.pk,
        title=topic.title,
        body=_topic_text(topic, replies),
        boost=_topic_boost(topic),
    )


def index_entry(entry) -> None:
    search.index(ENTRY, entry.pk, title=entry.title, body=entry.summary, boost=ENTRY_BOOST)


def _topic_documents(apps) -> Iterator[tuple[int, search.Document]]:
    Topic = apps.get_model("note", "Topic")
    Reply = apps.get_model("note", "Reply")
    replies: dict[int, list[str]] = defaultdict(list)
    for topic_id, body in (
        Reply.objects.filter(state=PostState.PUBLISHED)
        .order_by("topic_id", "created_at", "pk")
        .values_list("topic_id", "body")
    ):
        replies[topic_id].append(body)
    for topic in Topic.objects.order_by("created_at", "pk").only(
        "pk", "room_id", "title", "body", "resolved_at"
    ):
        yield (
            topic.room_id,
            search.Document(
                topic.pk,
                topic.title,
                _topic_text(topic, replies.pop(topic.pk, [])),
                _topic_boost(topic),
            ),
        )


def _entry_documents(apps) -> Iterator[search.Document]:
    NoteEntry = apps.get_model("note", "NoteEntry")
    for pk, title, summary in NoteEntry.objects.order_by("created_at", "pk").values_list(
        "pk", "title", "summary"
    ):
        yield search.Document(pk, title, summary, ENTRY_BOOST)


def reindex(apps=None) -> dict[str, int]:
    """Every topic's and entry's document, from scratch; how many of each.
    Takes the app registry a migration passes (default: the live one)."""
    apps = apps or global_apps
    by_room: dict[int, list[search.Document]] = {
        pk: [] for pk in apps.get_model("note", "Room").objects.values_list("pk", flat=True)
    }
    every: list[search.Document] = []  # oldest first, as reindex_all wants them
    for room_id, document in _topic_documents(apps):
        every.append(document)
        by_room.setdefault(room_id, []).append(document)
    topics = search.reindex_all(TOPIC, every)
    for room_id, documents in by_room.items():
        search.reindex_all(room_kind(room_id), documents)
    return {"topics": topics, "entries": search.reindex_all(ENTRY, _entry_documents(apps))}


def ranked_page(request, queryset, kind: str, query: str | None, per_page: int):
    """A page of `queryset` (the caller's scoped, filtered queryset): with
    words in `query`, the objects that hold every one of them, best first;
    without, the queryset's own order. Three queries with words: the
    search, the ids `queryset` holds among its hits, the page's objects.
    Returns the page and the search's results (has_more: more matched)."""
    results = search.search(kind, query, limit=MAX_RESULTS)
    if not results.terms:
        return paginate(request, queryset, per_page), results
    page = paginate(request, search.ranked(queryset, results), per_page)
    page.object_list = search.fetch(queryset, page.object_list)
    return page, results


@dataclass(frozen=True)
class Found:
    """One result of the note's search: an entry or a topic."""

    kind: str
    object: object

    @property
    def is_entry(self) -> bool:
        return self.kind == ENTRY


def search_all(request, *, topics, entries, query: str | None, per_page: int):
    """A page of the entries and topics (the caller's scoped querysets) that
    hold every word of `query`, in one ranking: note entries rank above the
    board's topics (ENTRY_BOOST), resolved topics above open ones. Without
    words, an empty page. With words, five queries: the search, the visible
    ids of each kind, the page's objects of each kind."""
    results = search.search([ENTRY, TOPIC], query, limit=MAX_RESULTS)
    hits = []
    if results.terms:
        visible = {
            ENTRY: set(search.ranked(entries, results, kind=ENTRY)),
            TOPIC: set(search.ranked(topics, results, kind=TOPIC)),
        }
        hits = [(hit.kind, hit.object_id) for hit in results if hit.object_id in visible[hit.kind]]
    page = paginate(request, hits, per_page)
    if hits:
        chosen = {kind: {pk for k, pk in page.object_list if k == kind} for kind in (ENTRY, TOPIC)}
        objects = {
            ENTRY: entries.in_bulk(chosen[ENTRY]) if chosen[ENTRY] else {},
            TOPIC: topics.in_bulk(chosen[TOPIC]) if chosen[TOPIC] else {},
        }
        page.object_list = [
            Found(kind, objects[kind][pk]) for kind, pk in page.object_list if pk in objects[kind]
        ]
    return page, results
