"""Delivery of outbox messages and the sweep that rescues stuck ones
(decisions 0003 and 0008).

Delivery is claimed with a conditional UPDATE (pending → sending), so of two
workers handed the same message only one sends it; the other finds nothing to
claim and returns.

One message, one commit: the claim and the result of each delivery are
committed on their own (durable transactions), before the next message is
touched. A batch sent inside one transaction would lose every "sent" record
when its process dies, and the rescue would then send those mails again.
Recording "sent" also removes the message's secret (an invitation link's
token) from the row (decision 0005).
"""

from __future__ import annotations

import datetime
import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .mail import MayHaveArrived, NotHandedOver, send_handing_over
from .models import OutboxMessage

logger = logging.getLogger(__name__)

# Attempts per message, counting the first: a bounded number, then "failed".
MAX_ATTEMPTS = 5
# A pending message this old was never delivered (e.g. the broker was down when
# it was queued, or a retry was lost): queue it again.
STALE_PENDING_AFTER = datetime.timedelta(minutes=5)
# A message still "sending" after this long belongs to a worker that died
# between claiming it and recording the result.
STALE_SENDING_AFTER = datetime.timedelta(minutes=30)
REQUEUE_BATCH = 500
ABANDONED_NOTE = (
    "送信中に処理が中断しました。メールは届いている可能性があります。"
    "二重送信を避けるため再送していません。宛先に届いたかを確かめてください。"
)


