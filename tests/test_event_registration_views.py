"""Registering, changing and cancelling through the pages (members and the
public), "my registrations" and the calendar feed settings."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from events import services
from events.models import CalendarFeed, Event, Registration

from .event_factories import EventFactory, RegistrationFactory, SessionFactory
from .factories import MembershipFactory, OrganisationFactory, UserFactory

MINE = reverse("events:mine")
SETTINGS = reverse("events:calendar_settings")


def _register_url(event):
    return reverse("events:register", args=[event.pk])


def _guest_url(event):
    return reverse("events:register_guest", args=[event.pk])


def _messages(response):
    return [str(message) for message in response.context["messages"]]


# --- member registration -------------------------------------------------------------


def test_register_confirms_a_member_and_says_so(client_for, contractor_member, contractor_org):
    event = EventFactory(title="第2回 情報交換会")
    client = client_for(contractor_member)

    form_page = client.get(_register_url(event)).content.decode()
    assert "会場で参加" in form_page and "オンラインで参加" in form_page
    # With one organisation the question is not asked.
    assert "どの所属として参加しますか" not in form_page

    response = client.post(
        _register_url(event),
        {"mode": "online", "question": "就労支援の連携について知りたい"},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == event.get_absolute_url()
    registration = Registration.objects.get(event=event, user=contractor_member)
    assert registration.status == Registration.Status.CONFIRMED
    assert registration.mode == Registration.Mode.ONLINE
    assert registration.organisation == contractor_org
    assert registration.question == "就労支援の連携について知りたい"
    assert "参加が確定しました。" in _messages(response)
    # Confirmed online: the page now shows the link.
    assert event.online_url in response.content.decode()


def test_register_when_full_waitlists_with_the_position(client_for, contractor_member):
    event = EventFactory(format=Event.Format.VENUE, venue_capacity=1, online_capacity=None)
    RegistrationFactory(event=event)
    RegistrationFactory(event=event, status=Registration.Status.WAITLISTED)
    client = client_for(contractor_member)

    response = client.post(_register_url(event), {"mode": "venue"}, follow=True)

    registration = Registration.objects.get(event=event, user=contractor_member)
    assert registration.status == Registration.Status.WAITLISTED
    assert any("キャンセル待ち（2番目）" in message for message in _messages(response))
    assert "キャンセル待ちの2番目です" in response.content.decode()


def test_register_offers_only_the_modes_of_the_format(client_for, contractor_member):
    event = EventFactory(format=Event.Format.VENUE)
    client = client_for(contractor_member)

    page = client.get(_register_url(event)).content.decode()
    assert "オンラインで参加" not in page

    response = client.post(_register_url(event), {"mode": "online"})
    assert response.status_code == 200
    assert response.context["form"].errors["mode"]
    assert not Registration.objects.filter(event=event).exists()


def test_register_with_limited_sessions_requires_one_of_this_events(client_for, contractor_member):
    event = EventFactory()
    session = SessionFactory(event=event, title="家計の分科会", capacity=5)
    foreign = SessionFactory(title="よその分科会")
    client = client_for(contractor_member)

    page = client.get(_register_url(event)).content.decode()
    assert "家計の分科会（残り5席）" in page
    assert "よその分科会" not in page

    assert client.post(_register_url(event), {"mode": "venue"}).context["form"].errors["session"]
    response = client.post(_register_url(event), {"mode": "venue", "session": foreign.pk})
    assert response.context["form"].errors["session"]
    assert not Registration.objects.filter(event=event).exists()

    client.post(_register_url(event), {"mode": "venue", "session": session.pk})
    assert Registration.objects.get(event=event, user=contractor_member).session == session


def test_register_session_without_capacity_is_optional(client_for, contractor_member):
    event = EventFactory()
    SessionFactory(event=event, capacity=None)
    client = client_for(contractor_member)

    assert "当日決めても構いません" in client.get(_register_url(event)).content.decode()
    client.post(_register_url(event), {"mode": "venue", "session": ""})
    assert Registration.objects.get(event=event, user=contractor_member).session is None


def test_register_asks_about_the_social_only_when_there_is_one(client_for, contractor_member):
    without = EventFactory()
    with_social = EventFactory(has_social=True, social_capacity=1, social_details="18時から")
    RegistrationFactory(event=with_social, social=Registration.SocialStatus.CONFIRMED)
    client = client_for(contractor_member)

    assert "懇親会" not in client.get(_register_url(without)).content.decode()
    page = client.get(_register_url(with_social)).content.decode()
    assert "懇親会" in page and "18時から" in page

    response = client.post(
        _register_url(with_social), {"mode": "venue", "social": "yes"}, follow=True
    )
    registration = Registration.objects.get(event=with_social, user=contractor_member)
    assert registration.status == Registration.Status.CONFIRMED
    assert registration.social == Registration.SocialStatus.WAITLISTED
    assert any("懇親会は定員に達しているため" in m for m in _messages(response))


def test_register_asks_which_organisation_when_the_user_has_several(
    client_for, contractor_member, contractor_org
):
    second = OrganisationFactory(name="江別ワーカーズ")
    MembershipFactory(user=contractor_member, organisation=second)
    event = EventFactory()
    client = client_for(contractor_member)

    assert "どの所属として参加しますか" in client.get(_register_url(event)).content.decode()
    response = client.post(_register_url(event), {"mode": "venue"})
    assert response.context["form"].errors["organisation"]

    client.post(_register_url(event), {"mode": "venue", "organisation": second.pk})
    assert Registration.objects.get(event=event, user=contractor_member).organisation == second


def test_register_for_an_event_the_member_may_not_see_is_404(
    client_for, contractor_member, outsider
):
    municipal_only = EventFactory(audience=Event.Audience.MUNICIPAL)
    members = EventFactory()

    response = client_for(contractor_member).post(_register_url(municipal_only), {"mode": "venue"})
    assert response.status_code == 404
    assert client_for(outsider).get(_register_url(members)).status_code == 404
    assert client_for(None).get(_register_url(members)).status_code == 302
    assert not Registration.objects.exists()


def test_register_twice_sends_to_the_existing_registration(client_for, contractor_member):
    event = EventFactory()
    existing = RegistrationFactory(event=event, user=contractor_member)

    response = client_for(contractor_member).get(_register_url(event))

    assert response.status_code == 302
    assert response.url == reverse("events:registration_edit", args=[existing.pk])
    assert Registration.objects.filter(event=event).count() == 1


def test_register_for_a_cancelled_event_writes_nothing(client_for, contractor_member):
    event = EventFactory(status=Event.Status.CANCELLED)
    response = client_for(contractor_member).post(
        _register_url(event), {"mode": "venue"}, follow=True
    )
    assert "このイベントは現在申込を受け付けていません。" in _messages(response)
    assert not Registration.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"mode": "teleport"},
        {"mode": ["venue", "online"]},
        {"mode": "venue", "session": "abc"},
        {"mode": "venue", "session": "999999"},
        {"mode": "venue", "organisation": "x"},
        {"mode": "venue", "social": "maybe"},
        {"mode": "venue", "question": "あ" * 5000},
        {"mode": "venue\x00"},
    ],
)
def test_register_random_input_never_500(client_for, contractor_member, data):
    event = EventFactory(has_social=True)
    SessionFactory(event=event, capacity=3)
    response = client_for(contractor_member).post(_register_url(event), data)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Registration.objects.exists()


# --- change and cancel -----------------------------------------------------------------


def test_registration_edit_changes_mode_and_question(client_for, contractor_member):
    event = EventFactory()
    registration = RegistrationFactory(event=event, user=contractor_member, question="前の質問")
    url = reverse("events:registration_edit", args=[registration.pk])
    client = client_for(contractor_member)

    page = client.get(url).content.decode()
    assert "前の質問" in page

    response = client.post(url, {"mode": "online", "question": "新しい質問"}, follow=True)

    registration.refresh_from_db()
    assert registration.mode == Registration.Mode.ONLINE
    assert registration.question == "新しい質問"
    assert registration.status == Registration.Status.CONFIRMED
    assert any(m.startswith("申込内容を変更しました。") for m in _messages(response))


def test_registration_cancel_asks_first_then_promotes_the_first_waiting(
    client_for, contractor_member, mailoutbox, django_capture_on_commit_callbacks
):
    event = EventFactory(format=Event.Format.VENUE, venue_capacity=1, title="第3回 情報交換会")
    mine = RegistrationFactory(event=event, user=contractor_member)
    waiting = RegistrationFactory(
        event=event,
        status=Registration.Status.WAITLISTED,
        user=UserFactory(email="waiting@example.org"),
    )
    url = reverse("events:registration_cancel", args=[mine.pk])
    client = client_for(contractor_member)

    page = client.get(url)
    assert "申込をキャンセルします。よろしいですか？" in page.content.decode()
    mine.refresh_from_db()
    assert mine.status == Registration.Status.CONFIRMED  # GET changes nothing

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, follow=True)

    assert response.redirect_chain[-1][0] == MINE
    mine.refresh_from_db()
    waiting.refresh_from_db()
    assert mine.status == Registration.Status.CANCELLED
    assert waiting.status == Registration.Status.CONFIRMED
    assert "「第3回 情報交換会」の申込をキャンセルしました。" in _messages(response)
    assert "waiting@example.org" in [m.to[0] for m in mailoutbox]


def test_registration_edit_and_cancel_of_someone_else_are_404(
    client_for, contractor_member, org_admin, contractor_org
):
    # Even the org admin, who may see the registration in the organisation's
    # list, may not change or cancel it.
    theirs = RegistrationFactory(user=contractor_member, organisation=contractor_org)
    client = client_for(org_admin)

    assert client.get(reverse("events:registration_edit", args=[theirs.pk])).status_code == 404
    response = client.post(reverse("events:registration_cancel", args=[theirs.pk]))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Registration.Status.CONFIRMED


def test_registration_cancel_of_a_cancelled_registration_is_404(client_for, contractor_member):
    gone = RegistrationFactory(user=contractor_member, status=Registration.Status.CANCELLED)
    url = reverse("events:registration_cancel", args=[gone.pk])
    assert client_for(contractor_member).get(url).status_code == 404


# --- public registration ---------------------------------------------------------------


def _guest_data(**overrides):
    data = {
        "full_name": "一般 参加者",
        "full_name_kana": "いっぱん さんかしゃ",
        "email": "guest@example.net",
        "organisation_name": "NPO法人 どさんこ",
        "mode": "venue",
        "question": "地域の居場所づくりについて",
        "website": "",
    }
    data.update(overrides)
    return data


def test_guest_registration_end_to_end(
    db, client_for, mailoutbox, django_capture_on_commit_callbacks
):
    # `db` first: setting up the database resets django.core.mail.outbox,
    # which must happen before `mailoutbox` takes hold of it.
    event = EventFactory(
        audience=Event.Audience.PUBLIC, title="公開シンポジウム", format=Event.Format.VENUE
    )
    client = client_for(None)

    assert "確認メールを送る" in client.get(_guest_url(event)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_guest_url(event), _guest_data())

    assert response.status_code == 200
    assert "確認メールを送りました" in response.content.decode()
    registration = Registration.objects.get(event=event)
    assert registration.status == Registration.Status.PENDING
    assert registration.user.email == "guest@example.net"
    assert registration.user.full_name == "一般 参加者"
    assert registration.organisation_name == "NPO法人 どさんこ"
    assert not registration.user.has_usable_password()

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["guest@example.net"]
    link = re.search(r"https?://\S+/events/registrations/confirm/\S+/", mailoutbox[0].body)
    assert link
    path = "/" + link.group(0).split("/", 3)[3]

    page = client.get(path)
    assert page.status_code == 200
    assert "申込を確定する" in page.content.decode()
    registration.refresh_from_db()
    assert registration.status == Registration.Status.PENDING  # opening the link writes nothing

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(path)
    assert confirmed.status_code == 200
    assert "参加が確定しました" in confirmed.content.decode()
    registration.refresh_from_db()
    assert registration.status == Registration.Status.CONFIRMED

    used = client.get(path)
    assert used.status_code == 404
    assert "この確認リンクは無効か、すでに使われています。" in used.content.decode()
    assert client.post(path).status_code == 404
    registration.refresh_from_db()
    assert registration.status == Registration.Status.CONFIRMED


def test_guest_confirmation_when_full_waitlists(client_for, db):
    event = EventFactory(
        audience=Event.Audience.PUBLIC, format=Event.Format.VENUE, venue_capacity=1
    )
    client = client_for(None)
    client.post(_guest_url(event), _guest_data())
    registration = Registration.objects.get(event=event)
    RegistrationFactory(event=event)  # the last seat goes meanwhile

    token = "known-token"
    registration.confirmation_token_hash = services.hash_token(token)
    registration.save(update_fields=["confirmation_token_hash"])

    response = client.post(reverse("events:confirm_guest", args=[token]))

    registration.refresh_from_db()
    assert registration.status == Registration.Status.WAITLISTED
    assert "キャンセル待ち（1番目）" in response.content.decode()


def test_guest_confirm_with_an_unknown_token_writes_nothing(client_for, db):
    event = EventFactory(audience=Event.Audience.PUBLIC)
    client = client_for(None)
    client.post(_guest_url(event), _guest_data())

    for method in (client.get, client.post):
        response = method(reverse("events:confirm_guest", args=["forged-token"]))
        assert response.status_code == 404
        assert "この確認リンクは無効か、すでに使われています。" in response.content.decode()
    assert Registration.objects.get(event=event).status == Registration.Status.PENDING


def test_guest_honeypot_pretends_and_writes_nothing(db, client_for, mailoutbox):
    event = EventFactory(audience=Event.Audience.PUBLIC)
    response = client_for(None).post(_guest_url(event), _guest_data(website="http://spam"))
    assert "確認メールを送りました" in response.content.decode()
    assert not Registration.objects.exists()
    assert mailoutbox == []


def test_guest_form_validates_and_offers_the_events_choices(client_for, db):
    event = EventFactory(audience=Event.Audience.PUBLIC, format=Event.Format.ONLINE)
    client = client_for(None)
    page = client.get(_guest_url(event)).content.decode()
    assert "会場で参加" not in page and "オンラインで参加" in page

    response = client.post(_guest_url(event), _guest_data(email="not-an-address", mode="venue"))
    assert response.context["form"].errors.keys() >= {"email", "mode"}
    assert not Registration.objects.exists()


def test_guest_form_only_for_public_events(client_for, contractor_member, db):
    members_only = EventFactory()
    public = EventFactory(audience=Event.Audience.PUBLIC)

    assert client_for(None).get(_guest_url(members_only)).status_code == 404
    assert client_for(None).post(_guest_url(members_only), _guest_data()).status_code == 404
    # Members use their account instead.
    response = client_for(contractor_member).get(_guest_url(public))
    assert response.status_code == 302 and response.url == _register_url(public)
    assert not Registration.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"email": "a" * 400 + "@example.org"},
        {"mode": "bus"},
        {"full_name": "x" * 1000},
        {"mode": ""},
    ],
)
def test_guest_form_random_input_never_500(client_for, db, data):
    event = EventFactory(audience=Event.Audience.PUBLIC)
    response = client_for(None).post(_guest_url(event), _guest_data(**data) if data else {})
    assert response.status_code == 200
    assert not Registration.objects.exists()


# --- my registrations ---------------------------------------------------------------------


def test_mine_lists_upcoming_and_past_registrations(client_for, contractor_member):
    start = timezone.now() - datetime.timedelta(days=30)
    past = EventFactory(
        title="先月の会", starts_at=start, ends_at=start + datetime.timedelta(hours=2)
    )
    RegistrationFactory(event=past, user=contractor_member, attended=True)
    RegistrationFactory(event=EventFactory(title="来月の会"), user=contractor_member)
    RegistrationFactory(
        event=EventFactory(title="やめた会"),
        user=contractor_member,
        status=Registration.Status.CANCELLED,
    )
    RegistrationFactory(event=EventFactory(title="他人の会"))
    client = client_for(contractor_member)

    upcoming = client.get(MINE).content.decode()
    assert "来月の会" in upcoming
    assert "先月の会" not in upcoming and "やめた会" not in upcoming and "他人の会" not in upcoming
    assert reverse("events:calendar_settings") in upcoming

    history = client.get(MINE, {"when": "past"}).content.decode()
    assert "先月の会" in history and "出席" in history
    assert "やめた会" in history
    assert "来月の会" not in history and "他人の会" not in history


def test_mine_empty_state(client_for, contractor_member):
    assert (
        "参加予定のイベントはありません。"
        in client_for(contractor_member).get(MINE).content.decode()
    )


@pytest.mark.parametrize("n", [1, 50])
def test_mine_query_count(client_for, contractor_member, django_assert_num_queries, n):
    for _ in range(n):
        RegistrationFactory(user=contractor_member, session=SessionFactory())
    client = client_for(contractor_member)
    # session, user, roles (groups, memberships), count, page.
    with django_assert_num_queries(6):
        response = client.get(MINE)
    assert len(response.context["page_obj"]) == n


def test_mine_links_an_org_admin_to_the_organisations_registrations(
    client_for, org_admin, contractor_org
):
    content = client_for(org_admin).get(MINE).content.decode()
    assert reverse("events:organisation_registrations", args=[contractor_org.pk]) in content


# --- calendar feed settings -----------------------------------------------------------------


def test_calendar_settings_get_creates_nothing(client_for, contractor_member):
    content = client_for(contractor_member).get(SETTINGS).content.decode()
    assert "配信URLを作成する" in content
    assert not CalendarFeed.objects.exists()


def test_calendar_settings_create_then_regenerate(client_for, contractor_member):
    client = client_for(contractor_member)

    client.post(SETTINGS, {"action": "create"})
    feed = CalendarFeed.objects.get(user=contractor_member)
    page = client.get(SETTINGS).content.decode()
    feed_url = "http://testserver" + reverse("events:feed", args=[feed.token])
    assert feed_url in page
    assert "Googleカレンダー" in page and "Outlook" in page
    assert client.get(reverse("events:feed", args=[feed.token])).status_code == 200

    # Creating again keeps the same URL.
    client.post(SETTINGS, {"action": "create"})
    assert CalendarFeed.objects.get(user=contractor_member).token == feed.token

    confirm = client.get(SETTINGS, {"regenerate": "1"}).content.decode()
    assert "配信URLを作り直しますか？" in confirm
    assert CalendarFeed.objects.get(user=contractor_member).token == feed.token

    client.post(SETTINGS, {"action": "regenerate"})
    new_token = CalendarFeed.objects.get(user=contractor_member).token
    assert new_token != feed.token
    assert client.get(reverse("events:feed", args=[feed.token])).status_code == 404
    assert client.get(reverse("events:feed", args=[new_token])).status_code == 200


def test_calendar_settings_needs_login(client_for, db):
    assert client_for(None).get(SETTINGS).status_code == 302
    assert client_for(None).post(SETTINGS, {"action": "create"}).status_code == 302
    assert not CalendarFeed.objects.exists()


def test_mine_needs_an_account_but_not_a_membership(client_for, outsider):
    # Someone who registered for a public event through the public form and
    # later claimed the account (or left their organisation) still manages
    # their own registrations.
    event = EventFactory(audience=Event.Audience.PUBLIC, title="公開の勉強会")
    registration = RegistrationFactory(event=event, user=outsider)

    assert client_for(None).get(MINE).status_code == 302
    client = client_for(outsider)
    assert "公開の勉強会" in client.get(MINE).content.decode()
    cancel = reverse("events:registration_cancel", args=[registration.pk])
    assert client.get(cancel).status_code == 200
    # Registering with the account is still for members only.
    assert client.get(_register_url(event)).status_code == 404
