"""「課題にする」 on a board topic (issue #12): the committee's button on the
topic page raises a need that copies the topic's title and body — never who
asked — and links back to the topic.

Driven as people do: the topic page is read, its button's form posted.
"""

import re
from html import unescape

import pytest
from django.urls import reverse

from committee.models import Need
from note import services
from note.models import Topic

from .factories import MembershipFactory, UserFactory
from .note_factories import room

pytestmark = pytest.mark.django_db
RAISE = reverse("dashboard:need_raise")


@pytest.fixture
def committee_member(db):
    return UserFactory(full_name="委員 五郎", groups=["committee"])


def anonymous_topic(by, **kwargs):
    return services.post_topic(
        room=kwargs.pop("in_room", None) or room(),
        by=by,
        title="住まいを失いそうな相談者への初動",
        body="家賃の滞納が続いている相談者への最初の一手を教えてください。",
        anonymous=True,
        **kwargs,
    )


def button_fields(html: str) -> dict:
    """What pressing the topic's 「課題にする」 sends: the button's id and its form's fields."""
    form = re.search(r'<form id="raise-need-topic"[^>]*>(.*?)</form>', html, re.S)
    button = re.search(
        r'<button type="submit" form="raise-need-topic" name="id" value="(\d+)"', html
    )
    assert form and button, "no 「課題にする」 on the page"
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form.group(1)))
    return {**{k: unescape(v) for k, v in fields.items()}, "id": button.group(1)}


def test_secretariat_raises_a_need_from_a_topic_and_it_links_back(
    client_for, contractor_member, secretariat
):
    topic = anonymous_topic(contractor_member)
    client = client_for(secretariat)
    page = client.get(topic.get_absolute_url()).content.decode()

    response = client.post(RAISE, button_fields(page))

    need = Need.objects.get()
    assert response.status_code == 302 and response.url == need.get_absolute_url()
    assert (need.source, need.source_topic, need.title, need.text) == (
        Need.Source.TOPIC,
        topic,
        topic.title,
        topic.body,
    )
    detail = client.get(need.get_absolute_url()).content.decode()
    assert f'href="{topic.get_absolute_url()}"' in detail
    assert "掲示板の相談「住まいを失いそうな相談者への初動」" in detail
    # Raised again: the same need opens.
    again = client.post(RAISE, button_fields(page))
    assert again.url == need.get_absolute_url() and Need.objects.count() == 1


def test_a_need_from_an_anonymous_topic_never_names_the_asker(
    client_for, contractor_member, secretariat, committee_member
):
    topic = anonymous_topic(contractor_member)
    client_for(secretariat).post(
        RAISE, {"kind": "topic", "id": topic.pk, "next": topic.get_absolute_url()}
    )
    need = Need.objects.get()
    for viewer in (secretariat, committee_member):
        html = client_for(viewer).get(need.get_absolute_url()).content.decode()
        assert contractor_member.full_name not in html
        assert contractor_member.email not in html
    export = client_for(secretariat).get(reverse("dashboard:need_export", args=["csv"]))
    assert contractor_member.full_name not in export.content.decode("utf-8-sig")


def test_members_see_no_button_and_cannot_post_one(client_for, contractor_member, municipal_member):
    topic = anonymous_topic(contractor_member)
    member = client_for(municipal_member)

    page = member.get(topic.get_absolute_url()).content.decode()
    assert 'form="raise-need-topic"' not in page and "課題にする" not in page
    response = member.post(RAISE, {"kind": "topic", "id": topic.pk})
    assert response.status_code in (302, 403, 404)
    assert Need.objects.count() == 0


def test_hidden_pending_or_unreadable_topics_cannot_be_raised(
    client_for, contractor_member, secretariat, committee_member
):
    hidden = anonymous_topic(contractor_member)
    services.hide_post(post=hidden, by=secretariat, reason="重複のため")
    pending = services.post_topic(
        room=room(),
        by=contractor_member,
        title="確認待ちの相談",
        body="田中さん（090-1234-5678）に連絡がつきません。",
        privacy_confirmed=True,
    )
    assert pending.state == Topic.State.PENDING
    chief = MembershipFactory(staff_role="shunin_sodan").user
    role_only = services.post_topic(
        room=room("role", "chief"), by=chief, title="主任どうしの相談", body="新任の育て方は？"
    )
    office = client_for(secretariat)
    for topic in (hidden, pending):
        assert (
            'form="raise-need-topic"' not in office.get(topic.get_absolute_url()).content.decode()
        )
        assert office.post(RAISE, {"kind": "topic", "id": topic.pk}).status_code == 404
    # The committee member reads no role room (主任相談支援員): posting its id finds nothing.
    committee = client_for(committee_member)
    assert committee.post(RAISE, {"kind": "topic", "id": role_only.pk}).status_code == 404
    assert committee.post(RAISE, {"kind": "topic", "id": 999999}).status_code == 404
    assert Need.objects.count() == 0
