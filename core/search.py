"""Japanese full-text search, the same on SQLite and PostgreSQL (decision 0006).

Every app indexes its own objects under a *kind* ("note.topic",
"directory.service"…) and searches them here; access stays with the caller,
who keeps only the ids its own scoped queryset holds:

    results = search.search("note.topic", request.GET.get("q"))
    ids = search.ranked(Topic.objects.visible_to(user), results)   # one query
    page = paginate(request, ids)                                   # a list of ids
    topics = search.fetch(Topic.objects.visible_to(user), page)     # one query

How a word is found: text is normalised (NFKC — full-width letters and
digits and half-width kana fold —, lower case, katakana folded to hiragana)
and split into runs of letters and digits; each run gives its characters
(unigrams) and its pairs of characters (bigrams). A one-character word is
looked up as a unigram, a two-character word as a bigram, and a longer word as
all of its bigrams, then checked as a real substring of the stored text, so
that 就労準備 does not match a text with 就労 and 準備 apart. Title grams are
also stored with a marker, so a title hit can be found without reading text.

How results are ranked: a document whose title holds every word comes before
one that holds them only in its body; then the higher `boost`; then the newer
document. Results are capped (DEFAULT_LIMIT, at most MAX_LIMIT); `has_more` says
there were more.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import NamedTuple

from django.db import connection, transaction

from core.models import SearchDocument
from core.text import fold_characters

# A query is cut to this many characters after normalising (the raw input
# first to RAW_QUERY_MAX_LENGTH, so that normalising a huge input costs little).
QUERY_MAX_LENGTH = 100
RAW_QUERY_MAX_LENGTH = 1_000
# Normalised text beyond these lengths is not searchable.
TITLE_MAX_LENGTH = 500
BODY_MAX_LENGTH = 20_000
# How many results one search returns unless asked (the caller pages through
# them), and the most it may ask for. A search costs about in proportion to
# its limit (decision 0006).
DEFAULT_LIMIT = 200
MAX_LIMIT = 1_000
BOOST_MAX = 1_000.0
# PostgreSQL (decision 0006): when more than DENSE_CANDIDATES documents may
# match, each kind is walked in rank order, stopping at the limit — at most
# TITLE_WALK_ROWS_PER_HIT titles (an index-only scan) and BODY_WALK_ROWS_PER_HIT
# documents per result asked for — instead of sorting every candidate the GIN
# index gives.
DENSE_CANDIDATES = 5_000
TITLE_WALK_ROWS_PER_HIT = 50
BODY_WALK_ROWS_PER_HIT = 25

# Markers in the token stream: private-use characters, which normalise()
# never lets through, so they cannot collide with a gram of real text.
_KIND_MARK = "\ue000"
_TITLE_MARK = "\ue001"
_KIND_CHARS = str.maketrans({".": "\ue002", "_": "\ue003"})
_KIND_RE = re.compile(r"[a-z][a-z0-9_.]{0,49}")
# The SQLite FTS5 rowid packs round(boost * 100) above the document id
# (migration core/0004).
_ROWID_ID_BITS = 36
_ROWID_ID_MASK = (1 << _ROWID_ID_BITS) - 1

# Invisible format characters (soft hyphen, zero-width space and joiners,
# direction marks, BOM) are dropped rather than treated as separators, so a
# word with one inside is still one word.
_INVISIBLE = re.compile(
    "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
# A run of letters and digits (str.isalnum: every script, kana and kanji,
# 々 and ー included); everything else separates words.
_RUN = re.compile(r"[^\W_]+")


class Hit(NamedTuple):
    kind: str
    object_id: int
    in_title: bool


@dataclass(frozen=True)
class SearchResults:
    hits: tuple[Hit, ...] = ()
    # More documents matched than were returned.
    has_more: bool = False
    # The words searched for, normalised (e.g. to highlight them).
    terms: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.hits)

    def __iter__(self):
        return iter(self.hits)

    def ids(self, kind: str | None = None) -> list[int]:
        """The object ids in rank order (of one kind, if given)."""
        return [h.object_id for h in self.hits if kind is None or h.kind == kind]


class Document(NamedTuple):
    """One object for reindex_all: its id, title, body and boost."""

    object_id: int
    title: str
    body: str = ""
    boost: float = 1.0


# --- Text -----------------------------------------------------------------


def normalise(text: str | None) -> str:
    """Text as the index stores and compares it: NFKC (full-width ASCII and
    half-width kana fold), lower case, katakana as hiragana, and only runs of
    letters and digits, separated by single spaces. Idempotent."""
    if not text:
        return ""
    folded = fold_characters(_INVISIBLE.sub("", str(text)))
    return " ".join(_RUN.findall(folded))


def query_terms(query: str | None) -> list[str]:
    """The words of a query, normalised, at most QUERY_MAX_LENGTH characters
    in all; a word that another word contains is dropped (it adds nothing)."""
    text = normalise(str(query or "")[:RAW_QUERY_MAX_LENGTH])[:QUERY_MAX_LENGTH]
    terms = list(dict.fromkeys(text.split()))
    return [t for t in terms if not any(t != other and t in other for other in terms)]


def _grams(text: str) -> set[str]:
    grams: set[str] = set()
    for run in text.split():
        grams.update(run)
        grams.update(run[i : i + 2] for i in range(len(run) - 1))
    return grams


def _word_grams(term: str) -> list[str]:
    """What a word is looked up by: itself if one character, else its bigrams."""
    if len(term) == 1:
        return [term]
    return list(dict.fromkeys(term[i : i + 2] for i in range(len(term) - 1)))


def _term_grams(terms: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(g for term in terms for g in _word_grams(term)))


def _kind_token(kind: str) -> str:
    return _KIND_MARK + kind.translate(_KIND_CHARS)


def _check_kind(kind: str) -> str:
    if not isinstance(kind, str) or not _KIND_RE.fullmatch(kind):
        raise ValueError(f"search kind must match {_KIND_RE.pattern}: {kind!r}")
    return kind


def _documents(
    kinds: Sequence[str], object_id: int, title: str, body: str, boost: float
) -> list[SearchDocument]:
    """One object's document under each of `kinds`: the text is normalised
    and split into grams once, only the kind's own token differs."""
    for kind in kinds:
        _check_kind(kind)
    if isinstance(object_id, bool) or not isinstance(object_id, int):
        raise ValueError(f"object_id must be an int: {object_id!r}")
    boost = round(float(boost), 2)
    if not 0 <= boost <= BOOST_MAX:
        raise ValueError(f"boost must be between 0 and {BOOST_MAX}: {boost!r}")
    title = normalise(title)[:TITLE_MAX_LENGTH].rstrip()
    body = normalise(body)[:BODY_MAX_LENGTH].rstrip()
    title_grams = _grams(title)
    grams = title_grams | _grams(body)
    grams.update(_TITLE_MARK + g for g in title_grams)
    return [
        SearchDocument(
            kind=kind,
            object_id=object_id,
            boost=boost,
            title=title,
            body=body,
            tokens=" ".join(sorted(grams | {_kind_token(kind)})),
        )
        for kind in kinds
    ]


