"""Network's mails (invitations, join requests) go through the outbox like every
other mail: one keyed row each, delivered on commit by
core.tasks.deliver_outbox_message, never from inside a locked transaction; the
invitation link's raw token is gone from the database once it is sent
(decision 0005)."""

import inspect
from smtplib import SMTPException

import pytest
from django.apps import apps
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection, models
from django.urls import reverse

from core.models import OutboxMessage
from core.tasks import deliver_outbox_message
from network import services
from network.models import Invitation, JoinRequest, Membership, Organisation, Program

from .factories import municipality

pytestmark = pytest.mark.django_db

INVITATION_SUBJECT = "【つながり】「札幌生活サポートセンター」の所属者として招待されました"
NOTICE_SUBJECT = "【つながり】参加申請がありました：釧路くらしの相談室"
DECLINED_SUBJECT = "【つながり】ネットワークへの参加申請について"


def _invite(organisation, invited_by, email="invitee@example.org"):
    return services.invite_member(
        organisation=organisation,
        email=email,
        full_name="招待 花子",
        staff_role=Membership.StaffRole.SODAN,
        invited_by=invited_by,
    )


def _create_join_request():
    return services.create_join_request(
        organisation_name="釧路くらしの相談室",
        organisation_kana="くしろくらしのそうだんしつ",
        kind=Organisation.Kind.SUPPORT,
        municipality=municipality("012068"),
        programs=Program.objects.order_by("order")[:1],
        contact_name="申請 七海",
        contact_kana="しんせい ななみ",
        contact_email="nanami@example.org",
        contact_phone="",
        message="参加したいです。",
    )


def rows_holding(text: str) -> list[str]:
    """Every row of every table whose text columns contain `text`, as
    "app.Model.field" (the whole database, not only the rows we expect)."""
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.CharField | models.TextField):
                lookup = {f"{field.attname}__contains": text}
                if model._default_manager.filter(**lookup).exists():
                    found.append(f"{model._meta.label}.{field.name}")
    return found


# --- invitations ----------------------------------------------------------------------


