"""An event's life cycle as the secretariat runs it: changing a published
event's date, place or online link (confirmed first, registrants told once),
deleting a draft, cancelling only what was published, and the state rules
(Event methods) that the list, the event's header and the views share."""

import datetime
import importlib
import re

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from core.models import OutboxMessage
from events import services
from events.forms_manage import EventForm
from events.models import Event, Registration, Session
from events.services import RegistrationError
from network.models import Organisation

from .event_factories import EventFactory, RegistrationFactory, SessionFactory
from .factories import OrganisationFactory

pytestmark = pytest.mark.django_db

LIST_URL = reverse("events:manage_list")
OLD_WHEN = "2030年6月4日(火) 13:30〜16:30"
NEW_WHEN = "2030年6月11日(火) 14:00〜17:00"


def local(*args):
    return timezone.make_aware(datetime.datetime(*args))


def url(name, event):
    return reverse(f"events:{name}", args=[event.pk])


@pytest.fixture
def manager(client_for, secretariat):
    return client_for(secretariat)


def edit_data(event, **changes):
    """The edit form's POST for `event` as it stands, with `changes`."""
    form = EventForm(instance=event)
    data = {}
    for name in form.fields:
        if name == "slides":
            continue
        value = form[name].value()
        if isinstance(value, datetime.datetime):
            # The form shows local time (naive once prepared for the widget).
            if timezone.is_aware(value):
                value = timezone.localtime(value)
            value = value.strftime("%Y-%m-%dT%H:%M")
        if value is True:
            value = "on"
        if value in (None, False):
            continue
        data[name] = value
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def meeting(**kwargs):
    values = {
        "title": "第8回 情報交換会",
        "starts_at": local(2030, 6, 4, 13, 30),
        "ends_at": local(2030, 6, 4, 16, 30),
        "registration_opens_at": None,
        "registration_closes_at": None,
    }
    values.update(kwargs)
    return EventFactory(**values)


@pytest.fixture
def registered():
    """A published hybrid meeting with one of each: confirmed at the venue,
    waiting for the venue, confirmed online, waiting online, cancelled
    (one seat per mode, so the waiting lists stay as they are)."""
    event = meeting(venue_capacity=1, online_capacity=1)
    people = {
        "venue": RegistrationFactory(event=event, user__email="venue@example.org"),
        "venue_waiting": RegistrationFactory(
            event=event, user__email="wait@example.org", status=Registration.Status.WAITLISTED
        ),
        "online": RegistrationFactory(
            event=event, user__email="online@example.org", mode=Registration.Mode.ONLINE
        ),
        "online_waiting": RegistrationFactory(
            event=event,
            user__email="online-wait@example.org",
            mode=Registration.Mode.ONLINE,
            status=Registration.Status.WAITLISTED,
        ),
        "cancelled": RegistrationFactory(
            event=event, user__email="gone@example.org", status=Registration.Status.CANCELLED
        ),
    }
    return event, people


def mails_to(email):
    return list(
        OutboxMessage.objects.filter(to_email=email, kind="events.event_changed").order_by("pk")
    )


def change_id_of(content: str) -> str:
    return re.search(r'name="change_id" value="([0-9a-f]{32})"', content).group(1)


# --- changing the date, place or online link ---------------------------------------------


