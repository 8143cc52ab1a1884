"""Queueing notifications through the outbox (core.models.OutboxMessage).

Every notification is first written as an OutboxMessage with an idempotency key
(e.g. "registration:42:confirmed"), inside the transaction of the change that
caused it. The key is unique, so a second sweep, a retried task or a double
click finds the row already there and queues nothing: each notification is sent
at most once. Delivery (core.tasks.deliver_outbox_message) is queued on commit,
so nothing is mailed for a change that rolled back.
"""

from __future__ import annotations

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
