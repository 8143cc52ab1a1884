"""Pages anyone can open: the join request form and invitation links."""

import logging

from allauth.account.utils import perform_login
from django.contrib import messages
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_safe

from .. import services
from ..forms_joining import JoinRequestForm
from ..models import Invitation

logger = logging.getLogger(__name__)


def join_request(request):
    if request.method == "POST":
        form = JoinRequestForm(request.POST)
        if form.is_valid():
            if form.is_spam:
                # Answer exactly as for a person, so a bot learns nothing.
                logger.info("join request honeypot filled; discarded")
            else:
                services.create_join_request(**form.service_kwargs())
            return redirect("network:join_request_done")
    else:
        form = JoinRequestForm()
    return render(request, "network/join_request_form.html", {"form": form})


@require_safe
def join_request_done(request):
    return render(request, "network/join_request_done.html")


def _invalid_invitation(request, invitation):
    """An unknown link is 404; a known one that was used, revoked or has
    expired is 410, and the page says which (Invitation.state)."""
    return render(
        request,
        "network/invitation_invalid.html",
        {"invitation": invitation},
        status=404 if invitation is None else 410,
    )


def _after_accepting(request, user, *, set_password: bool):
    """A new person who just chose a password is logged in. The link proves
    the mailbox, not the person at the keyboard: an existing account still
    signs in with its own password, unless it is the one already logged in."""
    if set_password:
        return perform_login(request, user, redirect_url=reverse("home"))
    if request.user.is_authenticated and request.user.pk == user.pk:
        return redirect("home")
    return redirect_to_login(reverse("home"))


@never_cache
@sensitive_post_parameters("new_password1", "new_password2")
def accept_invitation(request, token):
    invitation = (
        Invitation.objects.select_related("membership__user", "membership__organisation")
        .for_token(token)
        .first()
    )
    if invitation is None or not invitation.can_be_accepted:
        return _invalid_invitation(request, invitation)

    user = invitation.membership.user
    organisation = invitation.membership.organisation
    # Someone who already has a password (e.g. a member of another
    # organisation) only confirms; a new person chooses a password here.
    needs_password = not user.has_usable_password()
    data = request.POST if request.method == "POST" else None
    form = SetPasswordForm(user, data) if needs_password else None

    if request.method == "POST" and (form is None or form.is_valid()):
        password = form.cleaned_data["new_password1"] if form else None
        try:
            # The returned user carries the new password hash, which the
            # session must be bound to (or the next request logs them out).
            user = services.accept_invitation(invitation=invitation, password=password)
        except services.InvitationUnusable:
            # Used, revoked (deleted: then the link is unknown) or stopped meanwhile.
            invitation = Invitation.objects.filter(pk=invitation.pk).first()
            return _invalid_invitation(request, invitation)
        messages.success(
            request,
            _("「%(organisation)s」の所属者として参加しました。")
            % {"organisation": organisation.name},
        )
        return _after_accepting(request, user, set_password=needs_password)

    return render(
        request,
        "network/invitation_accept.html",
        {
            "invitation": invitation,
            "invitee": user,
            "organisation": organisation,
            "form": form,
            "needs_password": needs_password,
        },
    )