def _document(kind: str, object_id: int, title: str, body: str, boost: float) -> SearchDocument:
    (document,) = _documents([kind], object_id, title, body, boost)
    return document


# --- Writing ----------------------------------------------------------------


def index(
    kinds: str | Sequence[str],
    object_id: int,
    *,
    title: str,
    body: str = "",
    boost: float = 1.0,
) -> None:
    """Add or replace one object's document (one statement), under one kind
    or several (e.g. a topic under its board-wide kind and its room's, so
    that a search of one room walks only that room's documents). Call it in
    the transaction that changes the object, and remove() when others may no
    longer find it (deleted, hidden, withdrawn)."""
    kinds = [kinds] if isinstance(kinds, str) else list(dict.fromkeys(kinds))
    SearchDocument.objects.bulk_create(
        _documents(kinds, object_id, title, body, boost),
        update_conflicts=True,
        unique_fields=["kind", "object_id"],
        update_fields=["boost", "title", "body", "tokens"],
    )


def index_many(
    documents: Iterable[tuple[Sequence[str], Document]], *, batch_size: int = 500
) -> int:
    """Add or replace many objects' documents, each under its kinds (an
    import's windows): index() in batches of one statement each. Returns
    how many documents were written."""
    count = 0
    rows = iter(documents)
    while batch := list(islice(rows, batch_size)):
        objects = [
            doc
            for kinds, document in batch
            for doc in _documents(list(dict.fromkeys(kinds)), *Document(*document))
        ]
        SearchDocument.objects.bulk_create(
            objects,
            update_conflicts=True,
            unique_fields=["kind", "object_id"],
            update_fields=["boost", "title", "body", "tokens"],
        )
        count += len(objects)
    return count


