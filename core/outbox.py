"""Queueing notifications through the outbox (core.models.OutboxMessage).

Every notification is first written as an OutboxMessage with an idempotency key
(e.g. "registration:42:confirmed"), inside the transaction of the change that
caused it. The key is unique, so a second sweep, a retried task or a double
click finds the row already there and queues nothing: each notification is sent
at most once. Delivery (core.tasks.deliver_outbox_message) is queued on commit,
so nothing is mailed for a change that rolled back.

A message whose body carries a credential (an invitation link's raw token)
names it as its `secret`: the row keeps it only while the message may still be
sent, and delivery replaces it once the mail has gone (decision 0005).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from .models import OutboxMessage
from .tasks import deliver_outbox_message

SUBJECT_MAX_LENGTH = OutboxMessage._meta.get_field("subject").max_length
# A shorter secret could stand for ordinary words of the body, which the
# redaction would then remove too.
SECRET_MIN_LENGTH = 16


def queue_message(
    *,
    key: str,
    kind: str,
    to_email: str,
    subject: str,
    body: str,
    reply_to: str = "",
    secret: str = "",
) -> OutboxMessage | None:
    """Record a message under `key` and queue its delivery once the caller commits.

    `secret` is a credential that `body` carries; it is removed from the row
    once the message is sent or skipped. Returns the new message, or None when
    a message with this key already exists (it was queued before and must not
    be sent again) or there is no address."""
    if not to_email:
        return None
    if secret and (len(secret) < SECRET_MIN_LENGTH or secret not in body):
        raise ValueError("a secret must be a long string that the body carries")
    # A header cannot span lines.
    subject = " ".join(subject.split())[:SUBJECT_MAX_LENGTH]
    # get_or_create inserts in a savepoint and re-reads on IntegrityError, so two
    # concurrent callers with the same key end with one row and one delivery.
    message, created = OutboxMessage.objects.get_or_create(
        key=key,
        defaults={
            "kind": kind,
            "to_email": to_email,
            "subject": subject,
            "body": body,
            "reply_to": reply_to,
            "secret": secret,
        },
    )
    if not created:
        return None
    deliver_outbox_message.delay_on_commit(message.pk)
    return message


def count_keys(prefix: str) -> int:
    """How many messages were ever queued under keys starting with `prefix`,
    for occasions that repeat and number their keys. Callers hold a lock on
    what the occasion is about, so two of them cannot take the same number."""
    return OutboxMessage.objects.filter(key__startswith=prefix).count()


def skip_unsent(*, key_prefix: str) -> int:
    """Give up the pending messages under `key_prefix`: what they say no longer
    holds (e.g. an invitation link replaced by a new one, or withdrawn).

    They become "skipped", with their secret removed; a message already being
    sent is left alone (it may be on its way). Returns how many were skipped."""
    skipped = 0
    pending = OutboxMessage.objects.filter(
        key__startswith=key_prefix, status=OutboxMessage.Status.PENDING
    )
    for message in pending.only("pk", "body", "secret"):
        # Conditional, like the delivery's claim: a worker that claimed the
        # message meanwhile keeps it, and this skips nothing.
        skipped += OutboxMessage.objects.filter(
            pk=message.pk, status=OutboxMessage.Status.PENDING
        ).update(status=OutboxMessage.Status.SKIPPED, body=message.redacted_body, secret="")
    return skipped


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
        handed_over_at=None,
        resent_by=by,
        resent_at=now,
    )
    for message in messages:
        deliver_outbox_message.delay_on_commit(message.pk)
    return messages
