"""events.services: refusals, seats and waiting lists, guests, the event life cycle,
and the notifications each step leaves in the outbox and the mailbox."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.models import OutboxMessage
from core.templatetags.wareki import jdate
from events import services
from events.models import Event, Registration, Session
from events.services import RegistrationError

from .event_factories import EventFactory, RegistrationFactory, SessionFactory
from .factories import MembershipFactory, OrganisationFactory, program

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """committed(service, **kwargs): call a service and run its on-commit work
    (the outbox deliveries), as after a real request."""

    def call(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return call


def member(**kwargs):
    return MembershipFactory(**kwargs).user


def refusal(excinfo) -> str:
    return excinfo.value.messages[0]


def keys() -> set[str]:
    return set(OutboxMessage.objects.values_list("key", flat=True))


# --- refusals -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_kwargs", "message"),
    [
        ({"status": Event.Status.DRAFT}, "このイベントは申し込みを受け付けていません。"),
        ({"status": Event.Status.CANCELLED}, "このイベントは申し込みを受け付けていません。"),
        ({"status": Event.Status.FINISHED}, "このイベントは申し込みを受け付けていません。"),
        (
            {"registration_closes_at": timezone.now() - datetime.timedelta(hours=1)},
            "申込受付は終了しました。",
        ),
        (
            {
                "starts_at": timezone.now() - datetime.timedelta(hours=5),
                "ends_at": timezone.now() - datetime.timedelta(hours=2),
            },
            "このイベントは終了しました。",
        ),
    ],
)
def test_register_refuses_event_not_taking_registrations(contractor_member, event_kwargs, message):
    event = EventFactory(**event_kwargs)

    with pytest.raises(RegistrationError) as excinfo:
        services.register(event=event, user=contractor_member, mode="venue")

    assert refusal(excinfo) == message
    assert not Registration.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_register_refuses_before_registration_opens(contractor_member):
    opens = timezone.now() + datetime.timedelta(days=3)
    event = EventFactory(registration_opens_at=opens)

    with pytest.raises(RegistrationError) as excinfo:
        services.register(event=event, user=contractor_member, mode="venue")

    local = timezone.localtime(opens)
    assert refusal(excinfo) == f"申込受付は{jdate(local)} {local:%H:%M}からです。"


def test_registration_error_is_a_validation_error():
    assert issubclass(RegistrationError, ValidationError)


@pytest.mark.parametrize(
    ("event_format", "mode", "message"),
    [
        (Event.Format.ONLINE, "venue", "このイベントは会場での参加を受け付けていません。"),
        (Event.Format.VENUE, "online", "このイベントはオンラインでの参加を受け付けていません。"),
        (Event.Format.HYBRID, "carrier-pigeon", "参加方法を選んでください。"),
    ],
)
def test_register_refuses_mode_not_offered(contractor_member, event_format, mode, message):
    event = EventFactory(format=event_format)

    with pytest.raises(RegistrationError) as excinfo:
        services.register(event=event, user=contractor_member, mode=mode)

    assert refusal(excinfo) == message


def test_register_refuses_session_of_another_event(contractor_member):
    event = EventFactory()
    elsewhere = SessionFactory(event=EventFactory())

    with pytest.raises(RegistrationError) as excinfo:
        services.register(event=event, user=contractor_member, mode="venue", session=elsewhere)

    assert refusal(excinfo) == "選択した分科会はこのイベントのものではありません。"


def test_register_refuses_social_when_event_has_none(contractor_member):
    event = EventFactory(has_social=False)

    with pytest.raises(RegistrationError) as excinfo:
        services.register(event=event, user=contractor_member, mode="venue", social=True)

    assert refusal(excinfo) == "このイベントには懇親会がありません。"


@pytest.mark.parametrize(
    ("actor", "audience"),
    [
        ("outsider", Event.Audience.MEMBERS),
        ("contractor_member", Event.Audience.MUNICIPAL),
        ("municipal_member", Event.Audience.CONTRACTOR),
        ("contractor_member", Event.Audience.PROGRAM),
    ],
)
def test_register_refuses_people_outside_the_audience(request, actor, audience):
    user = request.getfixturevalue(actor)
    event = EventFactory(
        audience=audience,
        audience_program=program() if audience == Event.Audience.PROGRAM else None,
    )

    with pytest.raises(RegistrationError) as excinfo:
        services.register(event=event, user=user, mode="venue")

    assert refusal(excinfo) == "このイベントにはお申し込みいただけません。"


def test_register_program_audience_takes_organisations_running_it():
    organisation = OrganisationFactory()
    organisation.programs.add(program())
    user = member(organisation=organisation)
    event = EventFactory(audience=Event.Audience.PROGRAM, audience_program=program())

    registration = services.register(event=event, user=user, mode="venue")

    assert registration.status == "confirmed"


def test_register_outsider_may_register_for_public_event(outsider):
    event = EventFactory(audience=Event.Audience.PUBLIC)

    registration = services.register(event=event, user=outsider, mode="online")

    assert registration.status == "confirmed"
    assert registration.organisation is None


def test_register_refuses_inactive_user(contractor_member):
    contractor_member.is_active = False
    contractor_member.save()

    with pytest.raises(RegistrationError) as excinfo:
        services.register(event=EventFactory(), user=contractor_member, mode="venue")

    assert refusal(excinfo) == "このアカウントではお申し込みいただけません。"


def test_register_refuses_second_active_registration(contractor_member):
    event = EventFactory()
    services.register(event=event, user=contractor_member, mode="venue")

    with pytest.raises(RegistrationError) as excinfo:
        services.register(event=event, user=contractor_member, mode="online")

    assert refusal(excinfo) == "すでにお申し込み済みです。"
    assert Registration.objects.filter(event=event).count() == 1


def test_register_database_refuses_duplicate_even_past_the_check(contractor_member, monkeypatch):
    """The partial unique index is the last line: a duplicate that slips past
    the friendly check becomes the same refusal, not an error page."""
    event = EventFactory()
    RegistrationFactory(event=event, user=contractor_member)
    monkeypatch.setattr(
        services.Registration.objects,
        "filter",
        _hide_existing(services.Registration.objects.filter),
    )

    with pytest.raises(RegistrationError) as excinfo:
        services.register(event=event, user=contractor_member, mode="venue")

    assert refusal(excinfo) == "すでにお申し込み済みです。"


def _hide_existing(real_filter):
    def fake(*args, **kwargs):
        if set(kwargs) == {"event", "user"}:
            return Registration.objects.none()
        return real_filter(*args, **kwargs)

    return fake


def test_register_may_register_again_after_cancelling(contractor_member):
    event = EventFactory()
    first = services.register(event=event, user=contractor_member, mode="venue")
    services.cancel_registration(registration=first, by=contractor_member)

    second = services.register(event=event, user=contractor_member, mode="online")

    assert second.pk != first.pk
    assert second.status == "confirmed"


# --- organisation ---------------------------------------------------------------------


def test_register_defaults_to_the_only_organisation(contractor_member, contractor_org):
    registration = services.register(event=EventFactory(), user=contractor_member, mode="venue")

    assert registration.organisation == contractor_org


def test_register_with_several_organisations_needs_a_choice(contractor_member, other_org):
    MembershipFactory(user=contractor_member, organisation=other_org)
    event = EventFactory()

    with pytest.raises(RegistrationError) as excinfo:
        services.register(event=event, user=contractor_member, mode="venue")
    assert refusal(excinfo) == "どの所属組織として参加するか選んでください。"

    registration = services.register(
        event=event, user=contractor_member, mode="venue", organisation=other_org
    )
    assert registration.organisation == other_org


def test_register_refuses_organisation_of_someone_else(contractor_member, other_org):
    with pytest.raises(RegistrationError) as excinfo:
        services.register(
            event=EventFactory(), user=contractor_member, mode="venue", organisation=other_org
        )

    assert refusal(excinfo) == "選択した組織に所属していません。"


# --- the secretariat adds people ---------------------------------------------------------


def test_register_by_secretariat_ignores_window_and_audience(secretariat, outsider):
    event = EventFactory(
        audience=Event.Audience.MUNICIPAL,
        registration_closes_at=timezone.now() - datetime.timedelta(days=1),
    )

    registration = services.register(event=event, user=outsider, mode="venue", by=secretariat)

    assert registration.status == "confirmed"


def test_register_by_secretariat_still_respects_capacity(secretariat, contractor_member):
    event = EventFactory(venue_capacity=1)
    RegistrationFactory(event=event)

    registration = services.register(
        event=event, user=contractor_member, mode="venue", by=secretariat
    )

    assert registration.status == "waitlisted"


# --- seats, waiting lists, notifications ---------------------------------------------------


def test_register_confirmation_mail_says_what_and_when(committed, contractor_member, mailoutbox):
    event = EventFactory(title="第3回 情報交換会", venue_name="江別市民会館")

    registration = committed(services.register, event=event, user=contractor_member, mode="venue")

    message = OutboxMessage.objects.get(key=f"registration:{registration.pk}:confirmed")
    assert message.status == "sent"
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["npo@example.org"]
    assert mail.subject == "【つながり】参加申込を受け付けました：第3回 情報交換会"
    start = timezone.localtime(event.starts_at)
    assert f"{jdate(start)} 13:30〜16:30" in mail.body
    assert "江別市民会館" in mail.body
    assert f"http://127.0.0.1:8000/events/{event.pk}/" in mail.body
    assert "受託 花子 様" in mail.body
    assert event.online_url not in mail.body


def test_register_online_confirmation_does_not_reveal_url(committed, contractor_member, mailoutbox):
    event = EventFactory()

    committed(services.register, event=event, user=contractor_member, mode="online")

    assert event.online_url not in mailoutbox[0].body
    assert "開催前日にメールでお送りします" in mailoutbox[0].body


def test_register_when_full_waitlists_and_cancel_promotes(committed, mailoutbox):
    event = EventFactory(venue_capacity=2)
    first, second, third = (member() for _ in range(3))
    a = committed(services.register, event=event, user=first, mode="venue")
    b = committed(services.register, event=event, user=second, mode="venue")
    c = committed(services.register, event=event, user=third, mode="venue")
    assert [a.status, b.status, c.status] == ["confirmed", "confirmed", "waitlisted"]
    assert mailoutbox[2].subject.startswith("【つながり】キャンセル待ちで受け付けました")

    committed(services.cancel_registration, registration=a, by=first)

    a.refresh_from_db()
    c.refresh_from_db()
    assert a.status == "cancelled"
    assert a.cancelled_at is not None
    assert c.status == "confirmed"
    assert {f"registration:{a.pk}:cancelled", f"registration:{c.pk}:promoted"} <= keys()
    subjects = {m.to[0]: m.subject for m in mailoutbox[3:]}
    assert subjects[first.email].startswith("【つながり】キャンセルを受け付けました")
    assert subjects[third.email].startswith("【つながり】キャンセル待ちから参加が確定しました")
    assert len(mailoutbox) == 5


def test_cancel_registration_twice_changes_nothing(committed, contractor_member, mailoutbox):
    registration = committed(
        services.register, event=EventFactory(), user=contractor_member, mode="venue"
    )
    committed(services.cancel_registration, registration=registration, by=contractor_member)

    again = committed(services.cancel_registration, registration=registration, by=contractor_member)

    assert again.status == "cancelled"
    assert len(mailoutbox) == 2


def test_cancel_registration_refuses_someone_else(contractor_member, municipal_member):
    registration = services.register(event=EventFactory(), user=contractor_member, mode="venue")

    with pytest.raises(RegistrationError) as excinfo:
        services.cancel_registration(registration=registration, by=municipal_member)

    assert refusal(excinfo) == "この申し込みはキャンセルできません。"
    registration.refresh_from_db()
    assert registration.status == "confirmed"


def test_cancel_promotes_first_waitlisted_in_the_same_mode():
    event = EventFactory(venue_capacity=1, online_capacity=1)
    venue_1 = services.register(event=event, user=member(), mode="venue")
    services.register(event=event, user=member(), mode="online")
    online_2 = services.register(event=event, user=member(), mode="online")
    venue_2 = services.register(event=event, user=member(), mode="venue")
    venue_3 = services.register(event=event, user=member(), mode="venue")

    services.cancel_registration(registration=venue_1, by=venue_1.user)

    statuses = {
        r.pk: r.status
        for r in Registration.objects.filter(pk__in=[online_2.pk, venue_2.pk, venue_3.pk])
    }
    assert statuses == {
        online_2.pk: "waitlisted",
        venue_2.pk: "confirmed",
        venue_3.pk: "waitlisted",
    }


def test_social_waitlist_and_promotion_are_separate(committed, mailoutbox):
    event = EventFactory(venue_capacity=10, has_social=True, social_capacity=1)
    a = committed(services.register, event=event, user=member(), mode="venue", social=True)
    b = committed(services.register, event=event, user=member(), mode="venue", social=True)
    assert (a.status, a.social) == ("confirmed", "confirmed")
    assert (b.status, b.social) == ("confirmed", "waitlisted")
    assert "懇親会は満席のため、キャンセル待ちで受け付けました。" in mailoutbox[1].body

    # Dropping the 懇親会 only (a keeps the meeting seat) frees the social seat.
    committed(services.change_registration, registration=a, mode="venue", social=False, by=a.user)

    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, a.social) == ("confirmed", "none")
    assert (b.status, b.social) == ("confirmed", "confirmed")
    assert f"registration:{b.pk}:social-promoted" in keys()
    subjects = {m.subject for m in mailoutbox if m.to == [b.user.email]}
    assert any(s.startswith("【つながり】懇親会の参加が確定しました") for s in subjects)


def test_promotion_of_seat_and_social_sends_one_mail_stating_both(committed, mailoutbox):
    """The cancelled person held a seat and a 懇親会 place; the next person waits
    for both. They are promoted to both, and told so in one mail."""
    event = EventFactory(venue_capacity=1, online_capacity=None, has_social=True, social_capacity=1)
    first = committed(services.register, event=event, user=member(), mode="venue", social=True)
    second = committed(services.register, event=event, user=member(), mode="venue", social=True)
    assert (second.status, second.social) == ("waitlisted", "waitlisted")
    before = len(mailoutbox)

    committed(services.cancel_registration, registration=first, by=first.user)

    second.refresh_from_db()
    assert (second.status, second.social) == ("confirmed", "confirmed")
    to_second = [m for m in mailoutbox[before:] if m.to == [second.user.email]]
    assert len(to_second) == 1
    (mail,) = to_second
    assert mail.subject.startswith("【つながり】キャンセル待ちから参加が確定しました")
    assert "懇親会：参加確定" in mail.body.splitlines()
    assert "キャンセル待ち" not in mail.body.split("■", 1)[1]


def test_social_seat_freed_by_cancellation_goes_to_social_waitlist():
    event = EventFactory(venue_capacity=1, has_social=True, social_capacity=1)
    a = services.register(event=event, user=member(), mode="venue", social=True)
    b = services.register(event=event, user=member(), mode="venue", social=False)
    c = services.register(event=event, user=member(), mode="venue", social=True)
    assert (b.status, c.status, c.social) == ("waitlisted", "waitlisted", "waitlisted")

    services.cancel_registration(registration=a, by=a.user)

    b.refresh_from_db()
    c.refresh_from_db()
    # The meeting seat goes to b (first waiting); the 懇親会 seat to c.
    assert (b.status, b.social) == ("confirmed", "none")
    assert (c.status, c.social) == ("waitlisted", "confirmed")


def test_session_capacity_waitlists_and_promotes():
    event = EventFactory(venue_capacity=10)
    small = SessionFactory(event=event, capacity=1)
    roomy = SessionFactory(event=event, capacity=None)
    a = services.register(event=event, user=member(), mode="venue", session=small)
    b = services.register(event=event, user=member(), mode="venue", session=small)
    c = services.register(event=event, user=member(), mode="online", session=roomy)
    assert [a.status, b.status, c.status] == ["confirmed", "waitlisted", "confirmed"]

    services.cancel_registration(registration=a, by=a.user)

    b.refresh_from_db()
    assert b.status == "confirmed"


def test_change_to_full_mode_waitlists_and_frees_the_old_seat(committed, mailoutbox):
    event = EventFactory(venue_capacity=1, online_capacity=1)
    mover = committed(services.register, event=event, user=member(), mode="venue")
    committed(services.register, event=event, user=member(), mode="online")
    waiting = committed(services.register, event=event, user=member(), mode="venue")
    assert waiting.status == "waitlisted"
    mailoutbox.clear()

    changed = committed(
        services.change_registration, registration=mover, mode="online", by=mover.user
    )

    waiting.refresh_from_db()
    assert (changed.mode, changed.status) == ("online", "waitlisted")
    assert waiting.status == "confirmed"
    change_key = f"registration:{mover.pk}:changed:"
    assert any(key.startswith(change_key) for key in keys())
    bodies = {m.to[0]: m.body for m in mailoutbox}
    assert "キャンセル待ちになりました" in bodies[mover.user.email]
    assert "参加が確定しました" in bodies[waiting.user.email]


def test_change_to_mode_with_room_stays_confirmed(committed, contractor_member, mailoutbox):
    event = EventFactory()
    registration = committed(services.register, event=event, user=contractor_member, mode="venue")

    changed = committed(
        services.change_registration,
        registration=registration,
        mode="online",
        question="就労支援の連携について",
        by=contractor_member,
    )

    assert (changed.mode, changed.status) == ("online", "confirmed")
    assert changed.question == "就労支援の連携について"
    assert "現在の状態：参加確定" in mailoutbox[-1].body


def test_change_without_changes_sends_nothing(committed, contractor_member, mailoutbox):
    registration = committed(
        services.register, event=EventFactory(), user=contractor_member, mode="venue"
    )

    committed(
        services.change_registration, registration=registration, mode="venue", by=contractor_member
    )

    assert len(mailoutbox) == 1


def test_change_refuses_someone_else_and_cancelled(contractor_member, municipal_member):
    registration = services.register(event=EventFactory(), user=contractor_member, mode="venue")

    with pytest.raises(RegistrationError) as excinfo:
        services.change_registration(registration=registration, mode="online", by=municipal_member)
    assert refusal(excinfo) == "この申し込みは変更できません。"

    services.cancel_registration(registration=registration, by=contractor_member)
    with pytest.raises(RegistrationError) as excinfo:
        services.change_registration(registration=registration, mode="online", by=contractor_member)
    assert refusal(excinfo) == "キャンセル済みの申し込みは変更できません。"


def test_promoted_again_after_change_is_told_again(committed, mailoutbox):
    event = EventFactory(venue_capacity=1, online_capacity=1)
    holder_v = committed(services.register, event=event, user=member(), mode="venue")
    holder_o = committed(services.register, event=event, user=member(), mode="online")
    person = committed(services.register, event=event, user=member(), mode="venue")
    committed(services.cancel_registration, registration=holder_v, by=holder_v.user)
    person.refresh_from_db()
    assert person.status == "confirmed"
    committed(services.change_registration, registration=person, mode="online", by=person.user)
    person.refresh_from_db()
    assert person.status == "waitlisted"

    committed(services.cancel_registration, registration=holder_o, by=holder_o.user)

    person.refresh_from_db()
    assert person.status == "confirmed"
    assert {
        f"registration:{person.pk}:promoted",
        f"registration:{person.pk}:promoted:2",
    } <= keys()


def test_fill_waitlist_after_capacity_raised(committed, secretariat, mailoutbox):
    event = EventFactory(venue_capacity=1)
    services.register(event=event, user=member(), mode="venue")
    waiting = services.register(event=event, user=member(), mode="venue")
    Event.objects.filter(pk=event.pk).update(venue_capacity=2)

    promoted = committed(services.fill_waitlist, event=event, by=secretariat)

    assert [r.pk for r in promoted] == [waiting.pk]
    waiting.refresh_from_db()
    assert waiting.status == "confirmed"
    assert len(mailoutbox) == 1


def test_register_after_capacity_raised_serves_the_waiting_first():
    event = EventFactory(venue_capacity=1)
    services.register(event=event, user=member(), mode="venue")
    waiting = services.register(event=event, user=member(), mode="venue")
    Event.objects.filter(pk=event.pk).update(venue_capacity=2)

    newcomer = services.register(event=event, user=member(), mode="venue")

    waiting.refresh_from_db()
    assert waiting.status == "confirmed"
    assert newcomer.status == "waitlisted"


# --- attendance ---------------------------------------------------------------------------


def test_set_attended_marks_and_unmarks(secretariat):
    registration = RegistrationFactory()

    services.set_attended(registration=registration, attended=True, by=secretariat)
    registration.refresh_from_db()
    assert registration.attended is True
    assert registration.attended_at is not None

    services.set_attended(registration=registration, attended=False, by=secretariat)
    registration.refresh_from_db()
    assert (registration.attended, registration.attended_at) == (False, None)


def test_set_attended_is_for_the_secretariat(contractor_member):
    registration = RegistrationFactory(user=contractor_member)

    with pytest.raises(RegistrationError) as excinfo:
        services.set_attended(registration=registration, attended=True, by=contractor_member)

    assert refusal(excinfo) == "この操作を行う権限がありません。"


# --- guests ---------------------------------------------------------------------------------


def _guest(event, **kwargs):
    data = {
        "event": event,
        "email": "Guest@Example.org",
        "full_name": "一般 参加者",
        "full_name_kana": "いっぱん さんかしゃ",
        "organisation_name": "江別市民活動センター",
        "mode": "venue",
    }
    data.update(kwargs)
    return services.register_guest(**data)


def test_register_guest_is_pending_and_holds_no_seat(committed, mailoutbox):
    event = EventFactory(audience=Event.Audience.PUBLIC, venue_capacity=1)

    registration = committed(_guest, event=event)

    assert registration.status == "pending"
    assert registration.user.email == "guest@example.org"
    assert registration.user.is_contact
    assert registration.user.full_name == "一般 参加者"
    assert registration.organisation_name == "江別市民活動センター"
    assert registration.confirmation_token_hash == services.hash_token(registration.raw_token)
    mail = mailoutbox[0]
    assert mail.subject.startswith("【つながり】メールアドレスの確認をお願いします")
    assert f"/events/registrations/confirm/{registration.raw_token}/" in mail.body
    # The seat is still free for someone else.
    other = services.register(event=event, user=member(), mode="venue")
    assert other.status == "confirmed"


def test_confirm_guest_confirms_once(committed, mailoutbox):
    event = EventFactory(audience=Event.Audience.PUBLIC)
    pending = committed(_guest, event=event, social=False)

    confirmed = committed(services.confirm_guest, token=pending.raw_token)

    assert confirmed.pk == pending.pk
    assert confirmed.status == "confirmed"
    assert confirmed.confirmation_token_hash == ""
    assert mailoutbox[-1].subject.startswith("【つながり】参加申込を受け付けました")
    with pytest.raises(RegistrationError) as excinfo:
        services.confirm_guest(token=pending.raw_token)
    assert refusal(excinfo) == "この確認リンクは無効か、すでに使われています。"


def test_confirm_guest_when_full_is_waitlisted():
    event = EventFactory(
        audience=Event.Audience.PUBLIC, venue_capacity=1, has_social=True, social_capacity=0
    )
    pending = _guest(event=event, social=True)
    services.register(event=event, user=member(), mode="venue")

    registration = services.confirm_guest(token=pending.raw_token)

    assert (registration.status, registration.social) == ("waitlisted", "waitlisted")


def test_register_guest_again_before_confirming_replaces_the_link(committed, mailoutbox):
    event = EventFactory(audience=Event.Audience.PUBLIC)
    first = committed(_guest, event=event)

    second = committed(_guest, event=event, mode="online", email="guest@example.org")

    assert second.pk == first.pk
    assert second.mode == "online"
    assert len(mailoutbox) == 2
    with pytest.raises(RegistrationError):
        services.confirm_guest(token=first.raw_token)
    assert services.confirm_guest(token=second.raw_token).status == "confirmed"


def test_register_guest_keeps_existing_account_name(contractor_member):
    event = EventFactory(audience=Event.Audience.PUBLIC)

    request = _guest(event=event, email="npo@example.org", full_name="なりすまし")
    # Not the account's registration until the link is opened from its mailbox.
    assert not Registration.objects.filter(user=contractor_member).exists()
    registration = services.confirm_guest(token=request.raw_token)

    assert registration.user == contractor_member
    contractor_member.refresh_from_db()
    assert contractor_member.full_name == "受託 花子"


def test_register_guest_refuses_members_only_event():
    with pytest.raises(RegistrationError) as excinfo:
        _guest(event=EventFactory(audience=Event.Audience.MEMBERS))

    assert refusal(excinfo) == "このイベントは一般公開されていません。"
    assert not Registration.objects.exists()


def test_confirm_guest_refuses_unknown_token():
    with pytest.raises(RegistrationError):
        services.confirm_guest(token="not-a-token")


def test_guest_cannot_change_before_confirming():
    event = EventFactory(audience=Event.Audience.PUBLIC)
    pending = _guest(event=event)

    with pytest.raises(RegistrationError) as excinfo:
        services.change_registration(registration=pending, mode="online", by=pending.user)

    assert refusal(excinfo) == "メールアドレスの確認が済んでいないため、変更できません。"


# --- the event life cycle -------------------------------------------------------------------


def test_copy_event_makes_a_draft_with_sessions(secretariat):
    event = EventFactory(
        title="第4回 情報交換会",
        report_url="https://example.org/report.pdf",
        video_url="https://example.org/video",
    )
    SessionFactory(event=event, title="家計改善", capacity=10, order=1)
    SessionFactory(event=event, title="就労支援", capacity=None, order=2)
    RegistrationFactory(event=event)

    copy = services.copy_event(event=event, by=secretariat)

    assert copy.pk != event.pk
    assert copy.status == "draft"
    assert copy.title == "第4回 情報交換会（コピー）"
    assert copy.starts_at == event.starts_at
    assert (copy.report_url, copy.video_url) == ("", "")
    assert list(copy.sessions.values_list("title", "capacity", "order")) == [
        ("家計改善", 10, 1),
        ("就労支援", None, 2),
    ]
    assert not copy.registrations.exists()
    assert event.sessions.count() == 2


def test_publish_event_publishes_drafts_only(secretariat):
    draft = EventFactory(status=Event.Status.DRAFT)
    assert services.publish_event(event=draft, by=secretariat).status == "published"

    with pytest.raises(RegistrationError) as excinfo:
        services.publish_event(event=EventFactory(status=Event.Status.CANCELLED), by=secretariat)
    assert refusal(excinfo) == "中止または終了したイベントは公開できません。"


def test_event_services_are_for_the_secretariat(contractor_member):
    event = EventFactory()
    for call in (
        lambda: services.copy_event(event=event, by=contractor_member),
        lambda: services.publish_event(event=event, by=contractor_member),
        lambda: services.cancel_event(event=event, reason="台風", by=contractor_member),
        lambda: services.finish_event(event=event, by=contractor_member),
        lambda: services.send_bulk_message(
            event=event, subject="件名", body="本文", statuses=["confirmed"], by=contractor_member
        ),
    ):
        with pytest.raises(RegistrationError) as excinfo:
            call()
        assert refusal(excinfo) == "この操作を行う権限がありません。"
    event.refresh_from_db()
    assert event.status == "published"


def test_cancel_event_notifies_everyone_active(committed, secretariat, mailoutbox):
    event = EventFactory(audience=Event.Audience.PUBLIC, venue_capacity=1)
    confirmed = services.register(event=event, user=member(), mode="venue")
    waitlisted = services.register(event=event, user=member(), mode="venue")
    pending = _guest(event=event)
    gone = services.register(event=event, user=member(), mode="online")
    services.cancel_registration(registration=gone, by=gone.user)

    committed(services.cancel_event, event=event, reason="台風の接近のため", by=secretariat)

    event.refresh_from_db()
    assert event.status == "cancelled"
    assert event.cancellation_reason == "台風の接近のため"
    assert {m.to[0] for m in mailoutbox} == {
        confirmed.user.email,
        waitlisted.user.email,
        pending.user.email,
    }
    assert all("台風の接近のため" in m.body for m in mailoutbox)
    assert all(m.subject.startswith("【つながり】開催中止のお知らせ") for m in mailoutbox)
    assert f"event:{event.pk}:cancelled:{confirmed.pk}" in keys()

    committed(services.cancel_event, event=event, reason="再送", by=secretariat)
    assert len(mailoutbox) == 3


def test_cancel_event_needs_a_reason(secretariat):
    with pytest.raises(RegistrationError) as excinfo:
        services.cancel_event(event=EventFactory(), reason="  ", by=secretariat)

    assert refusal(excinfo) == "中止の理由を入力してください。"


def _past_event(**kwargs):
    start = timezone.now() - datetime.timedelta(hours=5)
    return EventFactory(starts_at=start, ends_at=start + datetime.timedelta(hours=3), **kwargs)


def test_finish_event_thanks_those_who_came_with_materials(committed, secretariat, mailoutbox):
    event = _past_event(
        report_url="https://example.org/report.pdf", video_url="https://example.org/v"
    )
    came = RegistrationFactory(event=event)
    RegistrationFactory(event=event, status=Registration.Status.WAITLISTED)
    RegistrationFactory(event=event, status=Registration.Status.CANCELLED)

    committed(services.finish_event, event=event, by=secretariat)

    event.refresh_from_db()
    assert event.status == "finished"
    assert [m.to[0] for m in mailoutbox] == [came.user.email]
    body = mailoutbox[0].body
    assert mailoutbox[0].subject.startswith("【つながり】ご参加ありがとうございました")
    assert "報告書：https://example.org/report.pdf" in body
    assert "動画：https://example.org/v" in body

    committed(services.finish_event, event=event, by=secretariat)
    assert len(mailoutbox) == 1


def test_finish_event_with_check_in_thanks_only_the_attended(committed, secretariat, mailoutbox):
    event = _past_event()
    attended = RegistrationFactory(event=event, attended=True)
    RegistrationFactory(event=event, attended=False)

    committed(services.finish_event, event=event, by=secretariat)

    assert [m.to[0] for m in mailoutbox] == [attended.user.email]
    assert "資料は準備ができしだい、イベントページに掲載します。" in mailoutbox[0].body


def test_finish_event_refuses_before_start(secretariat):
    with pytest.raises(RegistrationError) as excinfo:
        services.finish_event(event=EventFactory(), by=secretariat)

    assert refusal(excinfo) == "開催前のイベントは終了にできません。"


def test_send_bulk_message_one_per_person(committed, secretariat, mailoutbox):
    event = EventFactory()
    RegistrationFactory.create_batch(3, event=event)
    RegistrationFactory(event=event, status=Registration.Status.WAITLISTED)
    RegistrationFactory(event=event, status=Registration.Status.CANCELLED)

    count = committed(
        services.send_bulk_message,
        event=event,
        subject="持ち物のご案内",
        body="筆記用具をお持ちください。",
        statuses=["confirmed", "waitlisted"],
        by=secretariat,
    )

    assert count == 4
    assert len(mailoutbox) == 4
    assert OutboxMessage.objects.filter(key__startswith=f"event:{event.pk}:message:").count() == 4
    assert mailoutbox[0].subject == "【つながり】持ち物のご案内"
    assert "筆記用具をお持ちください。" in mailoutbox[0].body

    again = committed(
        services.send_bulk_message,
        event=event,
        subject="再送",
        body="もう一度",
        statuses=["confirmed"],
        by=secretariat,
    )
    assert again == 3


@pytest.mark.parametrize(
    ("subject", "body", "statuses", "message"),
    [
        ("", "本文", ["confirmed"], "件名と本文を入力してください。"),
        ("件名", "   ", ["confirmed"], "件名と本文を入力してください。"),
        ("件名", "本文", [], "送信先の申込状態を選んでください。"),
        ("件名", "本文", ["everyone"], "送信先の申込状態を選んでください。"),
    ],
)
def test_send_bulk_message_refuses_bad_input(secretariat, subject, body, statuses, message):
    with pytest.raises(RegistrationError) as excinfo:
        services.send_bulk_message(
            event=EventFactory(), subject=subject, body=body, statuses=statuses, by=secretariat
        )

    assert refusal(excinfo) == message
    assert not OutboxMessage.objects.exists()


def test_factories_make_a_registrable_event():
    event = EventFactory()
    start = timezone.localtime(event.starts_at)
    assert event.status == "published"
    assert event.format == "hybrid"
    assert (event.venue_capacity, event.online_capacity) == (30, 50)
    assert event.fiscal_year == (start.year if start.month >= 4 else start.year - 1)
    assert isinstance(SessionFactory(event=event), Session)
    assert RegistrationFactory(event=event).status == "confirmed"
