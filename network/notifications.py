"""The e-mails of the network app: what each says, and under which outbox key.

Each message is a pair of templates under templates/network/emails/
(`<name>_subject.txt`, `<name>.txt`) rendered in Japanese and recorded through
core.outbox.queue_message, inside the caller's transaction; delivery is queued
on commit, so nothing is mailed for a change that rolled back and no mail is
sent while a row is locked. The keys:

- an invitation link: "invitation:<invitation id>:link:<n>", n counting the
  links issued for that invitation (a resend issues a new one), so each link
  is mailed once;
- a new join request, to each secretariat member:
  "join-request:<id>:notice:<user id>";
- a declined join request: "join-request:<id>:declined".

The invitation mail carries the link's raw token, which is stored nowhere else
(the invitation keeps its hash): the outbox row names it as its secret, and it
is removed from the row once the mail is sent or given up (decision 0005).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from core.models import OutboxMessage
from core.outbox import count_keys, queue_message, skip_unsent

from .models import Invitation, JoinRequest, User

logger = logging.getLogger(__name__)


def absolute_url(viewname: str, *args) -> str:
    """Links in e-mails must be absolute and must not depend on a request:
    delivery runs in a worker that has none."""
    return settings.SITE_URL + reverse(viewname, args=args)


def _render(name: str, context: dict) -> tuple[str, str]:
    # A worker has no request that would activate a language.
    with translation.override(settings.LANGUAGE_CODE):
        context = {"site_url": settings.SITE_URL, **context}
        subject = render_to_string(f"network/emails/{name}_subject.txt", context)
        body = render_to_string(f"network/emails/{name}.txt", context)
    return " ".join(subject.split()), body


# --- invitations ------------------------------------------------------------------


def invitation_key_prefix(invitation: Invitation) -> str:
    return f"invitation:{invitation.pk}:link:"


def invitation_link(invitation: Invitation, token: str) -> OutboxMessage | None:
    """Queue the mail with the link for `token`, the invitation's current one.

    Any earlier link's mail still waiting is given up: that link no longer
    works. Callers hold the invitation's row (new, or locked), so two calls
    cannot take the same key number."""
    prefix = invitation_key_prefix(invitation)
    skip_unsent(key_prefix=prefix)
    membership = invitation.membership
    user = membership.user
    subject, body = _render(
        "invitation",
        {
            "invitation": invitation,
            "user": user,
            "organisation": membership.organisation,
            "membership": membership,
            "inviter": invitation.invited_by,
            "needs_password": not user.has_usable_password(),
            "accept_url": absolute_url("network:accept_invitation", token),
            "login_url": absolute_url("account_login"),
        },
    )
    return queue_message(
        key=f"{prefix}{count_keys(prefix) + 1}",
        kind="network.invitation",
        to_email=user.email,
        subject=subject,
        body=body,
        secret=token,
    )


def withdraw_invitation(invitation: Invitation) -> int:
    """Give up the invitation's mails still waiting (it is being revoked)."""
    return skip_unsent(key_prefix=invitation_key_prefix(invitation))


# --- join requests ------------------------------------------------------------------


def _secretariat() -> list[tuple[int, str]]:
    return list(
        User.objects.secretariat_staff()
        .exclude(email="")
        .values_list("pk", "email")
        .order_by("email")
    )


def join_request_notice(join_request: JoinRequest) -> int:
    """Tell each secretariat member that a join request waits for a decision;
    a reply goes to the applicant. Returns how many mails were queued (none
    without a secretariat member: a set-up problem, not a reason to refuse
    the request)."""
    subject, body = _render(
        "join_request_notice",
        {
            "join_request": join_request,
            "programs": list(join_request.programs.all()),
            "detail_url": absolute_url("network:join_request_detail", join_request.pk),
        },
    )
    recipients = _secretariat()
    if not recipients:
        logger.warning("join request %s: no secretariat member with an e-mail", join_request.pk)
    queued = 0
    for user_id, address in recipients:
        message = queue_message(
            key=f"join-request:{join_request.pk}:notice:{user_id}",
            kind="network.join_request_notice",
            to_email=address,
            subject=subject,
            body=body,
            reply_to=join_request.contact_email,
        )
        queued += message is not None
    return queued


def join_request_declined(join_request: JoinRequest) -> OutboxMessage | None:
    """Tell the applicant that the request was declined, and why."""
    subject, body = _render(
        "join_request_declined",
        {"join_request": join_request, "join_url": absolute_url("network:join_request")},
    )
    return queue_message(
        key=f"join-request:{join_request.pk}:declined",
        kind="network.join_request_declined",
        to_email=join_request.contact_email,
        subject=subject,
        body=body,
    )
