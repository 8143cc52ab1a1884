"""Members' pages of the board and the note: rooms, topics, replies, one's
own topics and follows, the note, the printable 事例集.

Everything is fetched through the scoped querysets (Room/Topic/Reply/
NoteEntry.objects.visible_to), so a room one may not read, and everything
in it, answers 404. What a viewer may do with each post is decided by
note.access and handed to the templates as `actions`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from core.dates import current_fiscal_year
from core.forms import error_text
from core.pagination import is_filtered, paginate, querystring_without_page

from .. import access, search, services
from ..filters import NoteEntryFilterSet, TopicFilterSet
from ..forms import NoteEntryForm, PreferenceForm, ReplyForm, ResolutionForm, TopicForm
from ..models import Follow, NoteEntry, NotePreference, Reply, Room, Topic

TOPICS_PER_PAGE = 20
ENTRIES_PER_PAGE = 20


@dataclass(frozen=True)
class PostActions:
    """What the viewer may do with one post (from note.access)."""

    is_own: bool = False
    edit: bool = False
    history: bool = False
    hide: bool = False
    restore: bool = False
    approve: bool = False
    look_up: bool = False


def post_actions(user, post, now=None) -> PostActions:
    return PostActions(
        is_own=access.is_author(user, post),
        edit=access.may_edit_post(user, post, now),
        history=bool(post.edited_at) and access.may_see_history(user, post),
        hide=access.may_hide(user, post),
        restore=access.may_restore(user, post),
        approve=access.may_approve(user, post),
        look_up=access.may_look_up_author(user, post),
    )


def _query(filterset) -> str:
    """The keyword the filter form accepted ("" when it has none or is invalid)."""
    return filterset.form.cleaned_data.get("q", "") if filterset.is_valid() else ""


def _apply_privacy_error(form, error: ValidationError) -> None:
    form.add_error(None, error_text(error))


# --- rooms ---------------------------------------------------------------------------


@access.member_required
@require_safe
def home(request):
    rooms = (
        Room.objects.visible_to(request.user)
        .with_counts()
        .select_related("program", "event")
        .order_by("order", "pk")
    )
    return render(
        request,
        "note/home.html",
        {
            "rooms": rooms,
            "is_curator": access.is_curator(request.user),
            "can_moderate": access.can_moderate(request.user),
        },
    )


@access.member_required
@require_safe
def room(request, pk):
    user = request.user
    the_room = get_object_or_404(
        Room.objects.visible_to(user).select_related("program", "event"), pk=pk
    )
    topics = Topic.objects.visible_to(user).filter(room=the_room).for_list()
    filterset = TopicFilterSet(request.GET, queryset=topics)
    page, results = search.ranked_page(
        request, filterset.qs, search.room_kind(the_room.pk), _query(filterset), TOPICS_PER_PAGE
    )
    return render(
        request,
        "note/room.html",
        {
            "room": the_room,
            "filter": filterset,
            "filtered": is_filtered(request, filterset),
            "show": request.GET.get("show", ""),
            "query": request.GET.get("q", ""),
            "page_obj": page,
            "more": results.has_more,
            "shown_at_most": search.MAX_RESULTS,
            "querystring": querystring_without_page(request),
            "may_post": access.may_post_in_room(user, the_room),
        },
    )


@access.member_required
def topic_create(request, pk):
    user = request.user
    the_room = get_object_or_404(Room.objects.visible_to(user), pk=pk)
    if not access.may_post_in_room(user, the_room):
        raise Http404
    form = TopicForm(request.POST if request.method == "POST" else None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            topic = services.post_topic(room=the_room, by=user, **form.values(), **form.signature())
        except ValidationError as error:
            _apply_privacy_error(form, error)
        else:
            messages.success(request, _posted_message(topic))
            return redirect(topic)
    return render(request, "note/topic_form.html", {"room": the_room, "form": form})


REPLIES_PER_PAGE = 50


def _page_of_reply(request, replies) -> int | None:
    """With ?reply=<id> (a link to one reply: mails, the review queue, after
    posting) and no ?page=, the page of `replies` that holds it (None: ?page=)."""
    if "page" in request.GET:
        return None
    try:
        pk = int(request.GET.get("reply", ""))
    except ValueError:
        return None
    if not 0 < pk < 2**31:  # an id no row has (and no database integer overflows)
        return None
    target = replies.filter(pk=pk).values_list("created_at", flat=True).first()
    if target is None:
        return None
    before = replies.filter(Q(created_at__lt=target) | Q(created_at=target, pk__lt=pk)).count()
    return before // REPLIES_PER_PAGE + 1


def _posted_message(post) -> str:
    if post.is_pending:
        return _("投稿を受け付けました。事務局が内容を確認してから、ほかの会員に表示されます。")
    return _("投稿しました。")


# --- topics --------------------------------------------------------------------------


def _visible_topic(user, pk):
    return get_object_or_404(
        Topic.objects.visible_to(user).select_related(
            "room__program", "room__event", "author", "author_org"
        ),
        pk=pk,
    )


@access.member_required
def topic_detail(request, pk):
    """The topic, its replies and the reply form (which posts here)."""
    user = request.user
    topic = _visible_topic(user, pk)
    may_reply = access.may_reply(user, topic)
    form = None
    if may_reply:
        form = ReplyForm(request.POST if request.method == "POST" else None, user=user)
        if request.method == "POST" and form.is_valid():
            try:
                reply = services.post_reply(
                    topic=topic,
                    by=user,
                    body=form.cleaned_data["body"],
                    privacy_confirmed=form.privacy_confirmed,
                    **form.signature(),
                )
            except ValidationError as error:
                _apply_privacy_error(form, error)
            else:
                messages.success(request, _posted_message(reply))
                return redirect(reply)
    elif request.method == "POST":
        raise Http404
    now = timezone.now()
    visible = Reply.objects.visible_to(user).filter(topic=topic)
    page = paginate(
        request,
        visible.select_related("author", "author_org"),
        REPLIES_PER_PAGE,
        number=_page_of_reply(request, visible),
    )
    replies = list(page)
    for reply in replies:
        reply.actions = post_actions(user, reply, now)
        # 「質問者」 only where it links nothing new: both signed, or both anonymous.
        reply.by_asker = (
            reply.author_id is not None
            and reply.author_id == topic.author_id
            and reply.is_anonymous == topic.is_anonymous
        )
    return render(
        request,
        "note/topic_detail.html",
        {
            "topic": topic,
            "room": topic.room,
            "actions": post_actions(user, topic, now),
            "replies": replies,
            "page_obj": page,
            "querystring": querystring_without_page(request, also=("reply",)),
            "form": form,
            "is_following": Follow.objects.of(user).filter(topic=topic).exists(),
            "may_follow": access.may_follow(user, topic),
            "may_mark_resolution": access.may_mark_resolution(user, topic),
            "may_curate": access.may_curate_topic(user, topic),
            "entries": topic.entries.visible_to(user).only("pk", "title"),
        },
    )


@access.member_required
def topic_edit(request, pk):
    user = request.user
    topic = _visible_topic(user, pk)
    if not access.is_author(user, topic):
        raise Http404
    if not access.may_edit_post(user, topic):
        messages.warning(request, _("編集できる時間が過ぎたため、この投稿は編集できません。"))
        return redirect(topic)
    form = TopicForm(
        request.POST if request.method == "POST" else None, instance=topic, user=user, editing=True
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.edit_topic(topic=topic, by=user, **form.values())
        except ValidationError as error:
            _apply_privacy_error(form, error)
        else:
            messages.success(request, _("編集を保存しました。"))
            return redirect(topic)
    return render(
        request, "note/topic_form.html", {"room": topic.room, "form": form, "topic": topic}
    )


@access.member_required
def reply_edit(request, pk):
    user = request.user
    reply = get_object_or_404(Reply.objects.visible_to(user).select_related("topic__room"), pk=pk)
    if not access.is_author(user, reply):
        raise Http404
    if not access.may_edit_post(user, reply):
        messages.warning(request, _("編集できる時間が過ぎたため、この投稿は編集できません。"))
        return redirect(reply)
    form = ReplyForm(
        request.POST if request.method == "POST" else None, instance=reply, user=user, editing=True
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.edit_reply(
                reply=reply,
                by=user,
                body=form.cleaned_data["body"],
                privacy_confirmed=form.privacy_confirmed,
            )
        except ValidationError as error:
            _apply_privacy_error(form, error)
        else:
            messages.success(request, _("編集を保存しました。"))
            return redirect(reply)
    return render(request, "note/reply_form.html", {"reply": reply, "form": form})


@access.member_required
@require_safe
def topic_history(request, pk):
    topic = _visible_topic(request.user, pk)
    if not access.may_see_history(request.user, topic):
        raise Http404
    return render(
        request,
        "note/history.html",
        {"post": topic, "topic": topic, "revisions": topic.revisions.all()},
    )


@access.member_required
@require_safe
def reply_history(request, pk):
    reply = get_object_or_404(Reply.objects.visible_to(request.user).select_related("topic"), pk=pk)
    if not access.may_see_history(request.user, reply):
        raise Http404
    return render(
        request,
        "note/history.html",
        {"post": reply, "topic": reply.topic, "revisions": reply.revisions.all()},
    )


@access.member_required
def topic_resolve(request, pk):
    user = request.user
    topic = _visible_topic(user, pk)
    if not access.may_mark_resolution(user, topic):
        raise Http404
    form = ResolutionForm(request.POST if request.method == "POST" else None, topic=topic)
    if request.method == "POST" and form.is_valid():
        try:
            services.mark_resolution(topic=topic, replies=form.cleaned_data["replies"], by=user)
        except ValidationError as error:
            form.add_error(None, error_text(error))
        else:
            messages.success(
                request,
                _("解決済みにしました。") if topic.is_resolved else _("未解決に戻しました。"),
            )
            return redirect(topic)
    return render(request, "note/resolve.html", {"topic": topic, "form": form})


@access.member_required
@require_POST
def topic_follow(request, pk):
    user = request.user
    topic = _visible_topic(user, pk)
    if request.POST.get("action") == "unfollow":
        services.unfollow(topic=topic, by=user)
        messages.success(request, _("フォローをやめました。"))
    else:
        if not access.may_follow(user, topic):
            raise Http404
        services.follow(topic=topic, by=user)
        messages.success(request, _("フォローしました。新しい返信があるとメールでお知らせします。"))
    return redirect(topic)


# --- one's own -----------------------------------------------------------------------


@access.member_required
@require_safe
def mine(request):
    """One's own topics, or the topics one follows: never anyone else's list."""
    user = request.user
    following = request.GET.get("tab") == "following"
    topics = Topic.objects.visible_to(user).for_list()
    if following:
        topics = topics.filter(follows__user=user)
    else:
        topics = topics.filter(author=user)
    page = paginate(request, topics, TOPICS_PER_PAGE)
    return render(
        request,
        "note/mine.html",
        {
            "following": following,
            "page_obj": page,
            "querystring": querystring_without_page(request),
        },
    )


@access.member_required
def preferences(request):
    preference = NotePreference.objects.filter(user=request.user).first() or NotePreference(
        user=request.user
    )
    form = PreferenceForm(request.POST if request.method == "POST" else None, instance=preference)
    if request.method == "POST" and form.is_valid():
        services.set_preferences(by=request.user, wants_digest=form.cleaned_data["wants_digest"])
        messages.success(request, _("設定を保存しました。"))
        return redirect("note:settings")
    return render(request, "note/settings.html", {"form": form})


# --- the note ------------------------------------------------------------------------


SEARCH_PER_PAGE = 20


@access.member_required
@require_safe
def search_view(request):
    """The board and the note together, one ranking: note entries first,
    then resolved topics, then open ones (note.search.search_all)."""
    user = request.user
    query = search.normalise(request.GET.get("q"))
    page, results = search.search_all(
        request,
        topics=Topic.objects.visible_to(user).for_list(),
        entries=NoteEntry.objects.visible_to(user).prefetch_related("tags"),
        query=query,
        per_page=SEARCH_PER_PAGE,
    )
    return render(
        request,
        "note/search.html",
        {
            "query": query,
            "searched": bool(results.terms),
            "more": results.has_more,
            "shown_at_most": search.MAX_RESULTS,
            "page_obj": page,
            "querystring": querystring_without_page(request),
        },
    )


@access.member_required
@require_safe
def entries(request):
    user = request.user
    queryset = NoteEntry.objects.visible_to(user).for_list()
    filterset = NoteEntryFilterSet(request.GET, queryset=queryset)
    page, results = search.ranked_page(
        request, filterset.qs, search.ENTRY, _query(filterset), ENTRIES_PER_PAGE
    )
    curator, today = access.is_curator(user), timezone.localdate()
    for entry in page:
        # Curators see which entries are due for re-review (NOTE_REVIEW_MONTHS).
        entry.show_review_flag = curator and entry.is_published and entry.needs_review(today)
    years = (
        NoteEntry.objects.visible_to(user)
        .published()
        .order_by("-fiscal_year")
        .values_list("fiscal_year", flat=True)
        .distinct()
    )
    return render(
        request,
        "note/entries.html",
        {
            "filter": filterset,
            "filtered": is_filtered(request, filterset),
            "page_obj": page,
            "more": results.has_more,
            "shown_at_most": search.MAX_RESULTS,
            "querystring": querystring_without_page(request),
            "years": years,
        },
    )


def _visible_entry(user, pk):
    return get_object_or_404(
        NoteEntry.objects.visible_to(user).for_list().select_related("source_topic__room"),
        pk=pk,
    )


@access.member_required
@require_safe
def entry_detail(request, pk):
    user = request.user
    entry = _visible_entry(user, pk)
    return render(
        request,
        "note/entry_detail.html",
        {
            "entry": entry,
            "show_source": access.may_see_source_topic(user, entry.source_topic),
            "may_edit": access.may_edit_entry(user, entry),
            "may_mark_reviewed": access.may_mark_reviewed(user, entry),
            "needs_review": entry.needs_review(),
            "can_moderate": access.can_moderate(user),
        },
    )


@access.curator_required
def entry_create(request, topic_pk):
    user = request.user
    topic = _visible_topic(user, topic_pk)
    if not access.may_curate_topic(user, topic):
        raise Http404
    initial = {
        "title": topic.title,
        "programs": list(topic.programs.all()),
        "regions": list(topic.regions.all()),
        "tags": " ".join(tag.name for tag in topic.tags.all()),
    }
    form = NoteEntryForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            entry = services.curate_entry(topic=topic, by=user, **form.values())
        except ValidationError as error:
            _apply_privacy_error(form, error)
        else:
            messages.success(
                request,
                _("ノートに加えました。")
                if entry.is_published
                else _("受け付けました。事務局が確認してから公開されます。"),
            )
            return redirect(entry)
    replies = topic.replies.published().filter(is_resolution=True)
    return render(
        request,
        "note/entry_form.html",
        {"form": form, "topic": topic, "resolutions": replies},
    )


@access.curator_required
def entry_edit(request, pk):
    user = request.user
    entry = _visible_entry(user, pk)
    if not access.may_edit_entry(user, entry) or entry.is_hidden:
        raise Http404
    form = NoteEntryForm(request.POST if request.method == "POST" else None, instance=entry)
    if request.method == "POST" and form.is_valid():
        try:
            services.edit_entry(entry=entry, by=user, **form.values())
        except ValidationError as error:
            _apply_privacy_error(form, error)
        else:
            messages.success(request, _("記事を保存しました。"))
            return redirect(entry)
    return render(request, "note/entry_form.html", {"form": form, "entry": entry})


@access.curator_required
@require_POST
def entry_reviewed(request, pk):
    user = request.user
    entry = _visible_entry(user, pk)
    if not access.may_mark_reviewed(user, entry):
        raise Http404
    services.mark_reviewed(entry=entry, by=user)
    messages.success(request, _("内容を確認済みにしました。"))
    return redirect(entry)


@access.member_required
@require_safe
def casebook(request, fiscal_year):
    """The 事例集 of a 年度: every published entry, printable (static/css/site.css)."""
    if not 2000 <= fiscal_year <= current_fiscal_year() + 1:
        raise Http404
    entries_of_year = list(
        NoteEntry.objects.visible_to(request.user)
        .published()
        .filter(fiscal_year=fiscal_year)
        .prefetch_related("programs", "regions", "tags", Prefetch("function_rows"))
        .order_by("created_at", "pk")
    )
    return render(
        request,
        "note/casebook.html",
        {"fiscal_year": fiscal_year, "entries": entries_of_year},
    )
