"""The board's and the note's search, behind one seam.

For now a plain `icontains` on title and body, the same on SQLite and
PostgreSQL. The Japanese search design (1-, 2- and 3+-character words,
ranking, an index that stays fast on a large table) replaces the bodies of
these two functions; callers pass an already scoped queryset and get a
queryset back, so nothing else changes.
"""

from __future__ import annotations

from django.db.models import Q

QUERY_MAX_LENGTH = 100


def normalise(query: str | None) -> str:
    return " ".join((query or "").split())[:QUERY_MAX_LENGTH]


def _terms(query: str) -> list[str]:
    return normalise(query).split()


def search_topics(queryset, query: str | None):
    """Topics whose title or body holds every word of `query`."""
    for term in _terms(query or ""):
        queryset = queryset.filter(Q(title__icontains=term) | Q(body__icontains=term))
    return queryset


def search_entries(queryset, query: str | None):
    """Note entries whose title or summary holds every word of `query`."""
    for term in _terms(query or ""):
        queryset = queryset.filter(Q(title__icontains=term) | Q(summary__icontains=term))
    return queryset
