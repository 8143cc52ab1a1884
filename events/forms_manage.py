"""The secretariat's forms for events: the event itself, its breakout sessions,
cancelling, manual registration and the bulk message.

Registration rules (capacity, waiting list, notifications) live in
events.services; these forms only check what a person typed.
"""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from core import forms as site_forms
from core.dates import fiscal_year_of
from network.models import Municipality, Organisation, User

from .models import Event, Registration, Session
from .services import ATTENDANCE_ABSENT, ATTENDANCE_PRESENT, NO_SESSION, BulkAudience

PDF_MAGIC = b"%PDF-"
DATETIME_LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
CAPACITY_MIN_MESSAGE = _("定員は0以上の数を入力してください（空欄は定員なし）。")
FISCAL_YEAR_MIN = 2000
FISCAL_YEAR_MAX = 2100


def _datetime_local():
    # The browser's own date-time picker; the value is local (Asia/Tokyo) time.
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL_FORMAT)


def slides_max_bytes() -> int:
    return getattr(settings, "EVENT_SLIDES_MAX_BYTES", 20 * 1024 * 1024)


# The event form's sections (legend, fields), in the order shown.
EVENT_FIELDSETS = (
    (_("基本情報"), ("kind", "number", "fiscal_year", "title", "theme", "description")),
    (
        _("日時と申込期間"),
        ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at"),
    ),
    (
        _("開催形式と定員"),
        (
            "format",
            "venue_name",
            "venue_address",
            "municipality",
            "venue_capacity",
            "online_capacity",
            "online_url",
        ),
    ),
    (_("懇親会"), ("has_social", "social_capacity", "social_details")),
    (_("対象と開催担当"), ("audience", "audience_program", "host_organisation")),
    (_("資料・報告"), ("report_url", "video_url", "slides")),
)


