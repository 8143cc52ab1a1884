from django.db.models import Count, Q
from django.shortcuts import render

from network import access
from network.models import Invitation, JoinRequest, Membership, Organisation


def home(request):
    """One home page whose panels follow the visitor's roles (DESIGN §2)."""
    user = request.user
    roles = access.roles(user)
    context = {}
    if roles.memberships:
        context["my_memberships"] = list(
            Membership.objects.filter(user=user, organisation__is_active=True)
            .select_related("organisation__municipality", "organisation__region")
            .annotate(staff_count=Count("organisation__memberships", distinct=True))
            .order_by("organisation__kana")
        )
    if roles.admin_of:
        context["admin_pending_invitations"] = (
            Invitation.objects.pending()
            .filter(membership__organisation__in=roles.admin_of)
            .count()
        )
    if access.is_member(user):
        context["network_stats"] = Organisation.objects.filter(is_active=True).aggregate(
            total=Count("id"),
            municipal=Count("id", filter=Q(kind=Organisation.Kind.MUNICIPALITY)),
            contractors=Count(
                "id",
                filter=Q(kind__in=[Organisation.Kind.CONTRACTOR, Organisation.Kind.SUPPORT]),
            ),
            regions=Count("region", distinct=True),
        )
    if access.can_manage_network(user):
        context["pending_join_requests"] = JoinRequest.objects.filter(
            status=JoinRequest.Status.PENDING
        ).count()
        context["all_pending_invitations"] = Invitation.objects.pending().count()
    return render(request, "core/home.html", context)