def test_event_edit_of_the_date_asks_first_then_mails_everyone_registered_once(
    manager, registered, django_capture_on_commit_callbacks, mailoutbox
):
    event, people = registered
    data = edit_data(event, starts_at="2030-06-11T14:00", ends_at="2030-06-11T17:00")
    response = manager.post(url("edit", event), data)

    # A confirmation page first: what changes, and to how many people.
    assert response.status_code == 200
    content = response.content.decode()
    assert "申込者に知らせる変更があります" in content
    assert OLD_WHEN in content and NEW_WHEN in content
    assert "保存すると、4 人に変更のお知らせメールが送られます。" in content
    event.refresh_from_db()
    assert event.starts_at == local(2030, 6, 4, 13, 30)
    assert not OutboxMessage.objects.exists()

    confirm = {**data, "confirm_changes": "yes", "change_id": change_id_of(content)}
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(url("edit", event), confirm, follow=True)
    assert "変更のお知らせを4人に送ります。" in response.content.decode()
    event.refresh_from_db()
    assert (event.starts_at, event.ends_at) == (local(2030, 6, 11, 14), local(2030, 6, 11, 17))
    told = ["venue", "venue_waiting", "online", "online_waiting"]
    for name in told:
        mails = mails_to(people[name].user.email)
        assert len(mails) == 1, name
        assert f"日時（変更後）：{NEW_WHEN}" in mails[0].body
        assert f"日時（変更前）：{OLD_WHEN}" in mails[0].body
        assert mails[0].subject == "【つながり】開催内容の変更のお知らせ：第8回 情報交換会"
    assert mails_to(people["cancelled"].user.email) == []
    assert sorted(m.to[0] for m in mailoutbox) == sorted(people[n].user.email for n in told)
    # The URL is for confirmed online participants only, and it did not change.
    assert "meet.example.org" not in mails_to(people["venue"].user.email)[0].body

    # The confirmation sent twice (a double click, a reload) mails nobody again.
    with django_capture_on_commit_callbacks(execute=True):
        manager.post(url("edit", event), confirm)
    # Saving again with the same values sends nothing either.
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(url("edit", event), data)
    assert response.status_code == 302
    assert OutboxMessage.objects.filter(kind="events.event_changed").count() == 4


def test_event_edit_of_the_description_saves_without_asking_or_mailing(manager, registered):
    event, _people = registered
    response = manager.post(url("edit", event), edit_data(event, description="誤字を直しました。"))
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.description == "誤字を直しました。"
    assert not OutboxMessage.objects.exists()


def test_event_edit_of_the_online_link_tells_confirmed_online_participants_only(
    manager, registered, django_capture_on_commit_callbacks
):
    event, people = registered
    data = edit_data(event, online_url="https://meet.example.org/new-room")
    content = manager.post(url("edit", event), data).content.decode()
    assert "保存すると、1 人に変更のお知らせメールが送られます。" in content
    with django_capture_on_commit_callbacks(execute=True):
        manager.post(
            url("edit", event),
            {**data, "confirm_changes": "yes", "change_id": change_id_of(content)},
        )
    assert [m.to_email for m in OutboxMessage.objects.all()] == ["online@example.org"]
    body = mails_to("online@example.org")[0].body
    assert "オンライン参加URL（新）：https://meet.example.org/new-room" in body


def test_event_edit_of_the_venue_tells_the_venue_participants(manager, registered):
    event, people = registered
    data = edit_data(event, venue_name="かでる2・7", venue_address="札幌市中央区北2条西7丁目")
    content = manager.post(url("edit", event), data).content.decode()
    assert "札幌市社会福祉総合センター（札幌市中央区大通西19丁目）" in content
    assert "保存すると、2 人に変更のお知らせメールが送られます。" in content
    manager.post(
        url("edit", event), {**data, "confirm_changes": "yes", "change_id": change_id_of(content)}
    )
    assert sorted(OutboxMessage.objects.values_list("to_email", flat=True)) == [
        "venue@example.org",
        "wait@example.org",
    ]
    body = mails_to("venue@example.org")[0].body
    assert "会場（変更後）：かでる2・7（札幌市中央区北2条西7丁目）" in body


def test_event_edit_back_button_returns_to_the_form_and_saves_nothing(manager, registered):
    event, _people = registered
    data = edit_data(event, starts_at="2030-06-11T14:00", ends_at="2030-06-11T17:00")
    response = manager.post(url("edit", event), {**data, "action": "back"})
    content = response.content.decode()
    assert 'value="2030-06-11T14:00"' in content
    assert "申込者に知らせる変更があります" not in content
    event.refresh_from_db()
    assert event.starts_at == local(2030, 6, 4, 13, 30)
    assert not OutboxMessage.objects.exists()


