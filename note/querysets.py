"""Scoped querysets of the note app: views fetch only through these, so a
forgotten filter cannot show a room, a post or an entry to the wrong person.

Imports enums and access, never the models (which import this module): the
reply subqueries take the Reply model from the app registry.
"""

from __future__ import annotations

import datetime

from django.apps import apps
from django.db import models
from django.db.models import Count, Exists, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from . import access
from .enums import PostState, TopicFilter
from .periods import add_months, review_months


def _replies():
    return apps.get_model("note", "Reply").objects


def _published_replies():
    return _replies().filter(topic=OuterRef("pk"), state=PostState.PUBLISHED)


class RoomQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(access.room_filter(user))

    def with_counts(self):
        """Published topics, and those of them nobody has answered yet: two
        counts per room, each a subquery over that room's topics (a join of
        the topics with a GROUP BY made SQLite run the unanswered subquery
        once per topic: 2.4 s at 20,000 topics, make bench)."""
        topic_model = apps.get_model("note", "Topic")
        published = topic_model.objects.filter(room=OuterRef("pk")).published()

        def count(topics):
            return Coalesce(
                Subquery(
                    topics.order_by().values("room").annotate(n=Count("pk")).values("n")[:1],
                    output_field=IntegerField(),
                ),
                Value(0),
            )

        return self.annotate(
            topic_count=count(published), unanswered_count=count(published.unanswered())
        )


class TopicQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Topics of the rooms `user` reads: published ones, and their own."""
        return self.filter(access.room_filter(user, prefix="room__")).filter(
            access.post_filter(user)
        )

    def published(self):
        return self.filter(state=PostState.PUBLISHED)

    def pending(self):
        return self.filter(state=PostState.PENDING)

    def unanswered(self):
        return self.filter(~Exists(_published_replies()))

    def unresolved(self):
        return self.filter(resolved_at__isnull=True)

    def resolved(self):
        return self.filter(resolved_at__isnull=False)

    def filtered(self, which: TopicFilter):
        """The room page's tabs."""
        if which == TopicFilter.UNANSWERED:
            return self.unanswered()
        if which == TopicFilter.UNRESOLVED:
            return self.unresolved()
        if which == TopicFilter.RESOLVED:
            return self.resolved()
        return self

    def with_reply_counts(self):
        counts = (
            _published_replies().order_by().values("topic").annotate(n=Count("pk")).values("n")[:1]
        )
        return self.annotate(
            reply_count=Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))
        )

    def for_list(self):
        """What a list row shows, in a fixed number of queries."""
        return (
            self.select_related("author", "author_org", "room")
            .prefetch_related("tags")
            .with_reply_counts()
        )

    def awaiting_answer_for(self, user):
        """Published topics in `user`'s rooms that nobody has answered yet,
        other than their own (the home page's 未回答 count, the digest)."""
        return self.visible_to(user).published().unanswered().exclude(author=user)

    def created_between(self, start: datetime.datetime, end: datetime.datetime):
        return self.filter(created_at__gte=start, created_at__lt=end)


class ReplyQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Replies on topics `user` sees: published ones, and their own."""
        return (
            self.filter(access.room_filter(user, prefix="topic__room__"))
            .filter(access.post_filter(user, prefix="topic__"))
            .filter(access.post_filter(user))
        )

    def published(self):
        return self.filter(state=PostState.PUBLISHED)

    def pending(self):
        return self.filter(state=PostState.PENDING)


class NoteEntryQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(access.entry_filter(user))

    def published(self):
        return self.filter(state=PostState.PUBLISHED)

    def pending(self):
        return self.filter(state=PostState.PENDING)

    def due_for_review(self, today: datetime.date | None = None):
        """Entries last reviewed NOTE_REVIEW_MONTHS ago or longer
        (NoteEntry.needs_review, for many rows)."""
        today = today or timezone.localdate()
        return self.filter(reviewed_on__lte=add_months(today, -review_months()))

    def for_list(self):
        return self.select_related("curator").prefetch_related(
            "programs", "regions", "tags", "function_rows"
        )

    def created_between(self, start: datetime.datetime, end: datetime.datetime):
        return self.filter(created_at__gte=start, created_at__lt=end)


class FollowQuerySet(models.QuerySet):
    def of(self, user):
        return self.filter(user=user) if access.is_member(user) else self.none()
