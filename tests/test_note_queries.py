"""Query counts of the board's pages, as literals, the same with 1 and 20 rows
(tests/queries.py): the room page (topics), the topic page (replies), the
note list (entries). The viewer is a 受託団体 member (roles, programs and
roles for the rooms read once per request)."""

import pytest
from django.urls import reverse

from tests.note_factories import NoteEntryFactory, ReplyFactory, TopicFactory, room
from tests.queries import assert_flat_query_count

pytestmark = pytest.mark.django_db

LARGE = 20


def test_note_room_page_query_count_is_flat(
    contractor_member, municipal_member, client_for, django_assert_num_queries
):
    def add(n):
        for _ in range(n):
            topic = TopicFactory(author=municipal_member)
            ReplyFactory(topic=topic)
            topic.tags.create(name=f"タグ{topic.pk}")

    assert_flat_query_count(
        django_assert_num_queries,
        client_for(contractor_member),
        reverse("note:room", args=[room().pk]),
        add,
        9,
        lambda response: len(response.context["page_obj"]),
        large=LARGE,
    )


def test_note_topic_page_query_count_is_flat(
    contractor_member, municipal_member, client_for, django_assert_num_queries
):
    topic = TopicFactory(author=municipal_member)

    def add(n):
        for i in range(n):
            ReplyFactory(topic=topic, is_anonymous=bool(i % 2))

    assert_flat_query_count(
        django_assert_num_queries,
        client_for(contractor_member),
        reverse("note:topic", args=[topic.pk]),
        add,
        15,  # with the count of the replies' pages (50 a page)
        lambda response: len(response.context["replies"]),
        large=LARGE,
    )


def test_note_entry_list_query_count_is_flat(
    contractor_member, client_for, django_assert_num_queries
):
    from tests.factories import program, region

    def add(n):
        for _ in range(n):
            entry = NoteEntryFactory(functions=[4, 6])
            entry.programs.add(program("kakei_kaizen"))
            entry.regions.add(region("石狩振興局"))
            entry.tags.create(name=f"タグ{entry.pk}")

    assert_flat_query_count(
        django_assert_num_queries,
        client_for(contractor_member),
        reverse("note:entries"),
        add,
        14,
        lambda response: len(response.context["page_obj"]),
        large=LARGE,
    )
