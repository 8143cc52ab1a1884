"""Workflows of the network app that write several rows or have side effects.

Every service is keyword-only, typed and atomic. E-mails are written to the
outbox in the same transaction (network.notifications) and delivered once it
commits, so nothing is sent for a transaction that rolls back, and no mail is
sent while these services hold a row lock.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from . import access, notifications
from .models import (
    Invitation,
    JoinRequest,
    Membership,
    Municipality,
    Organisation,
    Program,
    User,
)

# --- Invitations ------------------------------------------------------------


def _issue_invitation(*, membership: Membership, invited_by: User | None) -> Invitation:
    token, token_hash = Invitation.new_token()
    invitation = Invitation.objects.create(
        membership=membership,
        invited_by=invited_by,
        token_hash=token_hash,
        expires_at=Invitation.default_expiry(),
        # The mail is queued in this transaction; the outbox row says when it left.
        sent_at=timezone.now(),
    )
    # Only the hash is stored on the invitation; the raw token travels in the
    # outbox row until the mail is sent (decision 0005).
    notifications.invitation_link(invitation, token)
    # Kept on the instance (never saved) for callers that need the link now,
    # e.g. tests; once the mail is sent it exists only in the mailbox.
    invitation.raw_token = token
    return invitation


@transaction.atomic
def invite_member(
    *,
    organisation: Organisation,
    email: str,
    full_name: str,
    full_name_kana: str = "",
    staff_role: str = Membership.StaffRole.OTHER,
    experience: str = "",
    is_org_admin: bool = False,
    invited_by: User | None,
) -> Invitation:
    """Add a person to an organisation and e-mail them a link to join.

    The membership exists from now on; the link lets a new person set a
    password (an existing user only confirms). A person already known to the
    network keeps the name they have."""
    email = User.objects.normalize_email(email)
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        try:
            # Savepoint: a concurrent invite of the same new address must
            # become a form error, not a broken transaction.
            with transaction.atomic():
                user = User.objects.create_contact(
                    email, full_name=full_name.strip(), full_name_kana=full_name_kana.strip()
                )
        except IntegrityError:
            user = User.objects.get(email__iexact=email)
    if not user.is_active:
        raise ValidationError(
            _("%(email)s のアカウントは無効になっています。事務局にお問い合わせください。"),
            code="inactive_user",
            params={"email": email},
        )
    already = ValidationError(
        _("%(email)s の方はすでに「%(organisation)s」の所属者です。"),
        code="already_member",
        params={"email": email, "organisation": organisation.name},
    )
    if Membership.objects.filter(user=user, organisation=organisation).exists():
        raise already
    try:
        with transaction.atomic():
            membership = Membership.objects.create(
                user=user,
                organisation=organisation,
                staff_role=staff_role,
                experience=experience,
                is_org_admin=is_org_admin,
            )
    except IntegrityError:
        raise already from None
    access.forget_roles(user)
    return _issue_invitation(membership=membership, invited_by=invited_by)


def _locked_invitation(invitation: Invitation) -> Invitation | None:
    """The invitation's row, re-read under a lock; None when it was revoked
    meanwhile (revoking deletes it with its membership)."""
    return Invitation.objects.select_for_update().filter(pk=invitation.pk).first()


@transaction.atomic
def resend_invitation(*, invitation: Invitation, resent_by: User | None) -> Invitation:
    """A fresh link and a fresh expiry; the old link stops working at once."""
    locked = _locked_invitation(invitation)
    if locked is None or locked.accepted_at or locked.revoked_at:
        raise ValidationError(
            _("この招待はすでに受諾または取り消しされています。"), code="not_pending"
        )
    token, token_hash = Invitation.new_token()
    locked.token_hash = token_hash
    locked.expires_at = Invitation.default_expiry()
    locked.sent_at = timezone.now()
    if resent_by is not None:
        locked.invited_by = resent_by
    locked.save(update_fields=["token_hash", "expires_at", "sent_at", "invited_by"])
    # Also gives up the old link's mail if it is still waiting.
    notifications.invitation_link(locked, token)
    locked.raw_token = token
    return locked


@transaction.atomic
def revoke_invitation(*, invitation: Invitation, revoked_by: User | None) -> Organisation:
    """Withdraw a pending invitation together with the membership it created.

    The membership is created with the invitation, so while the invitation is
    pending the person has not joined yet. Keeping the membership would let
    whoever reads that mailbox still join through password reset, which is
    exactly what revoking must stop (e.g. a mistyped address). Deleting the
    membership deletes its invitation rows too; the user row stays, as it may
    belong to other organisations or records."""
    locked = _locked_invitation(invitation)
    if locked is None:
        raise ValidationError(_("この招待はすでに取り消されています。"), code="revoked")
    if locked.accepted_at:
        raise ValidationError(
            _("この招待はすでに受諾されています。所属を外すには職員一覧から削除してください。"),
            code="accepted",
        )
    if locked.revoked_at:
        raise ValidationError(_("この招待はすでに取り消されています。"), code="revoked")
    membership = locked.membership
    organisation = membership.organisation
    user = membership.user
    # A link mail still waiting must not go out for a withdrawn invitation.
    notifications.withdraw_invitation(locked)
    membership.delete()
    _end_sessions_if_outside(user)
    return organisation


# --- Leaving ------------------------------------------------------------------


def end_sessions_of_those_left_outside(*, user_ids: Iterable[int] | QuerySet) -> int:
    """End every session of each of these people whom nothing keeps inside the
    network any more; returns how many were signed out (docs/security.md §13).

    Called after something took memberships away or made them worthless: a
    membership removed or revoked in the portal, deleted in the admin site
    (also from a person's page, or with its organisation), an organisation
    made inactive (admin, the secretariat's page, an import). Only such a
    change calls it, so a person who never had a membership is never signed
    out by it.

    Inside stays who access.keeps_network_access lets in (UserManager.kept_inside): an active account
    with a membership of an active organisation, in the secretariat or
    committee group, a superuser or admin-site staff. Here that rule is one
    UPDATE filtered by it, whatever the number of people (`user_ids` may be
    ids or a queryset of ids, evaluated inside that UPDATE — pass a list when
    the rows it reads are about to be deleted). Calling it again changes
    nothing for those inside; for those outside it ends what they signed in
    to since (public pages only), as the change that called it would."""
    if not isinstance(user_ids, QuerySet):
        user_ids = list(user_ids)
        if not user_ids:
            return 0
    return (
        User.objects.filter(pk__in=user_ids)
        .exclude(pk__in=User.objects.kept_inside().values("pk"))
        .update(session_epoch=F("session_epoch") + 1)
    )


@transaction.atomic
def save_organisation(form) -> Organisation:
    """Save an organisation's edit form (the secretariat's or its org admin's
    page); when it made the organisation inactive, its members whom nothing
    else keeps inside are signed out, in the same transaction (§13)."""
    organisation = form.save()
    if "is_active" in form.changed_data and not organisation.is_active:
        end_sessions_of_those_left_outside(user_ids=organisation.memberships.values("user_id"))
    return organisation


def _end_sessions_if_outside(user: User) -> None:
    """After one of this person's memberships ended (the portal's own paths):
    end_sessions_of_those_left_outside for them alone."""
    access.forget_roles(user)
    if end_sessions_of_those_left_outside(user_ids=[user.pk]):
        user.refresh_from_db(fields=["session_epoch"])


@transaction.atomic
def remove_membership(*, membership: Membership, removed_by: User | None) -> None:
    """Take a person off an organisation's staff list (the caller has checked
    access.can_demote_or_remove). Their sessions end if this was what let
    them in, also when they removed themselves."""
    user = membership.user
    membership.delete()
    _end_sessions_if_outside(user)


class InvitationUnusable(Exception):
    """The invitation was accepted, revoked or expired, or its account
    deactivated, between page load and submit."""


@transaction.atomic
def accept_invitation(*, invitation: Invitation, password: str | None) -> User:
    """Mark the invitation accepted and, for a new person, set their password.

    The row is re-read under a lock, so two submissions of the same link
    (double click, two tabs) cannot both succeed."""
    locked = _locked_invitation(invitation)
    if locked is None or not locked.is_usable:
        raise InvitationUnusable
    user = User.objects.select_for_update().get(pk=locked.membership.user_id)
    if not user.is_active:  # deactivated since the page was loaded
        raise InvitationUnusable
    if password is not None:
        user.set_password(password)
        user.save(update_fields=["password"])
    locked.accepted_at = timezone.now()
    locked.save(update_fields=["accepted_at"])
    return user


# --- Join requests ------------------------------------------------------------


@transaction.atomic
def create_join_request(
    *,
    organisation_name: str,
    organisation_kana: str,
    kind: str,
    municipality: Municipality,
    programs: Iterable[Program],
    contact_name: str,
    contact_kana: str,
    contact_email: str,
    contact_phone: str,
    message: str,
) -> JoinRequest:
    join_request = JoinRequest.objects.create(
        organisation_name=organisation_name.strip(),
        organisation_kana=organisation_kana.strip(),
        kind=kind,
        municipality=municipality,
        contact_name=contact_name.strip(),
        contact_kana=contact_kana.strip(),
        contact_email=User.objects.normalize_email(contact_email),
        contact_phone=contact_phone.strip(),
        message=message.strip(),
    )
    join_request.programs.set(programs)
    notifications.join_request_notice(join_request)
    return join_request


def _locked_pending(join_request: JoinRequest) -> JoinRequest:
    locked = (
        JoinRequest.objects.select_for_update()
        .select_related("municipality__region")
        .get(pk=join_request.pk)
    )
    if locked.status != JoinRequest.Status.PENDING:
        raise ValidationError(
            _("この申請はすでに「%(status)s」として処理済みです。"),
            code="already_decided",
            params={"status": locked.get_status_display()},
        )
    return locked


@transaction.atomic
def approve_join_request(*, join_request: JoinRequest, decided_by: User) -> JoinRequest:
    """Create the organisation and invite the applicant as its admin."""
    locked = _locked_pending(join_request)
    duplicate = ValidationError(
        _(
            "「%(name)s」（%(municipality)s）はすでに登録されています。既存の組織を確認してください。"
        ),
        code="duplicate_organisation",
        params={"name": locked.organisation_name, "municipality": locked.municipality.name},
    )
    if locked.existing_organisation() is not None:
        raise duplicate
    try:
        with transaction.atomic():
            organisation = Organisation.objects.create(
                name=locked.organisation_name,
                kana=locked.organisation_kana,
                kind=locked.kind,
                municipality=locked.municipality,
                region=locked.municipality.region,
                is_active=True,
            )
    except IntegrityError:
        raise duplicate from None
    organisation.programs.set(locked.programs.all())
    invite_member(
        organisation=organisation,
        email=locked.contact_email,
        full_name=locked.contact_name,
        full_name_kana=locked.contact_kana,
        staff_role=Membership.StaffRole.OTHER,
        experience="",
        is_org_admin=True,
        invited_by=decided_by,
    )
    locked.status = JoinRequest.Status.APPROVED
    locked.decided_by = decided_by
    locked.decided_at = timezone.now()
    locked.organisation = organisation
    locked.save(update_fields=["status", "decided_by", "decided_at", "organisation"])
    return locked


@transaction.atomic
def decline_join_request(
    *, join_request: JoinRequest, decided_by: User, reason: str
) -> JoinRequest:
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("見送りの理由を入力してください。"), code="reason_required")
    locked = _locked_pending(join_request)
    locked.status = JoinRequest.Status.DECLINED
    locked.decline_reason = reason
    locked.decided_by = decided_by
    locked.decided_at = timezone.now()
    locked.save(update_fields=["status", "decline_reason", "decided_by", "decided_at"])
    notifications.join_request_declined(locked)
    return locked