def test_event_edit_with_a_forged_change_id_saves_and_mails_nothing(manager, registered):
    event, _people = registered
    data = edit_data(event, starts_at="2030-06-11T14:00", ends_at="2030-06-11T17:00")
    response = manager.post(
        url("edit", event), {**data, "confirm_changes": "yes", "change_id": "../../x"}
    )
    assert "変更内容の確認からやり直してください。" in response.content.decode()
    event.refresh_from_db()
    assert event.starts_at == local(2030, 6, 4, 13, 30)
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize("status", [Event.Status.DRAFT, Event.Status.FINISHED])
def test_event_edit_of_an_event_not_published_never_mails(manager, status):
    event = meeting(status=status)
    RegistrationFactory(event=event)
    data = edit_data(event, starts_at="2030-06-11T14:00", ends_at="2030-06-11T17:00")
    response = manager.post(url("edit", event), data)
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.starts_at == local(2030, 6, 11, 14)
    assert not OutboxMessage.objects.exists()


def test_update_event_does_not_tell_an_unconfirmed_guest(secretariat):
    event = meeting(audience=Event.Audience.PUBLIC)
    services.register_guest(
        event=event,
        email="guest@example.org",
        full_name="一般 参加者",
        full_name_kana="いっぱん",
        organisation_name="",
        mode=Registration.Mode.VENUE,
    )
    event.starts_at = local(2030, 6, 11, 14)
    event.ends_at = local(2030, 6, 11, 17)
    assert services.preview_event_update(event=event).recipients == 0
    update = services.update_event(event=event, by=secretariat)
    assert [c.field for c in update.changes] == ["when"]
    assert update.recipients == 0
    assert list(OutboxMessage.objects.values_list("kind", flat=True)) == ["events.guest_confirm"]


def test_update_event_is_for_the_secretariat_only(committee_member):
    event = meeting()
    event.starts_at = local(2030, 6, 11, 14)
    with pytest.raises(RegistrationError):
        services.update_event(event=event, by=committee_member)
    event.refresh_from_db()
    assert event.starts_at == local(2030, 6, 4, 13, 30)


# --- deleting a draft, cancelling a published event ----------------------------------------


def test_draft_delete_asks_first_then_removes_it_with_its_sessions(manager):
    draft = meeting(status=Event.Status.DRAFT, title="第9回 情報交換会（案）")
    SessionFactory.create_batch(2, event=draft)
    content = manager.get(url("delete", draft)).content.decode()
    assert "下書き「第9回 情報交換会（案）」を削除します。元に戻せません。" in content
    assert "分科会 2 件も一緒に削除します。" in content
    assert Event.objects.filter(pk=draft.pk).exists()

    response = manager.post(url("delete", draft), follow=True)
    assert "下書き「第9回 情報交換会（案）」を削除しました。" in response.content.decode()
    assert response.redirect_chain[-1][0] == LIST_URL
    assert not Event.objects.filter(pk=draft.pk).exists()
    assert not Session.objects.exists()


def test_draft_delete_refuses_a_published_event_and_points_to_cancelling(manager):
    event = meeting()
    response = manager.post(url("delete", event))
    content = response.content.decode()
    assert "公開したイベントは削除できません。" in content
    assert url("cancel", event) in content
    assert Event.objects.get(pk=event.pk).status == Event.Status.PUBLISHED


def test_delete_draft_event_refuses_a_draft_with_registrations(secretariat):
    draft = meeting(status=Event.Status.DRAFT)
    RegistrationFactory(event=draft)
    with pytest.raises(RegistrationError) as excinfo:
        services.delete_draft_event(event=draft, by=secretariat)
    assert excinfo.value.messages == ["申込がある下書きは削除できません。"]
    assert Event.objects.filter(pk=draft.pk).exists()


