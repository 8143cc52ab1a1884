"""Invitation links and the invitation mails, and the task that queues them.

Its own module so that the import direction stays one way: services create
invitations and queue `send_invitations` (this module), tasks run the sweeps
through services, and nothing here imports either (services ↔ tasks was a
cycle). The task keeps its historic name "surveys.tasks.send_invitations"
(tasks.py re-exports it), so queued messages and the beat schedule stay valid.

Invitation links. Only a SHA-256 of a link's token is stored (core.tokens),
like every other token in the portal. The token itself is an HMAC of the
invitation's survey and addressee under SECRET_KEY (`invitation_token`), so a
reminder can carry the same link as the first mail without the token ever
being stored. Rotating SECRET_KEY therefore changes the links: a reminder then
issues a new token for that invitation (the old link stops working), see
`link_token`.
"""

from __future__ import annotations

import base64

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from core.tokens import hash_token, new_token

from . import notifications
from .enums import SurveyStatus
from .models import Invitation, Survey

INVITE_BATCH = 200


def invitation_token(*, survey_id: int, user_id: int | None, organisation_id: int | None) -> str:
    """The secret of an invitation's link, derived (HMAC under SECRET_KEY) from
    whom it is for, so it can be re-created for a reminder without storing it."""
    value = f"{survey_id}:{user_id or ''}:{organisation_id or ''}"
    digest = salted_hmac("surveys.invitation", value, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _token_of(invitation: Invitation) -> str:
    return invitation_token(
        survey_id=invitation.survey_id,
        user_id=invitation.user_id,
        organisation_id=invitation.organisation_id if invitation.user_id is None else None,
    )


def link_token(invitation: Invitation) -> str:
    """The token for a mail about this invitation. When it no longer matches the
    stored hash (SECRET_KEY rotated, or the invitation was made elsewhere), a new
    one is issued: the older link stops working, the new mail carries a working one."""
    token = _token_of(invitation)
    token_hash = hash_token(token)
    if token_hash != invitation.token_hash:
        token, token_hash = new_token()
        Invitation.objects.filter(pk=invitation.pk).update(token_hash=token_hash)
        invitation.token_hash = token_hash
    return token


def respond_url(token: str) -> str:
    return settings.SITE_URL + reverse("surveys:respond", args=[token])


def queue_invitation_mails(*, survey: Survey, batch: int = INVITE_BATCH) -> int:
    """Queue the invitation mail of every invitation of the survey not mailed
    yet (sent_at empty), a batch per transaction; returns how many were queued.
    Runs as send_invitations after publishing, so publishing to thousands
    of people does not hold the secretariat's request. Idempotent: the outbox
    key per invitation, and sent_at, make a second run queue nothing."""
    queued = 0
    while True:
        with transaction.atomic():
            invitations = list(
                survey.invitations.filter(sent_at__isnull=True, responded_at__isnull=True)
                .select_for_update(of=("self",), skip_locked=True)
                .select_related("survey", "user", "organisation")
                .order_by("pk")[:batch]
            )
            if not invitations:
                return queued
            for invitation in invitations:
                if notifications.invite(invitation, respond_url(link_token(invitation))):
                    queued += 1
            Invitation.objects.filter(pk__in=[i.pk for i in invitations]).update(
                sent_at=timezone.now()
            )


@shared_task(name="surveys.tasks.send_invitations")
def send_invitations(survey_id: int) -> int:
    """Mail the survey's invitations not mailed yet (queued by publishing)."""
    survey = Survey.objects.filter(pk=survey_id).first()
    if survey is None or survey.status != SurveyStatus.PUBLISHED or survey.is_closed:
        return 0
    return queue_invitation_mails(survey=survey)
