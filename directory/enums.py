"""The choices of the directory app, in a leaf module (nothing here imports
from the app). Code compares against these members, never the stored strings."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ServiceStatus(models.TextChoices):
    # The values are HSDS 3.0's service.status.
    ACTIVE = "active", _("受付中の事業")
    INACTIVE = "inactive", _("一時休止")
    DEFUNCT = "defunct", _("終了")


class Weekday(models.TextChoices):
    MON = "mon", _("月")
    TUE = "tue", _("火")
    WED = "wed", _("水")
    THU = "thu", _("木")
    FRI = "fri", _("金")
    SAT = "sat", _("土")
    SUN = "sun", _("日")


class ImportLayout(models.TextChoices):
    """The files import_directory reads (docs/directory.md)."""

    PUBLIC_FACILITY = "public_facility", _("公共施設一覧（正式版）")
    PUBLIC_FACILITY_OLD = "public_facility_old", _("公共施設一覧（旧24列）")
    CARE_SERVICE = "care_service", _("介護サービス事業所一覧")
    PRESCHOOL = "preschool", _("子育て施設一覧")
    NATIVE = "native", _("ネイティブCSV")


class Channel(models.TextChoices):
    """Where a navi search came from (the committee's 「ナビで探されたこと」)."""

    WEB = "web", _("ウェブ")
    LINE = "line", _("LINE")
