"""Pages for people with an account: register, change and cancel their own
registrations, their list, their calendar feed, and the registrations of an
organisation they answer for.

Registrations are fetched through Registration.objects.visible_to(user) and
then narrowed to the user's own, so someone else's registration is a 404.
"""

from django.contrib import messages
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from core.forms import error_text
from core.pagination import paginate, querystring_without_page
from network import access as network_access
from network.models import Organisation

from .. import access, services
from ..forms import RegistrationForm
from ..models import CalendarFeed, Event, Registration
from ..querysets import over_q
from .public import outcome_message

# Changing and cancelling one's own registration needs an account, not a
# current membership: someone who left their organisation can still withdraw
# from a meeting they signed up for.
login_required = network_access.login_required_404


def _own_registration(request, pk):
    return get_object_or_404(
        access.own_registrations(Registration.objects.all(), request.user)
        .active()
        .select_related("event", "session", "organisation"),
        pk=pk,
    )


@network_access.member_required
def register(request, pk):
    user = request.user
    event = get_object_or_404(Event.objects.visible_to(user).select_related("municipality"), pk=pk)
    existing = Registration.objects.claimed().filter(event=event, user=user).first()
    if existing is not None:
        messages.info(
            request, _("このイベントにはすでに申し込んでいます。内容の変更はこちらからできます。")
        )
        return redirect("events:registration_edit", pk=existing.pk)
    if not access.may_register_as_member(user, event):
        messages.warning(request, _("このイベントは現在申込を受け付けていません。"))
        return redirect(event)
    form = RegistrationForm(
        request.POST if request.method == "POST" else None, event=event, user=user
    )
    if request.method == "POST" and form.is_valid():
        try:
            registration = services.register(
                event=event, user=user, organisation=form.organisation(), by=user, **form.choices()
            )
        except services.RegistrationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, outcome_message(registration))
            return redirect(event)
    return render(
        request,
        "events/register.html",
        {"event": event, "form": form, "seats": _seats(event)},
    )


def _seats(event):
    taken = Registration.objects.taken_seats(event)
    return event.seats_left(
        taken.get(Registration.Mode.VENUE, 0), taken.get(Registration.Mode.ONLINE, 0)
    )


@login_required
def registration_edit(request, pk):
    registration = _own_registration(request, pk)
    event = registration.event
    if not registration.can_be_changed_by_owner():
        messages.warning(
            request,
            _(
                "申込の受付期間が終わっているため、内容を変更できません。変更が必要な場合は事務局に連絡してください。"
            ),
        )
        return redirect(event)
    form = RegistrationForm(
        request.POST if request.method == "POST" else None,
        event=event,
        user=request.user,
        registration=registration,
    )
    if request.method == "POST" and form.is_valid():
        try:
            registration = services.change_registration(
                registration=registration, by=request.user, **form.choices()
            )
        except services.RegistrationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, outcome_message(registration, changed=True))
            return redirect(event)
    return render(
        request,
        "events/registration_edit.html",
        {"event": event, "registration": registration, "form": form},
    )


@login_required
@require_http_methods(["GET", "POST"])
def registration_cancel(request, pk):
    registration = _own_registration(request, pk)
    event = registration.event
    if not registration.can_be_cancelled_by_owner():
        messages.warning(request, _("このイベントの申し込みはキャンセルできません。"))
        return redirect(event)
    if request.method == "POST":
        try:
            services.cancel_registration(registration=registration, by=request.user)
        except services.RegistrationError as error:
            messages.error(request, error_text(error))
        else:
            messages.success(
                request, _("「%(title)s」の申込をキャンセルしました。") % {"title": event.title}
            )
            return redirect("events:mine")
    return render(
        request,
        "events/registration_cancel.html",
        {"event": event, "registration": registration},
    )


@login_required
@require_safe
def my_registrations(request):
    now = timezone.now()
    past = request.GET.get("when") == "past"
    over = over_q(now, prefix="event__")
    registrations = access.own_registrations(
        Registration.objects.all(), request.user
    ).select_related("event__municipality", "session", "organisation")
    if past:
        # Meetings that are over, and every cancellation.
        registrations = registrations.filter(
            over | Q(status=Registration.Status.CANCELLED)
        ).order_by("-event__starts_at", "-created_at", "-pk")
    else:
        registrations = (
            registrations.active().exclude(over).order_by("event__starts_at", "created_at", "pk")
        )
    page_obj = paginate(request, registrations)
    admin_of = access.followed_organisations(request.user)
    return render(
        request,
        "events/mine.html",
        {
            "page_obj": page_obj,
            "past": past,
            "querystring": querystring_without_page(request),
            "now": now,
            "admin_orgs": (
                Organisation.objects.filter(pk__in=admin_of).order_by("kana", "name")
                if admin_of
                else []
            ),
        },
    )


def _feed_url(request, feed):
    return request.build_absolute_uri(reverse("events:feed", args=[feed.token]))


@login_required
@require_http_methods(["GET", "POST"])
def calendar_settings(request):
    feed = CalendarFeed.objects.filter(user=request.user).first()
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "create" and feed is None:
            feed, _created = CalendarFeed.objects.get_or_create(
                user=request.user, defaults={"token": CalendarFeed.new_token()}
            )
            messages.success(request, _("カレンダー配信URLを作成しました。"))
        elif action == "regenerate" and feed is not None:
            # The old URL stops working at once: that is the point when it leaked.
            feed.token = CalendarFeed.new_token()
            feed.save(update_fields=["token"])
            messages.success(
                request,
                _(
                    "新しい配信URLを発行しました。古いURLは使えなくなりました。カレンダーに登録し直してください。"
                ),
            )
        return redirect("events:calendar_settings")
    feed_url = _feed_url(request, feed) if feed else ""
    return render(
        request,
        "events/calendar_settings.html",
        {
            "feed": feed,
            "feed_url": feed_url,
            "webcal_url": feed_url.replace("https://", "webcal://").replace("http://", "webcal://"),
            "confirm_regenerate": feed is not None and request.GET.get("regenerate") == "1",
        },
    )


@login_required
@require_safe
def organisation_registrations(request, org_pk):
    organisation = get_object_or_404(Organisation, pk=org_pk)
    if not access.may_see_organisation_registrations(request.user, organisation):
        raise Http404
    registrations = (
        Registration.objects.visible_to(request.user)
        .filter(organisation=organisation)
        .select_related("event", "user", "session")
        .order_by("-event__starts_at", "event_id", "user__full_name_kana", "pk")
    )
    page_obj = paginate(request, registrations)
    return render(
        request,
        "events/organisation_registrations.html",
        {
            "organisation": organisation,
            "page_obj": page_obj,
            "querystring": querystring_without_page(request),
        },
    )
