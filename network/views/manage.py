"""Management pages: org admins for their own organisation, the secretariat for all.

Organisation-level pages fetch through Organisation.objects.manageable_by(user),
so an org admin asking for another organisation gets 404 like any outsider.
"""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from core.pagination import paginate, querystring_without_page

from .. import access, services
from ..filters import PeopleFilter
from ..forms import (
    MembershipForm,
    MembershipRemoveForm,
    OrganisationManageForm,
    organisation_form_class,
)
from ..models import Invitation, JoinRequest, Organisation, User


def _managed_organisation(request, pk):
    return get_object_or_404(Organisation.objects.manageable_by(request.user), pk=pk)


def _managed_membership(request, pk, membership_pk):
    organisation = _managed_organisation(request, pk)
    membership = get_object_or_404(
        organisation.memberships.select_related("user", "organisation"), pk=membership_pk
    )
    return organisation, membership


def _save_in_one_transaction(form) -> bool:
    """Validate and save together: the last-admin rule (access.can_demote_or_remove)
    locks the other admins' rows until the change is written."""
    with transaction.atomic():
        saved = form.is_valid()
        if saved:
            form.save()
    return saved


def _after_change(request, membership, message):
    messages.success(request, message)
    if membership.user_id != request.user.pk:
        return redirect("network:staff_list", pk=membership.organisation_id)
    # After changing one's own membership the cached roles are stale, and the
    # staff page may no longer be reachable.
    access.forget_roles(request.user)
    if access.can_manage_organisation(request.user, membership.organisation):
        return redirect("network:staff_list", pk=membership.organisation_id)
    return redirect(membership.organisation)


# --- one organisation ---------------------------------------------------------


@access.login_required_404
def organisation_edit(request, pk):
    organisation = _managed_organisation(request, pk)
    form_class = organisation_form_class(request.user)
    form = form_class(request.POST if request.method == "POST" else None, instance=organisation)
    if request.method == "POST" and form.is_valid():
        services.save_organisation(form)
        messages.success(request, _("組織の情報を保存しました。"))
        return redirect(organisation)
    return render(
        request, "network/organisation_edit.html", {"organisation": organisation, "form": form}
    )


@access.login_required_404
@require_safe
def staff_list(request, pk):
    organisation = _managed_organisation(request, pk)
    memberships = organisation.memberships.select_related("user").staff_order()
    invitations = (
        Invitation.objects.filter(membership__organisation=organisation)
        .pending()
        .select_related("membership__user", "invited_by")
        .order_by("-created_at")
    )
    return render(
        request,
        "network/staff_list.html",
        {
            "organisation": organisation,
            "page_obj": paginate(request, memberships),
            "querystring": querystring_without_page(request),
            "invitations": invitations,
        },
    )


@access.login_required_404
def membership_edit(request, pk, membership_pk):
    organisation, membership = _managed_membership(request, pk, membership_pk)
    if request.method == "POST":
        form = MembershipForm(request.POST, instance=membership, actor=request.user)
        if _save_in_one_transaction(form):
            return _after_change(
                request,
                membership,
                _("%(name)s さんの所属情報を保存しました。") % {"name": membership.user},
            )
    else:
        form = MembershipForm(instance=membership, actor=request.user)
    return render(
        request,
        "network/membership_edit.html",
        {"organisation": organisation, "membership": membership, "form": form},
    )


@access.login_required_404
def membership_remove(request, pk, membership_pk):
    organisation, membership = _managed_membership(request, pk, membership_pk)
    if request.method == "POST":
        form = MembershipRemoveForm(request.POST, membership=membership, actor=request.user)
        if _save_in_one_transaction(form):
            return _after_change(
                request,
                membership,
                _("%(name)s さんを%(org)sの職員から外しました。")
                % {"name": membership.user, "org": organisation},
            )
    else:
        form = MembershipRemoveForm(membership=membership, actor=request.user)
    blocked = not access.can_demote_or_remove(request.user, membership)
    return render(
        request,
        "network/membership_remove.html",
        {
            "organisation": organisation,
            "membership": membership,
            "form": form,
            "blocked": blocked,
            "is_self": membership.user_id == request.user.pk,
        },
    )


# --- the secretariat ----------------------------------------------------------


@access.secretariat_required
@require_safe
def manage_home(request):
    kinds = Organisation.objects.active_counts_by_kind()
    return render(
        request,
        "network/manage_home.html",
        {
            "kinds": kinds,
            "organisation_total": sum(n for _value, _label, n in kinds),
            "inactive_count": Organisation.objects.filter(is_active=False).count(),
            "member_count": User.objects.with_memberships().count(),
            "contact_count": User.objects.contacts().count(),
            "pending_join_requests": JoinRequest.objects.pending().count(),
            "pending_invitations": Invitation.objects.pending().count(),
            "can_use_admin_site": access.can_use_admin_site(request.user),
        },
    )


@access.secretariat_required
def organisation_create(request):
    form = OrganisationManageForm(
        request.POST if request.method == "POST" else None, initial={"is_active": True}
    )
    if request.method == "POST" and form.is_valid():
        organisation = form.save()
        messages.success(
            request,
            _("%(org)sを登録しました。続けて職員を招待してください。") % {"org": organisation},
        )
        return redirect("network:staff_list", pk=organisation.pk)
    return render(request, "network/organisation_create.html", {"form": form})


@access.secretariat_required
@require_safe
def people_list(request):
    filterset = PeopleFilter(request.GET, queryset=User.objects.all(), request=request)
    return render(
        request,
        "network/people_list.html",
        {
            "filter": filterset,
            "page_obj": paginate(request, filterset.qs),
            "querystring": querystring_without_page(request),
            "filtered": any(value for key, value in request.GET.items() if key != "page"),
        },
    )