def remove(kind: str, object_id: int) -> None:
    """Drop one object's document, if it has one (one statement)."""
    SearchDocument.objects.filter(kind=_check_kind(kind), object_id=object_id).delete()


@transaction.atomic
def reindex_all(kind: str, documents: Iterable[Document | tuple], *, batch_size: int = 500) -> int:
    """Replace every document of `kind` with `documents` (seed data, the
    benchmark, a changed normalisation). Pass them oldest first: among equal
    matches the later one ranks as newer. Returns how many were indexed."""
    _check_kind(kind)
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            # Gather the new grams in the GIN index's pending list and merge
            # them in bulk below, rather than one document at a time.
            cursor.execute("ALTER INDEX core_searchdoc_tokens_gin SET (fastupdate = on)")
        SearchDocument.objects.filter(kind=kind).delete()
        count = 0
        rows = iter(documents)
        while batch := list(islice(rows, batch_size)):
            SearchDocument.objects.bulk_create(
                [_document(kind, *Document(*row)) for row in batch], batch_size=batch_size
            )
            count += len(batch)
        if postgres:
            cursor.execute("SELECT gin_clean_pending_list('core_searchdoc_tokens_gin')")
            cursor.execute("ALTER INDEX core_searchdoc_tokens_gin SET (fastupdate = off)")
            # Fresh gram frequencies for the planner and for search()'s
            # choice between the GIN index and the rank walks.
            cursor.execute("ANALYZE core_searchdocument")
        else:
            # Merge the FTS5 segments the bulk insert left behind.
            cursor.execute(
                "INSERT INTO core_searchdocument_fts(core_searchdocument_fts) VALUES ('optimize')"
            )
    return count


# --- Searching --------------------------------------------------------------


def search(
    kinds: str | Sequence[str], query: str | None, *, limit: int = DEFAULT_LIMIT
) -> SearchResults:
    """Documents of `kinds` that hold every word of `query`, best first, at
    most `limit` (≤ MAX_LIMIT). One database query; none for a query
    without words (empty, blank, only punctuation)."""
    kinds = [kinds] if isinstance(kinds, str) else list(dict.fromkeys(kinds))
    for kind in kinds:
        _check_kind(kind)
    terms = query_terms(query)
    limit = max(0, min(int(limit), MAX_LIMIT))
    if not terms or not kinds or not limit:
        return SearchResults(terms=tuple(terms))
    if connection.vendor == "postgresql":
        sql, params = _postgres_sql(kinds, terms, limit + 1)
    else:
        sql, params = _sqlite_sql(kinds, terms, limit + 1)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    hits = tuple(Hit(kind, object_id, tier == 0) for tier, kind, object_id in rows[:limit])
    return SearchResults(hits=hits, has_more=len(rows) > limit, terms=tuple(terms))


def ranked(queryset, results: SearchResults, *, kind: str | None = None) -> list[int]:
    """The ids among `results` (of `kind`) that `queryset` — the caller's
    scoped queryset — holds, in rank order. One query (none without hits)."""
    ids = results.ids(kind)
    if not ids:
        return []
    present = set(queryset.filter(pk__in=ids).values_list("pk", flat=True))
    return [pk for pk in ids if pk in present]


def fetch(queryset, ids: Iterable[int]) -> list:
    """The objects of `queryset` with these ids, in the order given (e.g. a
    page of ranked()). One query (none for no ids)."""
    ids = list(ids)
    if not ids:
        return []
    objects = queryset.in_bulk(ids)
    return [objects[pk] for pk in ids if pk in objects]


def _fts_phrase(token: str) -> str:
    # Tokens hold only letters, digits and the private-use markers, so a
    # double-quoted FTS5 string holds exactly one token.
    return f'"{token}"'