def test_delete_draft_event_refuses_a_draft_a_survey_is_for(secretariat):
    from tests.survey_factories import SurveyFactory

    draft = meeting(status=Event.Status.DRAFT)
    SurveyFactory(event=draft)
    with pytest.raises(RegistrationError) as excinfo:
        services.delete_draft_event(event=draft, by=secretariat)
    assert "ほかの記録がこのイベントを対象にしているため削除できません" in excinfo.value.messages[0]
    assert Event.objects.filter(pk=draft.pk).exists()


@pytest.mark.parametrize(
    "actor", ["outsider", "contractor_member", "municipal_member", "org_admin", "committee"]
)
def test_draft_delete_answers_404_to_everyone_else_and_deletes_nothing(client_for, actors, actor):
    draft = meeting(status=Event.Status.DRAFT)
    response = client_for(actors[actor]).post(url("delete", draft))
    assert response.status_code == 404
    assert Event.objects.filter(pk=draft.pk, status=Event.Status.DRAFT).exists()


def test_event_cancel_of_a_draft_offers_deleting_and_changes_nothing(manager):
    draft = meeting(status=Event.Status.DRAFT)
    content = manager.get(url("cancel", draft)).content.decode()
    assert "まだ公開していない下書きは、中止ではなく削除します" in content
    assert url("delete", draft) in content
    response = manager.post(url("cancel", draft), {"reason": "不要になった", "confirm": "on"})
    assert response.status_code == 200
    draft.refresh_from_db()
    assert (draft.status, draft.cancellation_reason) == (Event.Status.DRAFT, "")


def test_cancel_event_refuses_a_draft(secretariat):
    draft = meeting(status=Event.Status.DRAFT)
    with pytest.raises(RegistrationError) as excinfo:
        services.cancel_event(event=draft, reason="不要", by=secretariat)
    assert excinfo.value.messages == ["下書きは中止にできません。不要な下書きは削除してください。"]
    assert Event.objects.get(pk=draft.pk).status == Event.Status.DRAFT


def test_cancelled_draft_never_shows_to_members(client_for, municipal_member, secretariat):
    # Called off before it was ever published (possible until now).
    hidden = meeting(title="公開前に中止した会", status=Event.Status.CANCELLED, published_at=None)
    shown = meeting(title="公開後に中止した会", status=Event.Status.CANCELLED)
    client = client_for(municipal_member)
    listing = client.get(reverse("events:list")).content.decode()
    assert "公開前に中止した会" not in listing
    assert "公開後に中止した会" in listing
    assert client.get(hidden.get_absolute_url()).status_code == 404
    assert client.get(shown.get_absolute_url()).status_code == 200
    assert list(Event.objects.visible_to(municipal_member)) == [shown]
    assert set(Event.objects.visible_to(secretariat)) == {hidden, shown}


def test_publish_event_records_when_it_was_announced(secretariat):
    draft = meeting(status=Event.Status.DRAFT)
    assert draft.published_at is None
    services.publish_event(event=draft, by=secretariat)
    draft.refresh_from_db()
    assert draft.status == Event.Status.PUBLISHED
    assert draft.published_at is not None
    copy = services.copy_event(event=draft, by=secretariat)
    assert (copy.status, copy.published_at) == (Event.Status.DRAFT, None)


def test_published_at_backfill_keeps_cancelled_drafts_hidden():
    migration = importlib.import_module("events.migrations.0004_lifecycle_published_at_changed_by")
    published = meeting()
    finished = meeting(status=Event.Status.FINISHED)
    cancelled_with_people = meeting(status=Event.Status.CANCELLED)
    RegistrationFactory(event=cancelled_with_people, status=Registration.Status.CANCELLED)
    cancelled_alone = meeting(status=Event.Status.CANCELLED)
    draft = meeting(status=Event.Status.DRAFT)
    Event.objects.update(published_at=None)
    migration.backfill_published_at(apps, None)
    announced = set(Event.objects.filter(published_at__isnull=False))
    assert announced == {published, finished, cancelled_with_people}
    assert {cancelled_alone, draft}.isdisjoint(announced)


# --- one set of state rules for the list, the header and the views -----------------------


