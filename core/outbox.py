"""Queueing notifications through the outbox (core.models.OutboxMessage).

Every notification is first written as an OutboxMessage with an idempotency key
(e.g. "registration:42:confirmed"), inside the transaction of the change that
caused it. The key is unique, so a second sweep, a retried task or a double
click finds the row already there and queues nothing: each notification is sent
at most once. Delivery (core.tasks.deliver_outbox_message) is queued on commit,
so nothing is mailed for a change that rolled back.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from .models import OutboxMessage
from .tasks import deliver_outbox_message

SUBJECT_MAX_LENGTH = OutboxMessage._meta.get_field("subject").max_length


def queue_message(
    *, key: str, kind: str, to_email: str, subject: str, body: str
) -> OutboxMessage | None:
    """Record a message under `key` and queue its delivery once the caller commits.

    Returns the new message, or None when a message with this key already exists
    (it was queued before and must not be sent again) or there is no address."""
    if not to_email:
        return None
    # A header cannot span lines.
    subject = " ".join(subject.split())[:SUBJECT_MAX_LENGTH]
    # get_or_create inserts in a savepoint and re-reads on IntegrityError, so two
    # concurrent callers with the same key end with one row and one delivery.
    message, created = OutboxMessage.objects.get_or_create(
        key=key,
        defaults={"kind": kind, "to_email": to_email, "subject": subject, "body": body},
    )
    if not created:
        return None
    deliver_outbox_message.delay_on_commit(message.pk)
    return message


@transaction.atomic
def resend_after_confirmation(
    *, message_ids: Iterable[int], by: AbstractBaseUser
) -> list[OutboxMessage]:
    """Queue unknown or failed messages again; `by` confirmed they did not arrive.

    Only for a person who has checked with the recipient: an "unknown" message
    may have been delivered, and the outbox cannot tell. Records who and when,
    and gives the message a fresh set of attempts. Messages in any other status
    (sent, pending, sending, skipped) are left alone, so pressing twice or
    choosing a sent one sends nothing. Returns the messages queued."""
    messages = list(
        OutboxMessage.objects.select_for_update()
        .filter(pk__in=list(message_ids), status__in=OutboxMessage.RESENDABLE_STATUSES)
        .order_by("pk")
    )
    now = timezone.now()
    OutboxMessage.objects.filter(pk__in=[m.pk for m in messages]).update(
        status=OutboxMessage.Status.PENDING,
        attempts=0,
        claimed_at=None,
        resent_by=by,
        resent_at=now,
    )
    for message in messages:
        deliver_outbox_message.delay_on_commit(message.pk)
    return messages
