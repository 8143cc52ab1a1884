"""What an event's status allows: the Event and Registration methods, as a
truth table written out, and the pages that show and refuse by them.

The methods are the one place that decides (docs/events.md §2); the manage
list's row and the event's header render the same partial from them, so a
finished event offers the same actions in both."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from events import services
from events.enums import RegistrationWindow
from events.models import Event, Registration

from .event_factories import EventFactory, RegistrationFactory

pytestmark = pytest.mark.django_db

D, P, C, F = (
    Event.Status.DRAFT,
    Event.Status.PUBLISHED,
    Event.Status.CANCELLED,
    Event.Status.FINISHED,
)
T, _ = True, False  # "_" reads as a blank cell of the table

# When the event is, relative to now: (start, end) offsets in hours.
TIMINGS = {
    "upcoming": (30 * 24, 30 * 24 + 3),
    "under_way": (-1, 2),
    "over": (-27, -24),
}

METHODS = (
    "can_be_published",
    "can_be_deleted",
    "can_be_cancelled",
    "can_be_finished",
    "awaits_start",
    "can_send_thanks",
    "can_check_in",
    "can_send_bulk_message",
    "can_add_registrations",
    "can_take_registrations",
    "notifies_changes",
    "takes_attendance_records",
    "is_still_to_be_held",
    "is_over",
)

# fmt: off
# (status, timing): one column per METHODS entry, in that order.
#                       pub del can fin awa thx chk msg add reg chg att hld over
EVENT_TABLE = {
    (D, "upcoming"):   (T,  T,  _,  _,  _,  _,  _,  _,  _,  _,  _,  _,  _,  _),
    (D, "under_way"):  (T,  T,  _,  _,  _,  _,  _,  _,  _,  _,  _,  _,  _,  _),
    (D, "over"):       (T,  T,  _,  _,  _,  _,  _,  _,  _,  _,  _,  _,  _,  T),
    (P, "upcoming"):   (_,  _,  T,  _,  T,  _,  T,  T,  T,  T,  T,  _,  T,  _),
    (P, "under_way"):  (_,  _,  T,  T,  _,  _,  T,  T,  T,  T,  T,  T,  T,  _),
    (P, "over"):       (_,  _,  T,  T,  _,  _,  T,  T,  T,  _,  T,  T,  _,  T),
    (C, "upcoming"):   (_,  _,  _,  _,  _,  _,  _,  T,  _,  _,  _,  _,  _,  _),
    (C, "under_way"):  (_,  _,  _,  _,  _,  _,  _,  T,  _,  _,  _,  _,  _,  _),
    (C, "over"):       (_,  _,  _,  _,  _,  _,  _,  T,  _,  _,  _,  _,  _,  T),
    (F, "upcoming"):   (_,  _,  _,  _,  _,  T,  T,  T,  _,  _,  _,  _,  _,  T),
    (F, "under_way"):  (_,  _,  _,  _,  _,  T,  T,  T,  _,  _,  _,  T,  _,  T),
    (F, "over"):       (_,  _,  _,  _,  _,  T,  T,  T,  _,  _,  _,  T,  _,  T),
}
# fmt: on


def event_at(status, timing, **fields):
    now = timezone.now()
    start, end = TIMINGS[timing]
    return EventFactory(
        status=status,
        starts_at=now + datetime.timedelta(hours=start),
        ends_at=now + datetime.timedelta(hours=end),
        **fields,
    )


def test_event_state_table_covers_every_status_and_timing():
    assert set(EVENT_TABLE) == {(s, t) for s in Event.Status.values for t in TIMINGS}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("timing", TIMINGS)
@pytest.mark.parametrize("status", Event.Status.values)
def test_event_state_rule_matches_the_table(status, timing, method):
    event = event_at(status, timing)
    assert getattr(event, method)() == EVENT_TABLE[(status, timing)][METHODS.index(method)]


@pytest.mark.parametrize("status", Event.Status.values)
def test_event_with_a_registration_can_never_be_deleted(status):
    event = event_at(status, "upcoming")
    RegistrationFactory(event=event, status=Registration.Status.CANCELLED)
    assert event.can_be_deleted() is False


# --- the registration window -----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "timing", "opens", "closes", "window"),
    [
        (P, "upcoming", None, None, RegistrationWindow.OPEN),
        (P, "upcoming", 1, None, RegistrationWindow.NOT_YET),
        (P, "upcoming", -2, -1, RegistrationWindow.CLOSED),
        (P, "upcoming", -2, 1, RegistrationWindow.OPEN),
        (P, "under_way", None, None, RegistrationWindow.OPEN),
        (P, "over", None, None, RegistrationWindow.CLOSED),
        (D, "upcoming", None, None, RegistrationWindow.CLOSED),
        (C, "upcoming", None, None, RegistrationWindow.CLOSED),
        (F, "upcoming", None, None, RegistrationWindow.CLOSED),
    ],
)
def test_event_registration_window_follows_status_and_times(status, timing, opens, closes, window):
    now = timezone.now()
    event = event_at(
        status,
        timing,
        registration_opens_at=now + datetime.timedelta(hours=opens) if opens else None,
        registration_closes_at=now + datetime.timedelta(hours=closes) if closes else None,
    )
    assert event.registration_window() == window
    assert event.can_take_registrations() == (window == RegistrationWindow.OPEN)


# --- one registration, with its event's status ---------------------------------------------

REGISTRATION_METHODS = (
    "can_be_changed_by_secretariat",
    "can_be_cancelled_by_secretariat",
    "can_be_changed_by_owner",
    "can_be_cancelled_by_owner",
)
R = Registration.Status
# fmt: off
# (event status, registration status), the event upcoming with its window open.
#                                   chg-sec can-sec chg-own can-own
REGISTRATION_TABLE = {
    (D, R.PENDING):                 (_,      _,      _,      _),
    (D, R.CONFIRMED):               (_,      _,      _,      _),
    (D, R.WAITLISTED):              (_,      _,      _,      _),
    (D, R.CANCELLED):               (_,      _,      _,      _),
    (P, R.PENDING):                 (_,      T,      _,      T),
    (P, R.CONFIRMED):               (T,      T,      T,      T),
    (P, R.WAITLISTED):              (T,      T,      T,      T),
    (P, R.CANCELLED):               (_,      _,      _,      _),
    (C, R.PENDING):                 (_,      _,      _,      _),
    (C, R.CONFIRMED):               (_,      _,      _,      _),
    (C, R.WAITLISTED):              (_,      _,      _,      _),
    (C, R.CANCELLED):               (_,      _,      _,      _),
    (F, R.PENDING):                 (_,      _,      _,      _),
    (F, R.CONFIRMED):               (_,      _,      _,      _),
    (F, R.WAITLISTED):              (_,      _,      _,      _),
    (F, R.CANCELLED):               (_,      _,      _,      _),
}
# fmt: on


@pytest.mark.parametrize("method", REGISTRATION_METHODS)
@pytest.mark.parametrize("registration_status", Registration.Status.values)
@pytest.mark.parametrize("event_status", Event.Status.values)
def test_registration_state_rule_matches_the_table(event_status, registration_status, method):
    registration = RegistrationFactory(
        event=event_at(event_status, "upcoming"), status=registration_status
    )
    expected = REGISTRATION_TABLE[(event_status, registration_status)]
    assert getattr(registration, method)() == expected[REGISTRATION_METHODS.index(method)]


@pytest.mark.parametrize(
    ("timing", "closes", "changed", "cancelled"),
    [
        ("upcoming", -1, False, True),  # window closed: may still withdraw
        ("under_way", None, True, True),
        ("over", None, False, False),  # published but over: nothing any more
    ],
)
def test_registration_owner_rules_follow_the_window_and_the_end(timing, closes, changed, cancelled):
    now = timezone.now()
    event = event_at(
        P,
        timing,
        registration_opens_at=now - datetime.timedelta(hours=48) if closes else None,
        registration_closes_at=now + datetime.timedelta(hours=closes) if closes else None,
    )
    registration = RegistrationFactory(event=event)
    assert (
        registration.can_be_changed_by_owner(),
        registration.can_be_cancelled_by_owner(),
    ) == (changed, cancelled)


# --- the manage list and the event's header agree ------------------------------------------


def _hrefs(fragment: str) -> set[str]:
    return set(re.findall(r'href="([^"]+)"', fragment))


def list_row_links(content: str, event) -> set[str]:
    rows = re.findall(r"<tr>.*?</tr>", content, re.S)
    [row] = [r for r in rows if reverse("events:registrations", args=[event.pk]) in r]
    return _hrefs(re.search(r'<ul class="row-actions">(.*?)</ul>', row, re.S).group(1))


def header_state_links(content: str) -> set[str]:
    nav = re.search(r'<nav class="event-actions".*?</nav>', content, re.S).group(0)
    return _hrefs("".join(re.findall(r'<li class="state-action">.*?</li>', nav, re.S)))


def links(event, *names) -> set[str]:
    return {reverse(f"events:{name}", args=[event.pk]) for name in names}


@pytest.mark.parametrize(
    ("status", "timing", "expected"),
    [
        (F, "over", ("checkin", "finish")),
        (P, "under_way", ("checkin", "finish", "cancel")),
        (P, "upcoming", ("checkin", "cancel")),
        (D, "upcoming", ("publish", "delete")),
        (C, "upcoming", ()),
    ],
)
def test_manage_list_and_event_header_show_the_same_action_links(
    client_for, secretariat, status, timing, expected
):
    event = event_at(status, timing)
    EventFactory(title="ほかの会")  # another row, whose links must not mix in
    client = client_for(secretariat)
    row = list_row_links(client.get(reverse("events:manage_list")).content.decode(), event)
    header = header_state_links(
        client.get(reverse("events:registrations", args=[event.pk])).content.decode()
    )
    assert row == header
    assert row == links(event, *expected)


def test_finished_event_header_pages_follow_its_rules(client_for, secretariat):
    event = event_at(F, "over")
    content = client_for(secretariat).get(reverse("events:registrations", args=[event.pk]))
    nav = re.search(r'<nav class="event-actions".*?</nav>', content.content.decode(), re.S)
    assert _hrefs(nav.group(0)) == links(
        event, "registrations", "edit", "sessions", "message", "copy", "checkin", "finish"
    ) | {event.get_absolute_url()}


# --- the views refuse what the methods refuse ------------------------------------------------


def test_checkin_page_of_a_draft_is_refused(client_for, secretariat):
    event = event_at(D, "upcoming")
    response = client_for(secretariat).get(reverse("events:checkin", args=[event.pk]), follow=True)
    assert response.redirect_chain == [(reverse("events:registrations", args=[event.pk]), 302)]
    assert "受付できるのは公開中か終了したイベントだけです。" in response.content.decode()


def test_checkin_toggle_of_a_cancelled_event_changes_nothing(client_for, secretariat):
    event = event_at(C, "under_way")
    registration = RegistrationFactory(event=event)
    response = client_for(secretariat).post(
        reverse("events:checkin_toggle", args=[event.pk, registration.pk]),
        {"attended": "1"},
        headers={"accept": "application/json"},
    )
    assert (response.status_code, response.json()["error"]) == (
        400,
        "受付できるのは公開中か終了したイベントだけです。",
    )
    registration.refresh_from_db()
    assert (registration.attended, registration.attended_at) == (False, None)


def test_bulk_message_page_of_a_draft_is_refused(client_for, secretariat):
    event = event_at(D, "upcoming")
    response = client_for(secretariat).get(reverse("events:message", args=[event.pk]), follow=True)
    assert response.redirect_chain == [(reverse("events:registrations", args=[event.pk]), 302)]
    assert "下書きのイベントには申込者がいないため" in response.content.decode()


def test_send_bulk_message_refuses_a_draft(secretariat):
    event = event_at(D, "upcoming")
    with pytest.raises(services.RegistrationError) as refused:
        services.send_bulk_message(event=event, subject="件名", body="本文", by=secretariat)
    assert refused.value.code == "draft"


def test_member_cannot_cancel_after_the_meeting_is_over(client_for, contractor_member):
    event = event_at(P, "over")
    registration = RegistrationFactory(event=event, user=contractor_member)
    response = client_for(contractor_member).post(
        reverse("events:registration_cancel", args=[registration.pk]), follow=True
    )
    assert response.redirect_chain == [(event.get_absolute_url(), 302)]
    registration.refresh_from_db()
    assert registration.status == Registration.Status.CONFIRMED
    with pytest.raises(services.RegistrationError) as refused:
        services.cancel_registration(registration=registration, by=contractor_member)
    assert refused.value.code == "not_published"


def test_member_list_offers_only_cancel_once_the_window_closed(client_for, contractor_member):
    now = timezone.now()
    event = event_at(
        P,
        "upcoming",
        registration_opens_at=now - datetime.timedelta(days=2),
        registration_closes_at=now - datetime.timedelta(hours=1),
    )
    registration = RegistrationFactory(event=event, user=contractor_member)
    content = client_for(contractor_member).get(reverse("events:mine")).content.decode()
    assert reverse("events:registration_cancel", args=[registration.pk]) in content
    assert reverse("events:registration_edit", args=[registration.pk]) not in content


@pytest.mark.parametrize(
    ("status", "button"),
    [(F, "未送信の人にお礼メールを送る"), (P, "終了にしてお礼メールを送る")],
)
def test_finish_page_button_follows_can_send_thanks(client_for, secretariat, status, button):
    event = event_at(status, "over")
    content = client_for(secretariat).get(reverse("events:finish", args=[event.pk]))
    buttons = re.findall(
        r'<button type="submit" class="button">(.*?)</button>', content.content.decode()
    )
    assert buttons == [button]
