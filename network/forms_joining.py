"""Forms for joining the network: invitations and join requests."""

from itertools import groupby

from django import forms
from django.core.validators import RegexValidator
from django.forms.models import ModelChoiceIterator
from django.utils.translation import gettext_lazy as _

from core import forms as site_forms

from .models import JoinRequest, Membership, Municipality, Program

phone_validator = RegexValidator(
    r"^[0-9０-９+()（）\-－ー‐ ]*$",
    _("電話番号は数字とハイフンで入力してください。"),
)


class InvitationForm(site_forms.Form):
    email = forms.EmailField(
        label=_("メールアドレス"),
        max_length=254,
        help_text=_(
            "招待メールをこのアドレスに送ります。すでに登録のある方は、登録済みの氏名のまま追加されます。"
        ),
    )
    full_name = forms.CharField(label=_("氏名"), max_length=80)
    full_name_kana = forms.CharField(label=_("氏名（かな）"), max_length=120, required=False)
    staff_role = forms.ChoiceField(
        label=_("職種"), choices=Membership.StaffRole.choices, initial=Membership.StaffRole.SODAN
    )
    experience = forms.ChoiceField(
        label=_("経験年数"),
        choices=[("", "---------"), *Membership.Experience.choices],
        required=False,
    )
    is_org_admin = forms.BooleanField(
        label=_("組織管理者にする"),
        required=False,
        help_text=_("組織管理者は、組織の情報と職員の一覧を編集し、職員を招待できます。"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update({"autocomplete": "off"})


# The label of the search box above a 市町村 select (short: it fits a filter column).
MUNICIPALITY_SEARCH = _("名前・かなで探す")


class _GroupedByRegion(ModelChoiceIterator):
    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for region, items in groupby(self.queryset, key=lambda m: m.region):
            yield (region.name, [self.choice(m) for m in items])


class MunicipalityChoiceField(site_forms.ModelChoiceField):
    """179 municipalities, grouped under their 振興局 so that a town is easy
    to find; ordered by code inside each group. Only the display is grouped:
    validation still looks the value up in the queryset."""

    iterator = _GroupedByRegion

    def __init__(self, **kwargs):
        queryset = Municipality.objects.select_related("region").order_by("region__order", "code")
        kwargs.setdefault("widget", site_forms.SearchableSelect(search_label=MUNICIPALITY_SEARCH))
        super().__init__(queryset=queryset, **kwargs)

    def label_from_instance(self, obj):
        return obj.name


class JoinRequestForm(site_forms.ModelForm):
    # Honeypot: hidden from people by the template; bots that fill every
    # field give themselves away. Named like a real field on purpose.
    website = site_forms.HoneypotField(label=_("ウェブサイト（入力しないでください）"))

    municipality = MunicipalityChoiceField(label=_("所在市町村"))
    programs = site_forms.ModelMultipleChoiceField(
        label=_("実施している事業"),
        queryset=Program.objects.order_by("order"),
        widget=forms.CheckboxSelectMultiple(attrs={"class": "checkbox-list"}),
        required=False,
    )

    class Meta:
        model = JoinRequest
        fields = [
            "organisation_name",
            "organisation_kana",
            "kind",
            "municipality",
            "programs",
            "contact_name",
            "contact_kana",
            "contact_email",
            "contact_phone",
            "message",
        ]
        widgets = {
            "message": forms.Textarea(attrs={"rows": 5}),
            "contact_phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            "contact_email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "contact_name": forms.TextInput(attrs={"autocomplete": "name"}),
        }
        help_texts = {
            "kind": _(
                "受託団体：自治体から生活困窮者自立支援事業を受託している団体。支援団体：その他の支援団体。"
            ),
            "contact_email": _("承認されると、このアドレスに招待メールが届きます。"),
            "message": _("活動の内容や、ネットワークに期待することをお書きください。"),
        }

    field_order = [
        "organisation_name",
        "organisation_kana",
        "kind",
        "municipality",
        "programs",
        "contact_name",
        "contact_kana",
        "contact_email",
        "contact_phone",
        "message",
        "website",
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact_phone"].validators.append(phone_validator)
        self.fields["message"].max_length = 4000
        self.fields["message"].widget.attrs["maxlength"] = 4000

    @property
    def is_spam(self) -> bool:
        return bool(self.cleaned_data.get("website"))

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("website", None)
        return data


class DeclineForm(site_forms.Form):
    reason = forms.CharField(
        label=_("見送りの理由"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        help_text=_("申請者へのメールにそのまま記載されます。"),
    )


class JoinRequestFilterForm(site_forms.Form):
    status = forms.ChoiceField(
        label=_("状態"),
        choices=[("", _("すべて")), *JoinRequest.Status.choices],
        required=False,
    )
