"""Background work of the network app: e-mails about invitations and join requests.

Tasks take ids, re-fetch their rows and do nothing when the state no longer
calls for them, so a retry or a duplicate delivery is harmless. Callers queue
them with `delay_on_commit`.
"""

import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from . import access
from .emails import absolute_url, send_templated_mail
from .models import Invitation, JoinRequest, User

logger = logging.getLogger(__name__)


@shared_task
def send_invitation(invitation_id: int, token: str) -> bool:
    """E-mail the invitation link; returns whether a mail went out.

    The row stays locked while the mail is sent, so two deliveries of the same
    task cannot both send; `sent_at` makes later deliveries no-ops."""
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().filter(pk=invitation_id).first()
        if invitation is None:
            return False
        if invitation.accepted_at or invitation.revoked_at or invitation.sent_at:
            return False
        if invitation.token_hash != Invitation.hash_token(token):
            # A resend replaced the token; its own task sends the new link,
            # and this one must not mail a link that no longer works.
            return False
        membership = invitation.membership
        user = membership.user
        organisation = membership.organisation
        inviter = invitation.invited_by
        send_templated_mail(
            "invitation",
            {
                "invitation": invitation,
                "user": user,
                "organisation": organisation,
                "membership": membership,
                "inviter": inviter,
                "needs_password": not user.has_usable_password(),
                "accept_url": absolute_url("network:accept_invitation", token),
                "login_url": absolute_url("account_login"),
            },
            to=[user.email],
        )
        invitation.sent_at = timezone.now()
        invitation.save(update_fields=["sent_at"])
    return True


def _secretariat_emails() -> list[str]:
    return list(
        User.objects.filter(groups__name=access.SECRETARIAT_GROUP, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
        .order_by("email")
    )


@shared_task
def send_join_request_notice(join_request_id: int) -> bool:
    """Tell the secretariat that a join request is waiting for a decision."""
    join_request = (
        JoinRequest.objects.select_related("municipality__region")
        .filter(pk=join_request_id)
        .first()
    )
    if join_request is None or join_request.status != JoinRequest.Status.PENDING:
        return False
    recipients = _secretariat_emails()
    if not recipients:
        # Nobody to tell is a set-up problem, not a reason to fail the request.
        logger.warning("join request %s: no secretariat member with an e-mail", join_request_id)
        return False
    send_templated_mail(
        "join_request_notice",
        {
            "join_request": join_request,
            "programs": list(join_request.programs.all()),
            "detail_url": absolute_url("network:join_request_detail", join_request.pk),
        },
        to=recipients,
        reply_to=[join_request.contact_email],
    )
    return True


@shared_task
def send_join_request_declined(join_request_id: int) -> bool:
    """Tell the applicant that the request was declined, and why."""
    join_request = JoinRequest.objects.filter(pk=join_request_id).first()
    if join_request is None or join_request.status != JoinRequest.Status.DECLINED:
        return False
    send_templated_mail(
        "join_request_declined",
        {
            "join_request": join_request,
            "join_url": absolute_url("network:join_request"),
        },
        to=[join_request.contact_email],
    )
    return True
