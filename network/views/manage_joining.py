"""Inviting staff (org admins for their organisation, the secretariat for any)
and reviewing join requests (secretariat)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from core.forms import error_text
from core.pagination import paginate, querystring_without_page

from .. import services
from ..access import login_required_404, secretariat_required
from ..forms_joining import DeclineForm, InvitationForm, JoinRequestFilterForm
from ..models import Invitation, JoinRequest, Organisation


def _manageable_organisation(request, pk):
    return get_object_or_404(Organisation.objects.manageable_by(request.user), pk=pk)


def _pending_invitation(organisation, invitation_pk):
    return get_object_or_404(
        Invitation.objects.pending()
        .filter(membership__organisation=organisation)
        .select_related("membership__user"),
        pk=invitation_pk,
    )


@login_required_404
def staff_invite(request, pk):
    organisation = _manageable_organisation(request, pk)
    if request.method == "POST":
        form = InvitationForm(request.POST)
        if form.is_valid():
            try:
                invitation = services.invite_member(
                    organisation=organisation, invited_by=request.user, **form.cleaned_data
                )
            except ValidationError as error:
                form.add_error("email", error)
            else:
                messages.success(
                    request,
                    _("%(email)s に招待メールを送りました。")
                    % {"email": invitation.membership.user.email},
                )
                return redirect("network:staff_list", pk=organisation.pk)
    else:
        form = InvitationForm()
    return render(
        request, "network/invitation_form.html", {"organisation": organisation, "form": form}
    )


@login_required_404
def invitation_resend(request, pk, invitation_pk):
    # Scope first: someone who may not manage the organisation gets 404,
    # not a 405 that would confirm the URL exists.
    organisation = _manageable_organisation(request, pk)
    invitation = _pending_invitation(organisation, invitation_pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        services.resend_invitation(invitation=invitation, resent_by=request.user)
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(
            request,
            _("%(email)s に招待メールを再送しました。以前のリンクは使えなくなりました。")
            % {"email": invitation.membership.user.email},
        )
    return redirect("network:staff_list", pk=organisation.pk)


@login_required_404
def invitation_revoke(request, pk, invitation_pk):
    organisation = _manageable_organisation(request, pk)
    invitation = _pending_invitation(organisation, invitation_pk)
    if request.method == "POST":
        try:
            services.revoke_invitation(invitation=invitation, revoked_by=request.user)
        except ValidationError as error:
            messages.error(request, error_text(error))
        else:
            messages.success(
                request,
                _("%(email)s への招待を取り消しました。")
                % {"email": invitation.membership.user.email},
            )
        return redirect("network:staff_list", pk=organisation.pk)
    return render(
        request,
        "network/invitation_revoke_confirm.html",
        {"organisation": organisation, "invitation": invitation},
    )


@secretariat_required
@require_safe
def join_request_list(request):
    filter_form = JoinRequestFilterForm(request.GET or None)
    requests = JoinRequest.objects.select_related("municipality__region").pending_first()
    status = filter_form.cleaned_data["status"] if filter_form.is_valid() else ""
    if status:
        requests = requests.filter(status=status)
    page_obj = paginate(request, requests)
    return render(
        request,
        "network/join_request_list.html",
        {
            "filter_form": filter_form,
            "status": status,
            "page_obj": page_obj,
            "querystring": querystring_without_page(request),
            "pending_count": JoinRequest.objects.pending().count(),
        },
    )


@secretariat_required
def join_request_detail(request, pk):
    join_request = get_object_or_404(
        JoinRequest.objects.select_related("municipality__region", "decided_by", "organisation"),
        pk=pk,
    )
    decline_form = DeclineForm(request.POST if request.POST.get("action") == "decline" else None)
    if request.method == "POST":
        try:
            decided = _decide(request, join_request, decline_form)
        except ValidationError as error:
            messages.error(request, error_text(error))
            decided = True
        if decided:
            return redirect("network:join_request_detail", pk=join_request.pk)
    return render(
        request,
        "network/join_request_detail.html",
        {
            "join_request": join_request,
            "programs": join_request.programs.all(),
            "decline_form": decline_form,
            "is_pending": join_request.is_pending,
            # Shown before deciding, so a duplicate is spotted before the click.
            "duplicate": join_request.existing_organisation() if join_request.is_pending else None,
        },
    )


def _decide(request, join_request, decline_form) -> bool:
    """Approve or decline as the POST asks; returns whether it was decided.
    The services raise ValidationError for a request decided meanwhile."""
    action = request.POST.get("action")
    if action == "approve":
        services.approve_join_request(join_request=join_request, decided_by=request.user)
        messages.success(
            request,
            _("「%(name)s」を登録し、%(email)s に組織管理者としての招待メールを送りました。")
            % {"name": join_request.organisation_name, "email": join_request.contact_email},
        )
        return True
    if action == "decline" and decline_form.is_valid():
        services.decline_join_request(
            join_request=join_request,
            decided_by=request.user,
            reason=decline_form.cleaned_data["reason"],
        )
        messages.success(
            request,
            _("申請を見送り、理由を %(email)s に送りました。")
            % {"email": join_request.contact_email},
        )
        return True
    return False