def test_invitation_queues_one_outbox_row_delivered_on_commit(
    contractor_org, secretariat, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invitation = _invite(contractor_org, secretariat)

    message = OutboxMessage.objects.get()
    assert (message.key, message.kind, message.to_email, message.subject, message.status) == (
        f"invitation:{invitation.pk}:link:1",
        "network.invitation",
        "invitee@example.org",
        INVITATION_SUBJECT,
        OutboxMessage.Status.PENDING,
    )
    # Nothing is mailed before the commit; the one callback is the delivery.
    assert mailoutbox == []
    assert len(callbacks) == 1


def test_invitation_is_sent_once_even_if_delivery_runs_twice(
    contractor_org, secretariat, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = _invite(contractor_org, secretariat)
    message = OutboxMessage.objects.get()

    assert deliver_outbox_message(message.pk) is False
    assert deliver_outbox_message.delay(message.pk).get() is False

    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxMessage.Status.SENT, 1)
    assert [(m.to, m.subject) for m in mailoutbox] == [
        (["invitee@example.org"], INVITATION_SUBJECT)
    ]
    link = reverse("network:accept_invitation", args=[invitation.raw_token])
    assert link in mailoutbox[0].body


def test_invitation_sent_leaves_no_raw_token_in_the_database(
    contractor_org, secretariat, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invitation = _invite(contractor_org, secretariat)
    token = invitation.raw_token
    # Until it is sent, the outbox row is the one place that holds the token.
    assert rows_holding(token) == ["core.OutboxMessage.body", "core.OutboxMessage.secret"]

    callbacks[0]()

    assert token in mailoutbox[0].body
    assert rows_holding(token) == []
    message = OutboxMessage.objects.get()
    stored = Invitation.objects.get(pk=invitation.pk)
    for row in (message, stored):
        values = [str(getattr(row, f.attname)) for f in row._meta.concrete_fields]
        assert [v for v in values if token in v] == []
    assert message.secret == ""
    assert "/network/invitation/［送信後に削除しました］/" in message.body
    assert stored.token_hash == Invitation.hash_token(token)


def test_invitation_mail_that_failed_keeps_its_link_for_the_retry(
    contractor_org, secretariat, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.test_network_mail.FailingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        invitation = _invite(contractor_org, secretariat)

    message = OutboxMessage.objects.get()
    assert (message.status, message.secret) == (OutboxMessage.Status.PENDING, invitation.raw_token)
    assert invitation.raw_token in message.body


def test_invitation_revoked_before_its_mail_left_sends_nothing(
    contractor_org, secretariat, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invitation = _invite(contractor_org, secretariat)
    services.revoke_invitation(invitation=invitation, revoked_by=secretariat)

    callbacks[0]()  # the delivery queued by the invitation runs late

    message = OutboxMessage.objects.get()
    assert (message.status, message.secret) == (OutboxMessage.Status.SKIPPED, "")
    assert invitation.raw_token not in message.body
    assert mailoutbox == []


def test_outbox_admin_never_shows_a_waiting_invitation_token(
    contractor_org, secretariat, superuser, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        invitation = _invite(contractor_org, secretariat)
    message = OutboxMessage.objects.get()

    page = client_for(superuser).get(reverse("admin:core_outboxmessage_change", args=[message.pk]))

    content = page.content.decode()
    assert page.status_code == 200
    assert "招待 花子 様" in content
    assert "［送信後に削除しました］" in content
    assert invitation.raw_token not in content


# --- join requests ----------------------------------------------------------------------


def test_join_request_notice_is_one_mail_with_the_japanese_subject(
    secretariat, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        join_request = _create_join_request()

    assert [(m.to, m.reply_to, m.subject) for m in mailoutbox] == [
        (["secretariat@example.org"], ["nanami@example.org"], NOTICE_SUBJECT)
    ]
    message = OutboxMessage.objects.get()
    assert (message.key, message.kind, message.status) == (
        f"join-request:{join_request.pk}:notice:{secretariat.pk}",
        "network.join_request_notice",
        OutboxMessage.Status.SENT,
    )
    assert deliver_outbox_message(message.pk) is False
    assert len(mailoutbox) == 1


def test_join_request_decline_is_one_mail_with_the_japanese_subject(
    secretariat, mailoutbox, django_capture_on_commit_callbacks
):
    join_request = JoinRequest.objects.create(
        organisation_name="釧路くらしの相談室",
        kind=Organisation.Kind.SUPPORT,
        municipality=municipality("012068"),
        contact_name="申請 七海",
        contact_email="nanami@example.org",
    )
    reason = "道外の団体のため、今回は見送ります。"
    with django_capture_on_commit_callbacks(execute=True):
        services.decline_join_request(
            join_request=join_request, decided_by=secretariat, reason=reason
        )

    assert [(m.to, m.subject) for m in mailoutbox] == [(["nanami@example.org"], DECLINED_SUBJECT)]
    assert reason in mailoutbox[0].body
    message = OutboxMessage.objects.get()
    assert (message.key, message.kind) == (
        f"join-request:{join_request.pk}:declined",
        "network.join_request_declined",
    )
    assert deliver_outbox_message(message.pk) is False
    assert len(mailoutbox) == 1


# --- where the mail is sent from ------------------------------------------------------------


class FailingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise SMTPException("接続できません")


SENDS = []


class RecordingBackend(LocmemBackend):
    """Notes, for every mail handed to the mail server, whether a transaction
    (which could hold a row lock) was open, who was sending, and the state of
    the outbox then."""

    def send_messages(self, email_messages):
        SENDS.append(
            {
                "in_transaction": connection.in_atomic_block,
                "by_outbox_delivery": any(
                    frame.function == "deliver_outbox_message"
                    and frame.filename.endswith("core/tasks.py")
                    for frame in inspect.stack()
                ),
                "sending": list(
                    OutboxMessage.objects.filter(status=OutboxMessage.Status.SENDING).values_list(
                        "to_email", flat=True
                    )
                ),
            }
        )
        return super().send_messages(email_messages)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_network_mails_are_sent_by_outbox_delivery_outside_any_transaction(
    contractor_org, secretariat, settings, mailoutbox
):
    settings.EMAIL_BACKEND = "tests.test_network_mail.RecordingBackend"
    SENDS.clear()

    invitation = _invite(contractor_org, secretariat)
    services.resend_invitation(invitation=invitation, resent_by=secretariat)
    join_request = _create_join_request()
    services.decline_join_request(join_request=join_request, decided_by=secretariat, reason="重複")

    assert [m.to for m in mailoutbox] == [
        ["invitee@example.org"],
        ["invitee@example.org"],
        ["secretariat@example.org"],
        ["nanami@example.org"],
    ]
    assert SENDS == [
        {"in_transaction": False, "by_outbox_delivery": True, "sending": [address]}
        for address in (
            "invitee@example.org",
            "invitee@example.org",
            "secretariat@example.org",
            "nanami@example.org",
        )
    ]
    assert (
        list(OutboxMessage.objects.order_by("pk").values_list("status", flat=True)) == ["sent"] * 4
    )