class EventForm(site_forms.ModelForm):
    """Every field of an event the secretariat edits by hand. The status moves
    only through publish / cancel / finish (events.services), so it is not here."""

    # Blank means "from the start date"; see clean().
    fiscal_year = forms.IntegerField(
        label=_("年度"),
        required=False,
        min_value=FISCAL_YEAR_MIN,
        max_value=FISCAL_YEAR_MAX,
        help_text=_(
            "西暦で入力（例：2021 = 令和3年度）。空欄なら開始日時から自動で決まります（4月〜翌3月）。"
        ),
        error_messages={
            "min_value": _("年度は%(limit_value)s以降の西暦で入力してください。"),
            "max_value": _("年度は%(limit_value)s以前の西暦で入力してください。"),
            "invalid": _("年度は西暦の数字で入力してください（例：2021）。"),
        },
    )

    FIELDSETS = EVENT_FIELDSETS

    class Meta:
        model = Event
        # The form edits exactly what its fieldsets show, in that order.
        fields = [name for _legend, names in EVENT_FIELDSETS for name in names]
        widgets = {
            "starts_at": _datetime_local(),
            "ends_at": _datetime_local(),
            "registration_opens_at": _datetime_local(),
            "registration_closes_at": _datetime_local(),
            "description": forms.Textarea(attrs={"rows": 6}),
            "slides": forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
        }
        help_texts = {
            "kind": _("情報交換会・シンポジウム・勉強会・報告会・部会から選びます。"),
            "number": _("「第7回」なら 7。回数のない会は空欄のままにします。"),
            "title": _("一覧やメールの件名に使われます。例：第3回 情報交換会（札幌）"),
            "theme": _("テーマ別ディスカッションの主題など。一覧の絞り込みにも使われます。"),
            "description": _("プログラム、講師、持ち物など、参加者に伝えたいこと。"),
            "starts_at": _("日本時間で入力します。"),
            "ends_at": _("開始日時より後にしてください。"),
            "registration_opens_at": _("空欄なら公開した時点から申し込めます。"),
            "registration_closes_at": _(
                "空欄なら終了日時まで申し込めます。終了日時より前にしてください。"
            ),
            "format": _("会場・オンライン・両方（ハイブリッド）から選びます。"),
            "venue_name": _("例：札幌市社会福祉総合センター 4階 大研修室"),
            "municipality": _("リレー開催の記録と、地域での絞り込みに使います。"),
            "venue_capacity": _(
                "空欄なら定員なし。満員になると以降の申込はキャンセル待ちになります。"
            ),
            "online_capacity": _("空欄なら定員なし。"),
            "online_url": _(
                "オンラインで参加が確定した人にだけ表示し、前日に案内メールで送ります。"
                "オンライン・ハイブリッドの会は公開前に入力してください。"
            ),
            "has_social": _("懇親会の申込を受け付けるときにチェックします。"),
            "social_capacity": _(
                "空欄なら定員なし。本体とは別に、満員ならキャンセル待ちになります。"
            ),
            "social_details": _("例：18:00〜 会場近くの店舗にて 会費4,000円"),
            "audience": _(
                "イベントを見て申し込める人。「一般公開」ならアカウントのない人もメール確認で申し込めます。"
            ),
            "audience_program": _("対象が「特定の事業の実施団体」のときに選びます。"),
            "host_organisation": _(
                "開催を担当する組織。情報交換会で自治体を選ぶと、リレーの開催担当として表示します。"
            ),
            "report_url": _("報告書を公開しているページのURL。"),
            "video_url": _("録画を公開しているページのURL。"),
            "slides": _("PDFのみ、%(size)s まで。終了後のお礼メールで参加者に案内します。"),
        }
        # Only relay meetings say 「リレー」 (Event.is_relay_meeting).
        labels = {"host_organisation": _("開催担当")}
        error_messages = {
            "venue_capacity": {"min_value": CAPACITY_MIN_MESSAGE},
            "online_capacity": {"min_value": CAPACITY_MIN_MESSAGE},
            "social_capacity": {"min_value": CAPACITY_MIN_MESSAGE},
            "number": {"min_value": _("回は1以上の数を入力してください。")},
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Not-blocking remarks (e.g. a missing online URL on a draft), shown
        # as warnings after saving and on the publish page.
        self.warnings: list[str] = []
        self.fields["slides"].help_text = self.fields["slides"].help_text % {
            "size": filesizeformat(slides_max_bytes())
        }
        self.fields["municipality"].queryset = Municipality.objects.order_by("code")
        for name in ("municipality", "audience_program", "host_organisation"):
            self.fields[name].empty_label = _("（なし）")
        self.fields["host_organisation"].queryset = Organisation.objects.filter(
            is_active=True
        ).order_by("kana", "name")
        for name in ("venue_capacity", "online_capacity", "social_capacity", "number"):
            self.fields[name].widget.attrs.setdefault("inputmode", "numeric")

    def fieldsets(self):
        return [(legend, [self[name] for name in names]) for legend, names in self.FIELDSETS]

    def clean_slides(self):
        slides = self.cleaned_data.get("slides")
        # Unchanged (a stored file), cleared (False) or empty: nothing to check.
        if not isinstance(slides, UploadedFile):
            return slides
        if not (slides.name or "").lower().endswith(".pdf"):
            raise ValidationError(
                _("資料はPDFファイル（拡張子 .pdf）をアップロードしてください。"), code="extension"
            )
        limit = slides_max_bytes()
        if slides.size > limit:
            raise ValidationError(
                _("資料のファイルが大きすぎます（%(size)s）。%(limit)s 以下のPDFにしてください。"),
                code="too_big",
                params={"size": filesizeformat(slides.size), "limit": filesizeformat(limit)},
            )
        # The name is chosen by whoever uploads; the first bytes tell what the
        # file really is (every PDF starts with "%PDF-").
        slides.seek(0)
        head = slides.read(len(PDF_MAGIC))
        slides.seek(0)
        if head != PDF_MAGIC:
            raise ValidationError(
                _(
                    "PDFファイルとして読み込めません。PDFに書き出したファイルをアップロードしてください。"
                ),
                code="not_pdf",
            )
        return slides

    def clean(self):
        cleaned = super().clean()
        starts = cleaned.get("starts_at")
        ends = cleaned.get("ends_at")
        opens = cleaned.get("registration_opens_at")
        closes = cleaned.get("registration_closes_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _("終了日時は開始日時より後にしてください。"))
        if closes and ends and closes > ends:
            self.add_error("registration_closes_at", _("申込締切は終了日時より前にしてください。"))
        if opens and closes and opens >= closes:
            self.add_error("registration_closes_at", _("申込締切は申込開始より後にしてください。"))

        audience = cleaned.get("audience")
        if audience == Event.Audience.PROGRAM and not cleaned.get("audience_program"):
            self.add_error(
                "audience_program",
                _("対象が「特定の事業の実施団体」のときは、対象の事業を選んでください。"),
            )
        elif audience and audience != Event.Audience.PROGRAM:
            # A program left over from an earlier choice would mislead later readers.
            cleaned["audience_program"] = None

        if starts and not self.has_error("fiscal_year"):
            derived = fiscal_year_of(starts)
            if cleaned.get("fiscal_year") is None:
                cleaned["fiscal_year"] = derived
            elif cleaned["fiscal_year"] != derived:
                self.warnings.append(
                    _("年度（%(given)s）が開始日時から決まる年度（%(derived)s）と違います。")
                    % {"given": cleaned["fiscal_year"], "derived": derived}
                )
        elif cleaned.get("fiscal_year") is None and not self.has_error("fiscal_year"):
            self.add_error("fiscal_year", _("年度を入力するか、開始日時を入力してください。"))

        fmt = cleaned.get("format")
        if fmt in (Event.Format.ONLINE, Event.Format.HYBRID) and not cleaned.get("online_url"):
            self.warnings.append(_("オンライン参加URLが未入力です。公開する前に入力してください。"))
        if fmt and self.instance.pk and fmt != self.instance.format:
            self._warn_about_dropped_modes(fmt)
        if not cleaned.get("has_social") and cleaned.get("social_capacity") is not None:
            self.warnings.append(
                _("「懇親会あり」にチェックがないため、懇親会の定員は使われません。")
            )
        return cleaned

    def _warn_about_dropped_modes(self, fmt):
        # Registrations keep their mode when the format changes; the
        # secretariat should tell those people, not find out on the day.
        offered = Event(format=fmt).offered_modes()
        stranded = self.instance.registrations.active().exclude(mode__in=offered).count()
        if stranded:
            self.warnings.append(
                _(
                    "開催形式で選べなくなった参加方法の申込者が%(n)d人います。"
                    "申込はそのまま残るので、一斉メールで連絡してください。"
                )
                % {"n": stranded}
            )


def publish_warnings(event) -> list[str]:
    """What the publish page points out before the secretariat confirms."""
    warnings = []
    if event.offers_online and not event.online_url:
        warnings.append(_("オンライン参加URLが未入力です。確定した人に案内できません。"))
    if event.offers_venue and not event.venue_name:
        warnings.append(_("会場名が未入力です。"))
    if event.is_for_a_program and not event.audience_program_id:
        warnings.append(_("対象の事業が選ばれていないため、メンバーには表示されません。"))
    return warnings


class SessionForm(site_forms.ModelForm):
    class Meta:
        model = Session
        fields = ["title", "description", "capacity", "order"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        help_texts = {
            "capacity": _("空欄なら定員なし。"),
            "order": _("小さい順に表示します。"),
        }
        error_messages = {
            "capacity": {"min_value": CAPACITY_MIN_MESSAGE},
            "order": {"min_value": _("表示順は0以上の数を入力してください。")},
        }


SessionFormSet = forms.inlineformset_factory(
    Event,
    Session,
    form=SessionForm,
    extra=2,
    can_delete=True,
    max_num=50,
    validate_max=True,
    absolute_max=100,
)


class EventCancelForm(site_forms.Form):
    reason = forms.CharField(
        label=_("中止の理由"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        help_text=_("参加申込者へのお知らせメールにそのまま載ります。"),
        error_messages={"required": _("中止の理由を入力してください。")},
    )
    confirm = forms.BooleanField(
        label=_("申込者全員に中止のお知らせメールが送られることを確認しました"),
        error_messages={"required": _("確認のチェックを入れてください。")},
    )


class RegistrationAddForm(site_forms.PrivacyGuardMixin, site_forms.Form):
    """The secretariat adds someone by hand (phone or paper applications, walk-ins).

    A person is found by e-mail; an unknown e-mail becomes a contact with the
    name and kana given here (the view creates it). The question goes through
    the privacy guard as on the member's form (events.forms.EventChoicesForm)."""

    privacy_fields = ("question",)
    privacy_confirm_help = _(
        "確認するとこのまま登録します。事務局が確かめるまで、検討委員会には表示されません。"
    )

    email = forms.EmailField(
        label=_("メールアドレス"),
        help_text=_("登録済みの人はメールアドレスだけで選べます。"),
    )
    full_name = forms.CharField(
        label=_("氏名"),
        max_length=80,
        required=False,
        help_text=_("未登録の人のときに入力します（連絡先として登録します）。"),
    )
    full_name_kana = forms.CharField(label=_("氏名（かな）"), max_length=120, required=False)
    organisation = site_forms.ModelChoiceField(
        label=_("所属組織"),
        queryset=Organisation.objects.none(),
        required=False,
        empty_label=_("（選ばない）"),
        help_text=_(
            "その人が所属している組織から選びます。所属が1つなら空欄でその組織になります。"
            "ネットワーク外の所属は下の自由記入欄へ。"
        ),
    )
    organisation_name = forms.CharField(
        label=_("所属（自由記入）"),
        max_length=200,
        required=False,
        help_text=_("ネットワークに登録されていない所属のときに入力します。"),
    )
    mode = forms.ChoiceField(label=_("参加方法"), choices=Registration.Mode.choices)
    session = site_forms.ModelChoiceField(
        label=_("分科会"),
        queryset=Session.objects.none(),
        required=False,
        empty_label=_("（なし）"),
    )
    social = forms.BooleanField(label=_("懇親会に参加する"), required=False)
    question = forms.CharField(
        label=_("事前質問（困っていること・知りたいこと）"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        required=False,
    )

    force_confirm = forms.BooleanField(
        label=_("定員を超えて確定する"),
        required=False,
        help_text=_("満席のときも、キャンセル待ちにせず参加確定にします（講師・開催担当など）。"),
    )

    def __init__(self, *args, event, **kwargs):
        super().__init__(*args, **kwargs)
        self.event = event
        self.user = None
        self.fields["organisation"].queryset = Organisation.objects.filter(is_active=True).order_by(
            "kana", "name"
        )
        offered = event.offered_modes()
        modes = [(value, label) for value, label in Registration.Mode.choices if value in offered]
        self.fields["mode"].choices = modes
        if len(modes) == 1:
            self.fields["mode"].initial = modes[0][0]
        self.fields["session"].queryset = event.sessions.all()
        if not event.has_social:
            del self.fields["social"]
        self.fields["email"].widget.attrs.update({"autocomplete": "off", "inputmode": "email"})
        self.add_privacy_confirmation()

    def clean_email(self):
        return User.objects.normalize_email(self.cleaned_data["email"])

    def clean(self):
        cleaned = super().clean()
        email = cleaned.get("email")
        if email:
            self.user = User.objects.filter(email__iexact=email).first()
            if self.user is None and not (cleaned.get("full_name") or "").strip():
                self.add_error(
                    "full_name",
                    _(
                        "このメールアドレスの人は未登録です。氏名を入力すると連絡先として登録します。"
                    ),
                )
        return cleaned


def _audience_filter(label, help_text="") -> forms.ChoiceField:
    """One of the bulk message's optional filters: radio buttons, 「すべて」 first."""
    return forms.ChoiceField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.RadioSelect(attrs={"class": "checkbox-list"}),
    )


class BulkMessageForm(site_forms.Form):
    """The bulk message and whom it goes to: services.bulk_message_recipients
    selects by registration status and, where the event has them, by mode,
    session, 懇親会 and attendance (an empty choice = everyone)."""

    STATUS_CHOICES = (
        (Registration.Status.CONFIRMED, _("参加確定の人")),
        (Registration.Status.WAITLISTED, _("キャンセル待ちの人")),
    )
    ALL = ("", _("すべて"))

    subject = forms.CharField(
        label=_("件名"),
        max_length=150,
        help_text=_("件名の前に【つながり】が付きます。"),
    )
    body = forms.CharField(
        label=_("本文"),
        widget=forms.Textarea(attrs={"rows": 10}),
        max_length=10000,
        help_text=_("宛名（〇〇 様）と、イベント名・日時・参加方法は自動で添えられます。"),
    )
    statuses = forms.MultipleChoiceField(
        label=_("送り先"),
        choices=STATUS_CHOICES,
        initial=[Registration.Status.CONFIRMED],
        widget=forms.CheckboxSelectMultiple(attrs={"class": "checkbox-list"}),
        error_messages={"required": _("送り先を1つ以上選んでください。")},
    )
    # The filters; __init__ gives them their choices or removes them.
    mode = _audience_filter(_("参加方法"))
    session = _audience_filter(_("分科会"))
    social = _audience_filter(_("懇親会"))
    attendance = _audience_filter(
        _("出欠"),
        _(
            "出席：受付をした人（その参加方法で受付をしなかった場合は参加確定の人）。"
            "欠席：それ以外の人。"
        ),
    )

    def __init__(self, *args, event: Event, **kwargs):
        super().__init__(*args, **kwargs)
        self.event = event
        choices = {
            "mode": [self.ALL, *Registration.Mode.choices],
            "session": [
                self.ALL,
                *((str(s.pk), s.title) for s in event.sessions.order_by("order", "pk")),
                (NO_SESSION, _("分科会なし")),
            ],
            "social": [
                self.ALL,
                (Registration.SocialStatus.CONFIRMED, _("懇親会に参加（確定）")),
                (Registration.SocialStatus.WAITLISTED, _("懇親会のキャンセル待ち")),
                (Registration.SocialStatus.NONE, _("懇親会に参加しない")),
            ],
            "attendance": [
                self.ALL,
                (ATTENDANCE_PRESENT, _("出席")),
                (ATTENDANCE_ABSENT, _("欠席")),
            ],
        }
        offered = {
            "mode": event.is_hybrid,
            "session": len(choices["session"]) > 2,
            "social": event.has_social,
            "attendance": event.has_started(),
        }
        for name, field_choices in choices.items():
            if offered[name]:
                self.fields[name].choices = field_choices
                self.fields[name].initial = ""
            else:
                del self.fields[name]

    def audience(self):
        """The services.BulkAudience of the cleaned form."""
        data = self.cleaned_data
        return BulkAudience(
            statuses=tuple(data["statuses"]),
            mode=data.get("mode") or "",
            session=data.get("session") or "",
            social=data.get("social") or "",
            attendance=data.get("attendance") or "",
        )

    def chosen(self) -> list[tuple[str, str]]:
        """(field label, chosen label) of each filter in use, for the preview."""
        shown = []
        for name in ("statuses", "mode", "session", "social", "attendance"):
            if name not in self.fields:
                continue
            value = self.cleaned_data.get(name)
            values = value if isinstance(value, list) else [value]
            labels = [str(label) for key, label in self.fields[name].choices if key in values]
            if labels and value:
                shown.append((str(self.fields[name].label), "・".join(labels)))
        return shown
