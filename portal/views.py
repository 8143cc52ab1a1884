from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db import DatabaseError
from django.db.models import Count, Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from committee.enums import OPEN_NEED_STATUSES
from committee.models import Need
from core import forms as core_forms
from core import health
from core.pagination import paginate, querystring_without_page
from directory import freshness as directory_freshness
from events.models import Event, Registration
from network import access
from network.models import Invitation, JoinRequest, Membership, Organisation
from note.models import Topic
from portal import access as portal_access
from portal import audit, disclosure, erasure
from surveys.models import Invitation as SurveyInvitation

UPCOMING_LIMIT = 3


@require_safe
def home(request):
    """One home page whose panels follow the visitor's roles (DESIGN §2).

    Every panel is a fixed number of queries, whatever the data size."""
    user = request.user
    roles = access.roles(user)
    now = timezone.now()
    context = {
        "upcoming_events": list(
            Event.objects.visible_to(user)
            .filter(status=Event.Status.PUBLISHED, starts_at__gte=now)
            .select_related("municipality")
            .order_by("starts_at")[:UPCOMING_LIMIT]
        )
    }
    if user.is_authenticated:
        context["my_registrations"] = list(
            Registration.objects.filter(
                user=user,
                status__in=Registration.ACTIVE_STATUSES,
                event__starts_at__gte=now,
            )
            .select_related("event")
            .order_by("event__starts_at")[:UPCOMING_LIMIT]
        )
        context["open_surveys"] = list(
            SurveyInvitation.objects.addressed_to(user)
            .filter(
                responded_at__isnull=True,
                survey__opens_at__lte=now,
                survey__closes_at__gt=now,
            )
            .select_related("survey", "organisation")
            .order_by("survey__closes_at")[:UPCOMING_LIMIT]
        )
    if roles.memberships:
        context["my_memberships"] = list(
            Membership.objects.filter(user=user, organisation__is_active=True)
            .select_related("organisation__municipality", "organisation__region")
            .annotate(staff_count=Count("organisation__memberships", distinct=True))
            .order_by("organisation__kana")
        )
    if roles.admin_of:
        context["admin_pending_invitations"] = (
            Invitation.objects.pending().filter(membership__organisation__in=roles.admin_of).count()
        )
        # The navi's entries of their providers that wait for a confirmation.
        context["navi_entries_to_confirm"] = directory_freshness.waiting_for(user).count()
    if access.is_member(user):
        # Questions in the member's rooms that nobody has answered yet: the
        # board's "誰かが答えてくれる" loop starts on the home page.
        context["unanswered_topics"] = Topic.objects.awaiting_answer_for(user).count()
        context["network_stats"] = Organisation.objects.filter(is_active=True).aggregate(
            total=Count("id"),
            municipal=Count("id", filter=Q(kind=Organisation.Kind.MUNICIPALITY)),
            contractors=Count(
                "id",
                filter=Q(kind__in=[Organisation.Kind.CONTRACTOR, Organisation.Kind.SUPPORT]),
            ),
            regions=Count("region", distinct=True),
        )
    if access.can_view_dashboard(user):
        context["need_counts"] = Need.objects.aggregate(
            new=Count("id", filter=Q(status=Need.Status.NEW)),
            open=Count("id", filter=Q(status__in=OPEN_NEED_STATUSES)),
        )
    if access.can_manage_network(user):
        context["pending_join_requests"] = JoinRequest.objects.filter(
            status=JoinRequest.Status.PENDING
        ).count()
        context["all_pending_invitations"] = Invitation.objects.pending().count()
    return render(request, "portal/home.html", context)


def not_found(request, *args, **kwargs):
    """For third-party URLs the portal switches off."""
    raise Http404


@require_safe
@never_cache
def healthz(request):
    """`/healthz` for load balancers: everyone learns ok / not ok (200 / 503);
    the secretariat and monitors with the token also see each check."""
    healthy, checks = health.run_checks()
    body = {"status": "ok" if healthy else "error"}
    if health.has_monitor_token(request) or _is_secretariat_if_readable(request.user):
        body["checks"] = checks
    return JsonResponse(body, status=200 if healthy else 503)


def _is_secretariat_if_readable(user) -> bool:
    # With the database down the session and roles cannot be read; the answer
    # must still be the plain status, not an error page.
    try:
        return access.is_secretariat(user)
    except DatabaseError:
        return False


def _disclosure_response(request, person) -> HttpResponse:
    if not portal_access.can_download_disclosure(request.user, person):
        raise Http404
    body = disclosure.download(person, by=request.user)
    response = HttpResponse(body, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{disclosure.filename(person)}"'
    return response


@access.login_required_404
@require_POST
@never_cache
def my_data(request):
    """「自分のデータをダウンロード」: POST only, so that no link prefetch or
    crawler starts a personal-data export."""
    return _disclosure_response(request, request.user)


@access.secretariat_required
@require_POST
@never_cache
def person_data(request, pk):
    """The secretariat downloads a person's data on their behalf (開示請求)."""
    person = get_object_or_404(get_user_model(), pk=pk)
    return _disclosure_response(request, person)


class ErasureForm(core_forms.Form):
    """The erasure's confirmation: the person's e-mail address, typed."""

    email = forms.CharField(
        label=gettext_lazy("確認のため、この人のメールアドレスを入力してください"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, person, **kwargs):
        super().__init__(*args, **kwargs)
        self.person = person

    def clean_email(self):
        typed = self.cleaned_data["email"]
        if not erasure.confirmation_matches(self.person, typed):
            raise forms.ValidationError(
                _("メールアドレスが一致しません。この人のメールアドレスを正確に入力してください。")
            )
        return typed


@access.secretariat_required
@require_http_methods(["GET", "POST"])
@never_cache
def person_erase(request, pk):
    """「この人のデータを削除（匿名化）」: the confirm page lists what is
    deleted, anonymised and kept; the POST with the person's address typed
    erases (portal.erasure). A superuser's or the secretariat's account is
    refused with an error; anyone but the secretariat gets 404."""
    person = get_object_or_404(get_user_model(), pk=pk)
    if not portal_access.can_erase_person(request.user, person):
        raise Http404
    refusal = erasure.refusal(person)
    already = erasure.is_erased(person)
    form = ErasureForm(request.POST if request.method == "POST" else None, person=person)
    if request.method == "POST" and refusal is None and not already and form.is_valid():
        try:
            erasure.erase_person(
                person=person, by=request.user, confirmation=form.cleaned_data["email"]
            )
        except erasure.ErasureError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _("番号 %(pk)s の人のデータを削除（匿名化）しました。") % {"pk": person.pk},
            )
            return redirect("network:people_list")
    return render(
        request,
        "portal/person_erase.html",
        {
            "person": person,
            "form": form,
            "refusal": refusal,
            "already": already,
            "inventory": None if refusal or already else erasure.inventory_by_action(person),
        },
    )


@access.secretariat_required
@require_safe
def audit_log(request):
    """操作の記録: the audit log, filtered and paginated; nothing here writes."""
    filterset = audit.AuditFilter(request.GET, queryset=audit.entries(), request=request)
    page = paginate(request, filterset.qs)
    return render(
        request,
        "portal/audit_log.html",
        {
            "filter": filterset,
            "page_obj": page,
            "rows": audit.rows(page),
            "querystring": querystring_without_page(request),
            "filtered": any(value for key, value in request.GET.items() if key != "page"),
        },
    )
