"""Pages that only show something answer 405 to a POST (and to PUT/DELETE):
before, they rendered as if it were a GET — harmless, but a read page that
accepts writes hides mistakes (a form posting to the wrong URL) and the
survey thanks page consumed its one-time message."""

import pytest
from django.urls import reverse

from .event_factories import EventFactory

pytestmark = pytest.mark.django_db


def read_only_urls(event):
    return [
        reverse("home"),
        reverse("events:list"),
        reverse("events:detail", args=[event.pk]),
        reverse("events:calendar", args=[event.pk]),
        reverse("events:feed", args=["no-such-token"]),
        reverse("network:join_request_done"),
        reverse("surveys:thanks"),
    ]


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_read_only_pages_refuse_writes_for_anyone(method, client, client_for, contractor_member):
    event = EventFactory()
    for actor in (client, client_for(contractor_member)):
        for url in read_only_urls(event):
            response = getattr(actor, method)(url)
            assert (url, response.status_code) == (url, 405)
            assert sorted(response["Allow"].split(", ")) == ["GET", "HEAD"]


def test_read_only_pages_still_answer_get_and_head(client_for, contractor_member):
    event = EventFactory()  # a members' meeting
    client = client_for(contractor_member)
    for url in read_only_urls(event)[:4]:
        assert (url, client.get(url).status_code) == (url, 200)
        assert (url, client.head(url).status_code) == (url, 200)