def _error_text(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


@shared_task(bind=True, max_retries=MAX_ATTEMPTS - 1, acks_late=True)
def deliver_outbox_message(self, message_id: int) -> bool:
    """Send one outbox message; returns whether this call sent it.

    When a worker dies mid-send the broker hands the task to another worker
    (acks_late); that one finds the message "sending", cannot claim it and
    returns, so the mail is not sent a second time. The moment the mail is
    handed over to the server is committed first (``handed_over_at``,
    core.mail.send_handing_over): requeue_stale_outbox sends again a message
    claimed and never handed over, and leaves one handed over "unknown"
    (decision 0008).

    Raises RuntimeError, before sending anything, when called inside a
    transaction: its outcome would not be committed before the next send."""
    now = timezone.now()
    with transaction.atomic(durable=True):
        claimed = OutboxMessage.objects.filter(
            pk=message_id, status=OutboxMessage.Status.PENDING
        ).update(
            status=OutboxMessage.Status.SENDING,
            claimed_at=now,
            handed_over_at=None,
            attempts=F("attempts") + 1,
        )
    if not claimed:
        # Already sent, being sent by another worker, failed, unknown or skipped.
        return False
    message = OutboxMessage.objects.get(pk=message_id)
    mine = Q(pk=message_id, status=OutboxMessage.Status.SENDING, claimed_at=now)

    def hand_over() -> None:
        # The last moment before the mail is delivered (core.mail): committed
        # only while the claim is still this call's — the sweep may have put
        # a message whose worker seemed dead back in the queue, and another
        # call claimed it since.
        with transaction.atomic(durable=True):
            if not OutboxMessage.objects.filter(mine).update(handed_over_at=timezone.now()):
                raise NotHandedOver(message_id)

    try:
        send_handing_over(
            EmailMessage(
                subject=message.subject,
                body=message.body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[message.to_email],
                reply_to=[message.reply_to] if message.reply_to else None,
            ),
            hand_over,
        )
    except NotHandedOver:
        # Not ours any more: the call that holds the claim sends it.
        return False
    except MayHaveArrived as exc:
        # Cut off between the end of the data and the server's answer: it
        # stays "sending", for the sweep to mark "unknown" — never resent.
        OutboxMessage.objects.filter(mine).update(last_error=_error_text(exc))
        logger.error("outbox %s (%s): may have arrived: %s", message.key, message.pk, exc)
        return False
    except Exception as exc:
        # Not delivered (the server refused, or the send stopped before the
        # end of the data): back in the queue, or failed after MAX_ATTEMPTS.
        final = message.attempts >= MAX_ATTEMPTS
        OutboxMessage.objects.filter(mine).update(
            status=OutboxMessage.Status.FAILED if final else OutboxMessage.Status.PENDING,
            handed_over_at=None,
            last_error=_error_text(exc),
        )
        if final:
            logger.error(
                "outbox %s (%s): giving up after %s attempts",
                message.key,
                message.pk,
                message.attempts,
            )
            return False
        if self.request.is_eager or self.request.called_directly:
            # Without a worker a retry would run at once, inside the web request
            # that queued the mail, and an exception there would turn an already
            # committed registration into an error page. The message stays
            # pending and requeue_stale_outbox tries again later.
            logger.warning("outbox %s (%s): %s; left pending", message.key, message.pk, exc)
            return False
        # The message is pending again; Celery retries it with a growing delay.
        raise self.retry(exc=exc, countdown=60 * 2**self.request.retries) from exc
    # Outside the try: if recording the success fails, the message must stay
    # "sending" (and later be marked unknown), never go back to pending and be
    # sent a second time. Committed here, before the caller moves on.
    done = {"status": OutboxMessage.Status.SENT, "sent_at": timezone.now()}
    if message.secret:
        # Sent: the secret has done its job and must not stay at rest.
        done.update(body=message.redacted_body, secret="")
    with transaction.atomic(durable=True):
        OutboxMessage.objects.filter(pk=message_id).update(**done)
    return True


@shared_task
def requeue_stale_outbox() -> dict[str, int]:
    """Rescue messages that delivery left behind.

    - pending for more than 5 minutes since created or last tried: queued again
      (the broker may have been down; a message that used up its attempts is
      marked failed instead);
    - sending, claimed more than 5 minutes ago and never handed over to the
      mail server: the worker died (or is stuck) before the mail could leave.
      Pending again, and queued with the others; a worker still holding it
      is refused its handover (decision 0008);
    - sending, handed over, claimed more than 30 minutes ago: the worker died
      after handing it over and before recording it sent. We cannot know
      whether the mail arrived, and we choose never twice (DESIGN §6: zero
      duplicate notifications): such a message is marked "unknown" (not
      "failed": it may well have arrived), never resent by this sweep, and
      shows in the admin, where a person resends it only after confirming it
      did not arrive (core.outbox.resend_after_confirmation).
    """
    now = timezone.now()
    sending = OutboxMessage.objects.filter(status=OutboxMessage.Status.SENDING)
    abandoned = sending.filter(
        handed_over_at__isnull=False, claimed_at__lt=now - STALE_SENDING_AFTER
    ).update(status=OutboxMessage.Status.UNKNOWN, last_error=ABANDONED_NOTE)
    # Claimed and never handed over: the mail cannot have left. Pending again
    # (and queued below); should the worker that claimed it still be alive,
    # its handover is refused, so it never sends it too.
    reclaimed = sending.filter(
        handed_over_at__isnull=True, claimed_at__lt=now - STALE_PENDING_AFTER
    ).update(status=OutboxMessage.Status.PENDING)
    exhausted = OutboxMessage.objects.filter(
        status=OutboxMessage.Status.PENDING, attempts__gte=MAX_ATTEMPTS
    ).update(status=OutboxMessage.Status.FAILED)
    cutoff = now - STALE_PENDING_AFTER
    stale_ids = list(
        OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, created_at__lt=cutoff)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=cutoff))
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:REQUEUE_BATCH]
    )
    for message_id in stale_ids:
        deliver_outbox_message.delay_on_commit(message_id)
    return {
        "requeued": len(stale_ids),
        "failed": exhausted,
        "unknown": abandoned,
        "reclaimed": reclaimed,
    }


@shared_task
def sweep_expired_sessions() -> int:
    """Delete the sessions past their expiry (what Django's `clearsessions`
    does, which nothing else runs): an expired session must not stay at rest
    (docs/privacy.md). The portal keeps sessions in the database (Django's
    default engine). Idempotent; returns how many were deleted."""
    from django.contrib.sessions.models import Session

    deleted, _kinds = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted


@shared_task
def sweep_audit_log() -> int:
    """Delete the audit log's entries older than
    settings.TSUNAGARI_AUDIT_RETENTION_DAYS (docs/privacy.md); 0 keeps them
    all. The only deletion of entries anywhere. Idempotent; returns how many
    were deleted."""
    from auditlog.models import LogEntry

    days = settings.TSUNAGARI_AUDIT_RETENTION_DAYS
    if not days:
        return 0
    cutoff = timezone.now() - datetime.timedelta(days=days)
    deleted, _kinds = LogEntry.objects.filter(timestamp__lt=cutoff).delete()
    return deleted
