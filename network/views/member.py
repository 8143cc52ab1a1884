"""Pages for everyone inside the network: the organisation list and profiles."""

from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from core.pagination import paginate, querystring_without_page

from .. import access
from ..filters import OrganisationFilter
from ..models import Membership, Organisation


@access.member_required
@require_safe
def organisation_list(request):
    filterset = OrganisationFilter(
        request.GET, queryset=Organisation.objects.visible_to(request.user), request=request
    )
    page_obj = paginate(request, filterset.qs)
    return render(
        request,
        "network/organisation_list.html",
        {
            "filter": filterset,
            "page_obj": page_obj,
            "querystring": querystring_without_page(request),
            "filtered": any(value for key, value in request.GET.items() if key != "page"),
            "can_manage_network": access.can_manage_network(request.user),
        },
    )


@access.member_required
@require_safe
def organisation_detail(request, pk):
    organisation = get_object_or_404(
        Organisation.objects.visible_to(request.user)
        .select_related("municipality", "region")
        .prefetch_related("programs"),
        pk=pk,
    )
    staff = (
        Membership.objects.visible_to(request.user)
        .filter(organisation=organisation)
        .select_related("user")
        .staff_order()
    )
    return render(
        request,
        "network/organisation_detail.html",
        {
            "organisation": organisation,
            "commissions_received": organisation.commissions_received.select_related(
                "commissioner", "program"
            ),
            "commissions_given": organisation.commissions_given.select_related(
                "contractor", "program"
            ),
            "staff": staff,
            "can_manage": access.can_manage_organisation(request.user, organisation),
            "show_contacts": access.can_see_contact_details(request.user, organisation),
        },
    )