def _sqlite_sql(kinds: list[str], terms: list[str], k: int) -> tuple[str, list]:
    """Two walks of the FTS5 index in rowid (= rank) order, each stopping at
    k rows: documents with every word in the title, then the others."""
    grams = _term_grams(terms)
    long_terms = [t for t in terms if len(t) >= 3]
    kinds_match = "(" + " OR ".join(_fts_phrase(_kind_token(kind)) for kind in kinds) + ")"
    title_match = " AND ".join([kinds_match, *(_fts_phrase(_TITLE_MARK + g) for g in grams)])
    any_match = " AND ".join([kinds_match, *(_fts_phrase(g) for g in grams)])
    in_title = " AND ".join(["instr(d.title, %s) > 0"] * len(terms))
    branch = (
        "SELECT * FROM (SELECT {tier} AS tier, d.kind, d.object_id,"
        " core_searchdocument_fts.rowid AS rank FROM core_searchdocument_fts"
        f" JOIN core_searchdocument d ON d.id = (core_searchdocument_fts.rowid & {_ROWID_ID_MASK})"
        " WHERE core_searchdocument_fts MATCH %s{checks}"
        " ORDER BY core_searchdocument_fts.rowid DESC LIMIT %s)"
    )
    # A long word's bigrams may all be there without the word: check it.
    title_checks = "".join(" AND instr(d.title, %s) > 0" for _ in long_terms)
    body_checks = "".join(
        " AND (instr(d.title, %s) > 0 OR instr(d.body, %s) > 0)" for _ in long_terms
    )
    sql = (
        "SELECT tier, kind, object_id FROM ("
        + branch.format(tier=0, checks=title_checks)
        + " UNION ALL "
        + branch.format(tier=1, checks=f"{body_checks} AND NOT ({in_title})")
        # At most 2k rows, already in order; the sort only makes it certain.
        + ") ORDER BY tier, rank DESC"
    )
    params = [
        title_match,
        *long_terms,
        k,
        any_match,
        *(t for term in long_terms for t in (term, term)),
        *terms,
        k,
    ]
    return sql, params


def _tsquery(tokens: Iterable[str]) -> str:
    return " & ".join(f"'{token}'" for token in tokens)


class _Statement:
    """SQL written in order with its parameters, so that the two never drift."""

    def __init__(self):
        self.parts: list[str] = []
        self.params: list = []

    def add(self, sql: str, *params) -> _Statement:
        self.parts.append(sql)
        self.params.extend(params)
        return self

    def sql(self) -> str:
        return "".join(self.parts)


def _walk_rows(k: int) -> tuple[int, int]:
    """How many titles and documents a walk may read to find k hits."""
    return TITLE_WALK_ROWS_PER_HIT * k, BODY_WALK_ROWS_PER_HIT * k


