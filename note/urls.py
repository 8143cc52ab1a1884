from django.urls import path

from .views import manage, member

app_name = "note"

urlpatterns = [
    # the board (members; each room as note.access says)
    path("", member.home, name="home"),
    path("rooms/<int:pk>/", member.room, name="room"),
    path("rooms/<int:pk>/new/", member.topic_create, name="topic_create"),
    path("topics/<int:pk>/", member.topic_detail, name="topic"),
    path("topics/<int:pk>/edit/", member.topic_edit, name="topic_edit"),
    path("topics/<int:pk>/history/", member.topic_history, name="topic_history"),
    path("topics/<int:pk>/resolve/", member.topic_resolve, name="topic_resolve"),
    path("topics/<int:pk>/follow/", member.topic_follow, name="topic_follow"),
    path("replies/<int:pk>/edit/", member.reply_edit, name="reply_edit"),
    path("replies/<int:pk>/history/", member.reply_history, name="reply_history"),
    path("mine/", member.mine, name="mine"),
    path("search/", member.search_view, name="search"),
    path("settings/", member.preferences, name="settings"),
    # the note
    path("entries/", member.entries, name="entries"),
    path("entries/<int:pk>/", member.entry_detail, name="entry"),
    path("entries/<int:pk>/edit/", member.entry_edit, name="entry_edit"),
    path("entries/<int:pk>/reviewed/", member.entry_reviewed, name="entry_reviewed"),
    path("topics/<int:topic_pk>/curate/", member.entry_create, name="entry_create"),
    path("casebook/<int:fiscal_year>/", member.casebook, name="casebook"),
    # the secretariat
    path("manage/", manage.review_queue, name="manage_queue"),
    path("manage/rooms/", manage.rooms, name="manage_rooms"),
    path("manage/export.csv", manage.export, name="export"),
    path("manage/curators/", manage.curators, name="manage_curators"),
    path("manage/curators/<int:pk>/remove/", manage.curator_remove, name="curator_remove"),
    path("manage/<str:kind>/<int:pk>/approve/", manage.approve, name="approve"),
    path("manage/<str:kind>/<int:pk>/hide/", manage.hide, name="hide"),
    path("manage/<str:kind>/<int:pk>/restore/", manage.restore, name="restore"),
    path("manage/<str:kind>/<int:pk>/author/", manage.author, name="author"),
]
