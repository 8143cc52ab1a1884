"""The secretariat's pages: the review queue (posts waiting after the privacy
guard, entries due for re-review), hiding and restoring posts, the logged
「投稿者を確認」, the follow-up rooms of meetings, the export.

Every view is behind access.moderator_required, and every object is fetched
through the scoped querysets as well (the secretariat's scope is everything).
"""

from __future__ import annotations

import csv

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from core.forms import error_text
from core.importing import defuse
from events.models import Event

from .. import access, services
from ..enums import PostKind
from ..forms import CuratorForm, MeetingRoomForm, ReasonForm
from ..models import Curator, NoteEntry, Reply, Room, Topic
from ..templatetags.note import minute

QUEUE_LIMIT = 100


def _post(user, kind: str, pk: int):
    """The topic, reply or entry a moderation URL names."""
    try:
        kind = PostKind(kind)
    except ValueError:
        raise Http404 from None
    if kind == PostKind.TOPIC:
        queryset = Topic.objects.visible_to(user).select_related("room", "author", "author_org")
    elif kind == PostKind.REPLY:
        queryset = Reply.objects.visible_to(user).select_related(
            "topic__room", "author", "author_org"
        )
    else:
        queryset = NoteEntry.objects.visible_to(user).select_related("curator")
    return get_object_or_404(queryset, pk=pk)


def _back(post):
    return post.get_absolute_url()


@access.moderator_required
@require_safe
def review_queue(request):
    user = request.user
    return render(
        request,
        "note/manage_queue.html",
        {
            "topics": Topic.objects.visible_to(user)
            .pending()
            .select_related("room")
            .order_by("created_at")[:QUEUE_LIMIT],
            "replies": Reply.objects.visible_to(user)
            .pending()
            .select_related("topic__room")
            .order_by("created_at")[:QUEUE_LIMIT],
            "entries": NoteEntry.objects.visible_to(user)
            .pending()
            .order_by("created_at")[:QUEUE_LIMIT],
            "due": NoteEntry.objects.visible_to(user)
            .published()
            .due_for_review()
            .order_by("reviewed_on")[:QUEUE_LIMIT],
        },
    )


@access.moderator_required
@require_POST
def approve(request, kind, pk):
    post = _post(request.user, kind, pk)
    try:
        services.approve_post(post=post, by=request.user)
    except ValidationError as error:
        messages.warning(request, error_text(error))
    else:
        messages.success(request, _("公開しました。"))
    return redirect(request.POST.get("next") == "queue" and "note:manage_queue" or _back(post))


@access.moderator_required
def hide(request, kind, pk):
    """Confirm, with a reason the author will see, then hide."""
    post = _post(request.user, kind, pk)
    if not access.may_hide(request.user, post):
        messages.info(request, _("この投稿はすでに非表示です。"))
        return redirect(_back(post))
    form = ReasonForm(
        request.POST if request.method == "POST" else None,
        help_text=_("投稿した人に表示されます。ほかの会員には投稿そのものが表示されなくなります。"),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.hide_post(post=post, by=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            form.add_error(None, error_text(error))
        else:
            messages.success(request, _("非表示にしました。"))
            return redirect(_back(post))
    return render(request, "note/manage_hide.html", {"post": post, "form": form})


@access.moderator_required
def restore(request, kind, pk):
    post = _post(request.user, kind, pk)
    if not access.may_restore(request.user, post):
        raise Http404
    if request.method == "POST":
        services.restore_post(post=post, by=request.user)
        messages.success(request, _("再び表示しました。"))
        return redirect(_back(post))
    return render(request, "note/manage_restore.html", {"post": post})


@access.moderator_required
def author(request, kind, pk):
    """「投稿者を確認」: the reason first; the author is shown only in the
    answer to the POST that wrote the log row."""
    post = _post(request.user, kind, pk)
    if not access.may_look_up_author(request.user, post):
        raise Http404
    form = ReasonForm(
        request.POST if request.method == "POST" else None,
        help_text=_("確認した人・日時・理由が記録されます。運営上必要なときだけ確認してください。"),
    )
    lookup = None
    if request.method == "POST" and form.is_valid():
        try:
            lookup = services.look_up_author(
                post=post, by=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            form.add_error(None, error_text(error))
    return render(
        request, "note/manage_author.html", {"post": post, "form": form, "lookup": lookup}
    )


@access.moderator_required
def rooms(request):
    """Every room, and the follow-up room of a meeting that is over."""
    user = request.user
    events = (
        Event.objects.manageable_by(user)
        .over()
        .filter(note_room__isnull=True)
        .order_by("-starts_at")
    )
    form = MeetingRoomForm(request.POST if request.method == "POST" else None, events=events)
    if request.method == "POST" and form.is_valid():
        try:
            room = services.open_meeting_room(event=form.cleaned_data["event"], by=user)
        except ValidationError as error:
            form.add_error(None, error_text(error))
        else:
            messages.success(request, _("会のあとの部屋を開きました。"))
            return redirect(room)
    return render(
        request,
        "note/manage_rooms.html",
        {
            "rooms": Room.objects.visible_to(user)
            .with_counts()
            .select_related("program", "event")
            .order_by("order", "pk"),
            "form": form,
            "has_events": events.exists(),
        },
    )


@access.moderator_required
@require_safe
def export(request):
    """Topics as CSV (UTF-8 with BOM). Anonymous topics stay anonymous here
    too: the author is known only through the logged 「投稿者を確認」."""
    if not access.may_export(request.user):
        raise Http404
    topics = (
        Topic.objects.visible_to(request.user)
        .for_list()
        .select_related("room")
        .order_by("created_at", "pk")
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="note-topics-{stamp}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(
        [_("部屋"), _("タイトル"), _("投稿者"), _("投稿日時"), _("状態"), _("返信数"), _("解決")]
    )
    for topic in topics:
        writer.writerow(
            [
                defuse(value)
                for value in (
                    topic.room.name,
                    topic.title,
                    topic.author_label,
                    minute(topic.created_at),
                    topic.get_state_display(),
                    str(topic.reply_count),
                    _("解決済み") if topic.is_resolved else "",
                )
            ]
        )
    return response


@access.moderator_required
def curators(request):
    """Who may curate the note besides the secretariat."""
    form = CuratorForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_curator(user=form.user, by=request.user)
        except ValidationError as error:
            form.add_error(None, error_text(error))
        else:
            messages.success(request, _("ノートの編集者にしました。"))
            return redirect("note:manage_curators")
    return render(
        request,
        "note/manage_curators.html",
        {
            "curators": Curator.objects.select_related("user", "added_by").order_by(
                "user__full_name_kana", "pk"
            ),
            "form": form,
        },
    )


@access.moderator_required
def curator_remove(request, pk):
    curator = get_object_or_404(Curator.objects.select_related("user"), pk=pk)
    if request.method == "POST":
        services.remove_curator(curator=curator, by=request.user)
        messages.success(request, _("編集者から外しました。"))
        return redirect("note:manage_curators")
    return render(request, "note/manage_curator_remove.html", {"curator": curator})