def _postgres_sql(kinds: list[str], terms: list[str], k: int) -> tuple[str, list]:
    """One statement; inside it, PostgreSQL's own gram statistics
    (core_search_estimate, migration core/0004) choose between two plans:

    - few candidates: the GIN index, then a sort of them all;
    - many: per kind, walks of the rank index in rank order that stop at k
      hits — first over titles (an index-only scan), then, if titles gave
      fewer than k hits, over whole documents, each reading at most
      _walk_rows(k); a walk that runs out before k hits leaves the documents
      ranked below it to the GIN index.

    Every path gives the same rows; only the cost differs. What a path does
    not need sits behind one-time filters and does not run."""
    grams = _term_grams(terms)
    title_walk_rows, body_walk_rows = _walk_rows(k)
    title_query = _tsquery(_TITLE_MARK + g for g in grams)
    any_query = _tsquery(grams)
    long_terms = [t for t in terms if len(t) >= 3]
    pairs = [t for term in terms for t in (term, term)]
    long_pairs = [t for term in long_terms for t in (term, term)]

    def all_in_title(alias):
        return " AND ".join([f"strpos({alias}.title, %s) > 0"] * len(terms))

    def all_in_text(alias, words):
        return "".join(
            f" AND (strpos({alias}.title, %s) > 0 OR strpos({alias}.body, %s) > 0)" for _ in words
        )

    def edge(name):
        # The last document a walk may read; none if the kind has no more, and
        # then the walk has seen them all.
        return (
            f", {name} AS MATERIALIZED (SELECT b.boost, b.id FROM core_searchdocument b"
            " WHERE b.kind = %s ORDER BY b.boost DESC, b.id DESC OFFSET %s LIMIT 1)"
        )

    def below(name):
        return f" AND EXISTS (SELECT 1 FROM {name}) AND (d.boost, d.id) < (SELECT boost, id FROM {name})"

    rank = " ORDER BY d.boost DESC, d.id DESC LIMIT %s"
    walk_rank = " ORDER BY w.boost DESC, w.id DESC LIMIT %s"
    dense = "(SELECT dense FROM choice)"
    few_titles = "(SELECT n FROM title_hits) < %s"
    q = _Statement()
    q.add(
        "WITH choice AS MATERIALIZED (SELECT core_search_estimate(%s::text[]) > %s AS dense)",
        grams,
        DENSE_CANDIDATES,
    )
    for n, kind in enumerate(kinds):
        q.add(edge(f"title_edge_{n}"), kind, title_walk_rows - 1)
        q.add(
            f", title_walk_{n} AS MATERIALIZED (SELECT w.id, w.boost, w.kind, w.object_id FROM ("
            "SELECT d.id, d.boost, d.kind, d.object_id, d.title FROM core_searchdocument d"
            f" WHERE d.kind = %s AND {dense}{rank}) w WHERE {all_in_title('w')}{walk_rank})",
            kind,
            title_walk_rows,
            *terms,
            k,
        )
        q.add(
            f", title_tail_{n} AS MATERIALIZED (SELECT d.id, d.boost, d.kind, d.object_id"
            " FROM core_searchdocument d WHERE d.tokens @@ %s::tsquery AND d.kind = %s"
            + "".join(" AND strpos(d.title, %s) > 0" for _ in long_terms)
            + f" AND {dense} AND (SELECT count(*) FROM title_walk_{n}) < %s"
            + below(f"title_edge_{n}")
            + rank
            + ")",
            title_query,
            kind,
            *long_terms,
            k,
            k,
        )
    q.add(
        ", title_hits AS MATERIALIZED (SELECT count(*) AS n FROM ("
        + " UNION ALL ".join(
            f"SELECT id FROM title_walk_{n} UNION ALL SELECT id FROM title_tail_{n}"
            for n in range(len(kinds))
        )
        + ") t)"
    )
    for n, kind in enumerate(kinds):
        q.add(edge(f"body_edge_{n}"), kind, body_walk_rows - 1)
        q.add(
            f", body_walk_{n} AS MATERIALIZED (SELECT w.id, w.boost, w.kind, w.object_id FROM ("
            "SELECT d.id, d.boost, d.kind, d.object_id, d.title, d.body FROM core_searchdocument d"
            f" WHERE d.kind = %s AND {dense} AND {few_titles}{rank}) w"
            f" WHERE NOT ({all_in_title('w')}){all_in_text('w', terms)}{walk_rank})",
            kind,
            k,
            body_walk_rows,
            *terms,
            *pairs,
            k,
        )
    # Few candidates: both tiers at once from the GIN index.
    q.add(
        " SELECT r.tier, r.kind, r.object_id FROM ("
        f"(SELECT CASE WHEN {all_in_title('d')} THEN 0 ELSE 1 END AS tier,"
        " d.id, d.boost, d.kind, d.object_id FROM core_searchdocument d"
        " WHERE d.tokens @@ %s::tsquery AND d.kind = ANY(%s)"
        f"{all_in_text('d', long_terms)} AND NOT {dense}"
        " ORDER BY tier, d.boost DESC, d.id DESC LIMIT %s)",
        *terms,
        any_query,
        kinds,
        *long_pairs,
        k,
    )
    for n, kind in enumerate(kinds):
        q.add(
            f" UNION ALL (SELECT 0, id, boost, kind, object_id FROM title_walk_{n})"
            f" UNION ALL (SELECT 0, id, boost, kind, object_id FROM title_tail_{n})"
            f" UNION ALL (SELECT 1, id, boost, kind, object_id FROM body_walk_{n})"
        )
        q.add(
            " UNION ALL (SELECT 1, d.id, d.boost, d.kind, d.object_id FROM core_searchdocument d"
            f" WHERE d.tokens @@ %s::tsquery AND d.kind = %s AND NOT ({all_in_title('d')})"
            f"{all_in_text('d', long_terms)} AND {dense} AND {few_titles}"
            f" AND (SELECT count(*) FROM body_walk_{n}) < %s"
            + below(f"body_edge_{n}")
            + rank
            + ")",
            any_query,
            kind,
            *terms,
            *long_pairs,
            k,
            k,
            k,
        )
    q.add(") r ORDER BY r.tier, r.boost DESC, r.id DESC LIMIT %s", k)
    return q.sql(), q.params
