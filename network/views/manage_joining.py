"""Inviting staff (org admins for their organisation, the secretariat for any)
and reviewing join requests (secretariat)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

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


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


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
        messages.error(request, _error_text(error))
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
            messages.error(request, _error_text(error))
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
def join_request_list(request):
    filter_form = JoinRequestFilterForm(request.GET or None)
    requests = JoinRequest.objects.select_related("municipality__region").annotate(
        # Pending requests wait for someone to act, so they come first.
        pending_first=Case(
            When(status=JoinRequest.Status.PENDING, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
    )
    status = ""
    if filter_form.is_valid():
        status = filter_form.cleaned_data["status"]
        if status:
            requests = requests.filter(status=status)
    requests = requests.order_by("pending_first", "-created_at", "-pk")
    page_obj = paginate(request, requests)
    return render(
        request,
        "network/join_request_list.html",
        {
            "filter_form": filter_form,
            "status": status,
            "page_obj": page_obj,
            "querystring": querystring_without_page(request),
            "pending_count": JoinRequest.objects.filter(status=JoinRequest.Status.PENDING).count(),
        },
    )


@secretariat_required
def join_request_detail(request, pk):
    join_request = get_object_or_404(
        JoinRequest.objects.select_related("municipality__region", "decided_by", "organisation"),
        pk=pk,
    )
    decline_form = DeclineForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "approve":
                join_request = services.approve_join_request(
                    join_request=join_request, decided_by=request.user
                )
                messages.success(
                    request,
                    _(
                        "「%(name)s」を登録し、%(email)s に組織管理者としての招待メールを送りました。"
                    )
                    % {"name": join_request.organisation_name, "email": join_request.contact_email},
                )
                return redirect("network:join_request_detail", pk=join_request.pk)
            if action == "decline":
                decline_form = DeclineForm(request.POST)
                if decline_form.is_valid():
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
                    return redirect("network:join_request_detail", pk=join_request.pk)
        except ValidationError as error:
            messages.error(request, _error_text(error))
            return redirect("network:join_request_detail", pk=join_request.pk)

    is_pending = join_request.status == JoinRequest.Status.PENDING
    context = {
        "join_request": join_request,
        "programs": join_request.programs.all(),
        "decline_form": decline_form,
        "is_pending": is_pending,
    }
    if is_pending:
        # Shown before deciding, so a duplicate is spotted before the click.
        context["duplicate"] = Organisation.objects.filter(
            name=join_request.organisation_name, municipality=join_request.municipality
        ).first()
    return render(request, "network/join_request_detail.html", context)
