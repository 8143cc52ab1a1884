"""The public directory (北海道支援情報ナビ), shaped after HSDS 3.0.

A Provider (HSDS organization) runs Services; a Service is offered at
Locations; each ServiceAtLocation is one "window" of the navi, with its
phones and opening hours. Categories are the 困りごと taxonomy; which
category an imported facility gets comes from CategoryRule rows that the
secretariat edits in the admin (docs/directory.md)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from network.models import Municipality, Organisation, Program, Region

from .enums import Channel, ImportLayout, ServiceStatus, Weekday
from .querysets import ServiceAtLocationQuerySet, ServiceQuerySet

SOURCE_KEY_LENGTH = 120


class Category(models.Model):
    """A 困りごと (HSDS taxonomy term); the top ten are loaded by a migration."""

    key = models.SlugField(_("キー"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("親の分類"),
    )
    order = models.PositiveSmallIntegerField(_("表示順"), default=0)

    class Meta:
        ordering = ["order", "key"]
        verbose_name = _("困りごとの分類")
        verbose_name_plural = _("困りごとの分類")

    def __str__(self):
        return self.name


class Provider(models.Model):
    """Who runs services (HSDS organization); may be a network member."""

    name = models.CharField(_("名称"), max_length=200)
    kana = models.CharField(_("かな"), max_length=200, blank=True)
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="directory_providers",
        verbose_name=_("ネットワークの組織"),
    )
    website = models.URLField(_("ウェブサイト"), max_length=500, blank=True)
    email = models.EmailField(_("メールアドレス"), blank=True)
    description = models.TextField(_("紹介"), blank=True)
    source_key = models.CharField(
        _("取り込み元キー"), max_length=SOURCE_KEY_LENGTH, unique=True, null=True, blank=True
    )
    is_sample = models.BooleanField(_("サンプル"), default=False)

    class Meta:
        ordering = ["kana", "name"]
        verbose_name = _("運営者")
        verbose_name_plural = _("運営者")

    def __str__(self):
        return self.name


class Service(models.Model):
    Status = ServiceStatus

    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, related_name="services", verbose_name=_("運営者")
    )
    name = models.CharField(_("名称"), max_length=200)
    kana = models.CharField(_("かな"), max_length=200, blank=True)
    description = models.TextField(_("説明"), blank=True)
    eligibility = models.TextField(_("対象者"), blank=True)
    fees = models.TextField(_("費用"), blank=True)
    application_process = models.TextField(_("利用の流れ"), blank=True)
    required_documents = models.TextField(_("必要な書類"), blank=True)
    languages = models.CharField(_("対応言語"), max_length=200, blank=True)
    status = models.CharField(
        _("状態"),
        max_length=10,
        choices=Status.choices,
        default=Status.ACTIVE,
        db_index=True,
    )
    programs = models.ManyToManyField(
        Program, blank=True, related_name="directory_services", verbose_name=_("事業")
    )
    categories = models.ManyToManyField(
        Category, blank=True, related_name="services", verbose_name=_("困りごと")
    )
    service_area = models.ManyToManyField(
        Municipality,
        blank=True,
        related_name="directory_services",
        verbose_name=_("対象地域"),
    )
    url = models.URLField(_("URL"), max_length=500, blank=True)
    email = models.EmailField(_("メールアドレス"), blank=True)
    verified_on = models.DateField(_("確認日"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("確認者"),
    )
    # The freshness sweep (directory/freshness.py) sets this when it has told
    # the secretariat and the provider's org admins that the entry is stale;
    # confirming or correcting the entry clears it.
    stale_notified_on = models.DateField(_("確認依頼日"), null=True, blank=True)
    source_key = models.CharField(
        _("取り込み元キー"), max_length=SOURCE_KEY_LENGTH, unique=True, null=True, blank=True
    )
    is_sample = models.BooleanField(_("サンプル"), default=False)
    created_at = models.DateTimeField(_("登録日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    objects = ServiceQuerySet.as_manager()

    class Meta:
        ordering = ["kana", "name"]
        # The windows' data version reads MAX(updated_at) (stats.listed_windows).
        indexes = [models.Index(fields=["updated_at"], name="directory_service_updated")]
        verbose_name = _("支援サービス")
        verbose_name_plural = _("支援サービス")

    def __str__(self):
        return self.name

    @property
    def is_public(self) -> bool:
        return self.status == ServiceStatus.ACTIVE


class Location(models.Model):
    name = models.CharField(_("名称"), max_length=200)
    kana = models.CharField(_("かな"), max_length=200, blank=True)
    address = models.CharField(_("住所"), max_length=300, blank=True)
    municipality = models.ForeignKey(
        Municipality,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="directory_locations",
        verbose_name=_("市町村"),
    )
    postal_code = models.CharField(_("郵便番号"), max_length=10, blank=True)
    latitude = models.FloatField(
        _("緯度"),
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.FloatField(
        _("経度"),
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    accessibility = models.TextField(_("バリアフリー情報"), blank=True)
    hours_note = models.TextField(_("利用可能日時の特記事項"), blank=True)
    source_key = models.CharField(
        _("取り込み元キー"), max_length=SOURCE_KEY_LENGTH, unique=True, null=True, blank=True
    )

    class Meta:
        ordering = ["kana", "name"]
        # 「現在地から探す」 reads a box of latitude and longitude around the person.
        indexes = [models.Index(fields=["latitude", "longitude"], name="directory_loc_latlon")]
        verbose_name = _("所在地")
        verbose_name_plural = _("所在地")

    def __str__(self):
        return self.name


class ServiceAtLocation(models.Model):
    """One window of the navi: a service at a location."""

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="windows", verbose_name=_("支援サービス")
    )
    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, related_name="windows", verbose_name=_("所在地")
    )

    objects = ServiceAtLocationQuerySet.as_manager()

    class Meta:
        ordering = ["service__kana", "service__name", "pk"]
        verbose_name = _("窓口")
        verbose_name_plural = _("窓口")
        constraints = [
            models.UniqueConstraint(fields=["service", "location"], name="directory_sal_unique"),
        ]

    def __str__(self):
        return f"{self.service}（{self.location}）"


class Phone(models.Model):
    service_at_location = models.ForeignKey(
        ServiceAtLocation, on_delete=models.CASCADE, related_name="phones", verbose_name=_("窓口")
    )
    number = models.CharField(_("電話番号"), max_length=40)
    description = models.CharField(_("説明"), max_length=100, blank=True)
    order = models.PositiveSmallIntegerField(_("表示順"), default=0)

    class Meta:
        ordering = ["order", "pk"]
        verbose_name = _("電話番号")
        verbose_name_plural = _("電話番号")

    def __str__(self):
        return self.number


class Schedule(models.Model):
    """Opening hours of a window on one weekday."""

    Weekday = Weekday

    service_at_location = models.ForeignKey(
        ServiceAtLocation,
        on_delete=models.CASCADE,
        related_name="schedules",
        verbose_name=_("窓口"),
    )
    weekday = models.CharField(_("曜日"), max_length=3, choices=Weekday.choices)
    opens_at = models.TimeField(_("開始時間"), null=True, blank=True)
    closes_at = models.TimeField(_("終了時間"), null=True, blank=True)
    note = models.CharField(_("備考"), max_length=200, blank=True)

    class Meta:
        ordering = ["service_at_location", "pk"]
        verbose_name = _("受付時間")
        verbose_name_plural = _("受付時間")

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens_at or ''}–{self.closes_at or ''}"


class CategoryRule(models.Model):
    """Which 困りごと an imported facility gets: a row matches when its layout
    is the rule's (blank: any) and the rule's column contains the pattern
    (blank pattern: every row of the layout). Every matching rule applies."""

    Layout = ImportLayout

    layout = models.CharField(
        _("ファイルの種類"), max_length=30, choices=Layout.choices, blank=True
    )
    column = models.CharField(
        _("列名"), max_length=60, blank=True, help_text=_("空欄なら名称の列を見ます。")
    )
    pattern = models.CharField(
        _("含む文字"), max_length=100, blank=True, help_text=_("空欄ならその種類の全行です。")
    )
    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, related_name="rules", verbose_name=_("困りごと")
    )
    order = models.PositiveSmallIntegerField(_("表示順"), default=0)

    class Meta:
        ordering = ["order", "pk"]
        verbose_name = _("分類ルール")
        verbose_name_plural = _("分類ルール")

    def __str__(self):
        layout = self.get_layout_display() or _("すべて")
        return f"{layout}・{self.column or '名称'}「{self.pattern}」→ {self.category}"


class SearchTally(models.Model):
    """How often people looked for a 困りごと in an area, per month and channel:
    aggregates only, never who searched (no LINE user id, no IP address).
    `found_nothing` counts the searches that listed no window."""

    Channel = Channel

    # month|channel|category|region|municipality ids (blank for none): one
    # unique column, since NULLs never collide in a unique constraint on SQLite.
    key = models.CharField(_("集計キー"), max_length=80, unique=True)
    month = models.DateField(_("月"))
    channel = models.CharField(_("経路"), max_length=10, choices=Channel.choices)
    category = models.ForeignKey(
        Category,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("困りごと"),
    )
    region = models.ForeignKey(
        Region,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("振興局"),
    )
    municipality = models.ForeignKey(
        Municipality,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("市町村"),
    )
    searches = models.PositiveIntegerField(_("検索数"), default=0)
    found_nothing = models.PositiveIntegerField(_("見つからなかった数"), default=0)

    class Meta:
        ordering = ["-month", "channel"]
        verbose_name = _("ナビの検索集計")
        verbose_name_plural = _("ナビの検索集計")
        indexes = [models.Index(fields=["month"], name="directory_tally_month")]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.get_channel_display()} {self.searches}"


class LineDelivery(models.Model):
    """A LINE webhook event already handled (its webhookEventId), so that a
    redelivery is ignored. Nothing about the sender is kept; rows older than
    a week are swept."""

    event_id = models.CharField(_("イベントID"), max_length=64, unique=True)
    received_at = models.DateTimeField(_("受信日時"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("LINEの受信記録")
        verbose_name_plural = _("LINEの受信記録")

    def __str__(self):
        return self.event_id


class WindowPlace(models.Model):
    """Where a window is listed, for the navi's trouble × area pages: one row
    per window, 困りごと (its service's, each with its parent) and area — a
    municipality it is in or serves, and the 振興局 of those. Kept by
    directory.places from the windows (never edited by hand), so that a page
    of 札幌市's 生活全般 windows is one range of an index, not a search
    through every window (make bench: 150k windows)."""

    window = models.ForeignKey(
        ServiceAtLocation, on_delete=models.CASCADE, related_name="+", verbose_name=_("窓口")
    )
    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, related_name="+", verbose_name=_("困りごと")
    )
    municipality = models.ForeignKey(
        Municipality,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("市町村"),
    )
    region = models.ForeignKey(
        Region,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("振興局"),
    )
    # 0: the window is located in the area, 1: its service only serves it.
    distance = models.PositiveSmallIntegerField(_("所在"), default=0)
    sort_name = models.CharField(_("並び順"), max_length=410)
    is_public = models.BooleanField(_("公開"), default=True)

    class Meta:
        verbose_name = _("窓口の掲載先")
        verbose_name_plural = _("窓口の掲載先")
        indexes = [
            models.Index(
                fields=["category", "municipality", "is_public", "distance", "sort_name", "window"],
                name="directory_place_town",
            ),
            models.Index(
                fields=["category", "region", "is_public", "distance", "sort_name", "window"],
                name="directory_place_region",
            ),
            models.Index(fields=["window"], name="directory_place_window"),
        ]

    def __str__(self):
        return f"{self.window_id}:{self.category_id}:{self.municipality_id or self.region_id}"
