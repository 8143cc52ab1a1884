"""Django admin for the note app (superusers; the secretariat group has no
note permissions, network/permissions.py).

Posts, entries, revisions, follows and the author-lookup log are read-only
here: posting, editing, hiding and approving go through the app's pages and
services, which run the privacy guard and record who moderated. The admin
never shows who wrote a post (no author column, field or search), so an
anonymous post's author is found only through the logged 「投稿者を確認」.
"""

from django.contrib import admin

from .models import (
    AuthorLookup,
    Curator,
    DigestRun,
    EntryFunction,
    Follow,
    NoteEntry,
    NotePreference,
    PostRevision,
    Reply,
    Room,
    Tag,
    Topic,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "program", "role", "event", "order", "is_archived")
    list_filter = ("kind", "is_archived")
    list_select_related = ("program", "event")
    search_fields = ("name",)
    fields = ("kind", "name", "description", "program", "role", "event", "order", "is_archived")
    readonly_fields = ("kind", "program", "role", "event")

    def has_add_permission(self, request):
        # Rooms come from the migration (network, 自治体, programs, roles) and
        # from the secretariat's page for meetings (services.open_meeting_room).
        return False


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)


_POST_FIELDS = (
    "is_anonymous",
    "author_org_kind",
    "body",
    "state",
    "privacy_findings",
    "hidden_reason",
    "moderated_at",
    "created_at",
    "edited_at",
)


@admin.register(Topic)
class TopicAdmin(ReadOnlyAdmin):
    list_display = ("title", "room", "state", "is_anonymous", "created_at", "resolved_at")
    list_filter = ("state", "is_anonymous", "room__kind")
    list_select_related = ("room",)
    search_fields = ("title",)
    fields = ("room", "title", *_POST_FIELDS, "resolved_at")


@admin.register(Reply)
class ReplyAdmin(ReadOnlyAdmin):
    list_display = ("topic", "state", "is_anonymous", "is_resolution", "created_at")
    list_filter = ("state", "is_anonymous", "is_resolution")
    list_select_related = ("topic",)
    search_fields = ("topic__title",)
    fields = ("topic", *_POST_FIELDS, "is_resolution")


@admin.register(PostRevision)
class PostRevisionAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "replaced_at")
    list_select_related = ("topic", "reply__topic")
    fields = ("topic", "reply", "title", "body", "replaced_at")


@admin.register(AuthorLookup)
class AuthorLookupAdmin(ReadOnlyAdmin):
    """The log itself: nobody edits or deletes it."""

    list_display = ("looked_at", "looked_by", "topic", "reply")
    list_select_related = ("looked_by", "topic", "reply__topic")
    fields = ("looked_at", "looked_by", "topic", "reply", "reason")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Follow)
class FollowAdmin(ReadOnlyAdmin):
    list_display = ("topic", "created_at")
    list_select_related = ("topic",)
    fields = ("topic", "created_at")


@admin.register(NotePreference)
class NotePreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "wants_digest")
    list_select_related = ("user",)
    list_filter = ("wants_digest",)
    fields = ("user", "wants_digest")
    readonly_fields = ("user",)

    def has_add_permission(self, request):
        return False  # a member sets it on the board's settings page


@admin.register(Curator)
class CuratorAdmin(ReadOnlyAdmin):
    """Named and removed on the secretariat's page (who added whom is kept)."""

    list_display = ("user", "added_by", "created_at")
    list_select_related = ("user", "added_by")
    fields = ("user", "added_by", "created_at")


@admin.register(DigestRun)
class DigestRunAdmin(ReadOnlyAdmin):
    list_display = ("week", "finished_at", "queued")
    fields = ("week", "finished_at", "queued")


class EntryFunctionInline(admin.TabularInline):
    model = EntryFunction
    extra = 0
    fields = ("function",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(NoteEntry)
class NoteEntryAdmin(ReadOnlyAdmin):
    list_display = ("title", "fiscal_year", "state", "reviewed_on", "created_at")
    list_filter = ("state", "fiscal_year")
    search_fields = ("title",)
    fields = (
        "title",
        "summary",
        "programs",
        "regions",
        "tags",
        "source_topic",
        "curator",
        "fiscal_year",
        "reviewed_on",
        "anonymisation_checked",
        "state",
        "privacy_findings",
        "hidden_reason",
        "created_at",
        "updated_at",
    )
    inlines = [EntryFunctionInline]
