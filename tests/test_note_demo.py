"""The note's part of seed_demo: invented texts that pass the privacy guard,
several rooms, an anonymous topic, a resolved topic curated into the note;
running it twice adds nothing."""

import pytest

from core import privacy
from note import demo
from note.enums import RoomKind
from note.models import NoteEntry, Reply, Room, Topic

pytestmark = pytest.mark.django_db


def test_note_demo_texts_pass_the_privacy_guard():
    texts = [t.title for t in demo.TOPICS] + [t.body for t in demo.TOPICS]
    texts += [r.body for t in demo.TOPICS for r in t.replies]
    texts += [e["title"] for e in demo.ENTRIES] + [e["summary"] for e in demo.ENTRIES]
    texts += [demo.OLD_ENTRY["title"], demo.OLD_ENTRY["summary"]]

    assert [t for t in texts if not privacy.is_clean(t)] == []


def test_note_demo_seeds_once():
    from events.demo import seed_events
    from network.demo import seed_network

    seed_network()
    seed_events()
    demo.seed_note()
    counts = (Topic.objects.count(), Reply.objects.count(), NoteEntry.objects.count())
    demo.seed_note()

    assert (Topic.objects.count(), Reply.objects.count(), NoteEntry.objects.count()) == counts
    assert counts == (5, 4, 2)
    assert set(Topic.objects.values_list("room__kind", flat=True)) == {
        RoomKind.NETWORK,
        RoomKind.MUNICIPAL,
        RoomKind.PROGRAM,
        RoomKind.ROLE,
    }
    assert Topic.objects.filter(is_anonymous=True).count() == 1
    curated = NoteEntry.objects.exclude(source_topic=None).get()
    assert curated.source_topic.is_resolved
    assert Room.objects.filter(kind=RoomKind.MEETING).count() == 1
    assert NoteEntry.objects.due_for_review().count() == 1
