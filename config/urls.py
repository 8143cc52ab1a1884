from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from portal import views as portal_views

# The admin has no login form of its own: it sends people to the site's,
# so the admin is behind the same rate limits and second factor.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("", portal_views.home, name="home"),
    path("healthz", portal_views.healthz, name="healthz"),
    # Login addresses are managed by the secretariat and org admins (they are
    # how people are invited and matched on import), not by the users.
    path("accounts/email/", portal_views.not_found, name="account_email"),
    # A person's data export (開示, portal.disclosure): POST only.
    path("accounts/my-data/", portal_views.my_data, name="my_data"),
    path("accounts/", include("allauth.urls")),
    path("network/manage/people/<int:pk>/data/", portal_views.person_data, name="person_data"),
    path("network/manage/people/<int:pk>/erase/", portal_views.person_erase, name="person_erase"),
    # 操作の記録 (portal.audit): the audit log, read-only.
    path("network/manage/audit/", portal_views.audit_log, name="audit_log"),
    path("network/", include("network.urls")),
    path("events/", include("events.urls")),
    path("surveys/", include("surveys.urls")),
    path("note/", include("note.urls")),
    path("navi/", include("directory.urls")),
    path("support/", include("support.urls")),
    path("dashboard/", include("committee.urls")),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