def row_actions(content: str, event) -> list[str]:
    """The link texts of the event's row in the manage list."""
    row = re.search(
        r"<tr>(?:(?!</tr>).)*?" + re.escape(url("registrations", event)) + r".*?</tr>",
        content,
        re.S,
    ).group(0)
    actions = re.search(r'<ul class="row-actions">(.*?)</ul>', row, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", a).strip() for a in re.findall(r"<a [^>]*>.*?</a>", actions)]


def header_actions(content: str) -> list[str]:
    nav = re.search(r'<nav class="event-actions".*?</nav>', content, re.S).group(0)
    return [re.sub(r"<[^>]+>", "", a).strip() for a in re.findall(r"<a [^>]*>.*?</a>", nav)]


STATE_ACTIONS = {"公開", "受付", "終了にする", "お礼メール", "中止", "削除"}


# The row shows exactly what the event's status allows (the shared partial
# events/_state_actions.html), as the header does; the title opens the event.
@pytest.mark.parametrize(
    ("status", "started", "row"),
    [
        (Event.Status.DRAFT, False, ["公開", "削除"]),
        (Event.Status.PUBLISHED, False, ["受付", "中止"]),
        (Event.Status.PUBLISHED, True, ["受付", "終了にする", "中止"]),
        (Event.Status.FINISHED, True, ["受付", "お礼メール"]),
        (Event.Status.CANCELLED, False, []),
    ],
)
def test_event_state_actions_agree_between_the_list_and_the_event_header(
    manager, status, started, row
):
    starts = timezone.now() + datetime.timedelta(days=-1 if started else 30)
    event = EventFactory(
        status=status, starts_at=starts, ends_at=starts + datetime.timedelta(hours=3)
    )
    listing = manager.get(LIST_URL).content.decode()
    assert row_actions(listing, event) == row
    header = header_actions(manager.get(url("registrations", event)).content.decode())
    assert [action for action in header if action in STATE_ACTIONS] == row
    assert event.can_be_published() == ("公開" in row)
    assert event.can_check_in() == ("受付" in row)
    assert event.can_be_cancelled() == ("中止" in row)
    assert event.can_be_deleted() == ("削除" in row)
    assert event.can_send_thanks() == ("お礼メール" in row)
    assert event.can_be_finished() == ("終了にする" in row)


def test_manage_list_rows_have_at_most_three_actions(manager):
    events = [
        EventFactory(status=status)
        for status in (
            Event.Status.DRAFT,
            Event.Status.PUBLISHED,
            Event.Status.FINISHED,
            Event.Status.CANCELLED,
        )
    ]
    listing = manager.get(LIST_URL).content.decode()
    assert [len(row_actions(listing, event)) <= 3 for event in events] == [True] * 4


# --- 開催担当（リレー） only on relay meetings -------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "host_kind", "label"),
    [
        (Event.Kind.EXCHANGE, Organisation.Kind.MUNICIPALITY, "開催担当（リレー）"),
        (Event.Kind.EXCHANGE, Organisation.Kind.SUPPORT, "開催担当"),
        (Event.Kind.SYMPOSIUM, Organisation.Kind.MUNICIPALITY, "開催担当"),
    ],
)
def test_event_detail_says_relay_only_for_relay_meetings(
    client_for, municipal_member, kind, host_kind, label
):
    host = OrganisationFactory(name="江別市役所", kind=host_kind)
    event = EventFactory(kind=kind, host_organisation=host)
    content = client_for(municipal_member).get(event.get_absolute_url()).content.decode()
    assert re.findall(r"<dt>(開催担当[^<]*)</dt>", content) == [label]
    assert "<dd>江別市役所</dd>" in content
    assert event.is_relay_meeting == (label == "開催担当（リレー）")


def test_event_form_does_not_call_every_host_a_relay(manager):
    content = manager.get(reverse("events:create")).content.decode()
    assert "開催担当（リレー）" not in content
    assert re.search(r"<label[^>]*>開催担当", content)
