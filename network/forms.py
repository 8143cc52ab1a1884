"""Forms for organisation profiles and staff management."""

from django import forms
from django.utils.translation import gettext_lazy as _

from core import forms as site_forms

from . import access, services
from .forms_joining import MunicipalityChoiceField
from .models import Membership, Organisation

PROFILE_FIELDS = [
    "name",
    "kana",
    "municipality",
    "programs",
    "email",
    "phone",
    "website",
    "address",
    "description",
]


class CheckboxList(forms.CheckboxSelectMultiple):
    """Checkboxes laid out by the site's .checkbox-list style."""

    def __init__(self, attrs=None, choices=()):
        super().__init__({"class": "checkbox-list", **(attrs or {})}, choices)


class OrganisationProfileForm(site_forms.ModelForm):
    """What an org admin keeps up to date. The region is not asked: the
    model's clean() derives it from the municipality."""

    class Meta:
        model = Organisation
        fields = PROFILE_FIELDS
        widgets = {
            "programs": CheckboxList,
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            "description": forms.Textarea(attrs={"rows": 6}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Grouped under the 振興局 and searchable by typing; the model's label
        # and optionality stay.
        model_field = self.fields["municipality"]
        self.fields["municipality"] = MunicipalityChoiceField(
            label=model_field.label,
            required=model_field.required,
            help_text=model_field.help_text,
            empty_label=_("（指定なし）"),
        )


class OrganisationManageForm(OrganisationProfileForm):
    """The secretariat's version: also the kind, the flags, and the region
    for a 振興局 unit that has no municipality of its own."""

    class Meta(OrganisationProfileForm.Meta):
        fields = ["kind", *PROFILE_FIELDS, "region", "is_active", "is_sample"]

    def clean(self):
        cleaned = super().clean()
        # A 自治体 without either would never show up under any area.
        if (
            cleaned.get("kind") == Organisation.Kind.MUNICIPALITY
            and not cleaned.get("municipality")
            and not cleaned.get("region")
        ):
            self.add_error(
                "municipality", _("自治体は所在市町村または振興局のいずれかを指定してください。")
            )
        return cleaned


def organisation_form_class(user):
    if access.can_manage_network(user):
        return OrganisationManageForm
    return OrganisationProfileForm


LAST_ADMIN_MESSAGE = _(
    "この方は組織で唯一の組織管理者です。先に別の職員を組織管理者にしてください。"
)


class MembershipForm(site_forms.ModelForm):
    """Role, experience band and admin flag of one staff member; demoting
    follows access.can_demote_or_remove (the last admin stays, except for the
    secretariat)."""

    class Meta:
        model = Membership
        fields = ["staff_role", "experience", "is_org_admin"]
        help_texts = {
            "is_org_admin": _("組織の紹介と職員の一覧を編集し、同僚を招待できます。"),
        }

    def __init__(self, *args, actor, **kwargs):
        self.actor = actor
        super().__init__(*args, **kwargs)

    def clean(self):
        # clean() runs before the cleaned data is copied onto the instance, so
        # self.instance still holds the stored flag here.
        cleaned = super().clean()
        demoting = cleaned.get("is_org_admin") is False
        if demoting and not access.can_demote_or_remove(self.actor, self.instance):
            self.add_error("is_org_admin", LAST_ADMIN_MESSAGE)
        return cleaned


class MembershipRemoveForm(site_forms.Form):
    """Confirmation of removing a person from an organisation. It has no
    fields: it carries the rule that the last admin stays."""

    def __init__(self, *args, membership, actor, **kwargs):
        self.membership = membership
        self.actor = actor
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        if not access.can_demote_or_remove(self.actor, self.membership):
            raise forms.ValidationError(LAST_ADMIN_MESSAGE, code="last_admin")
        return cleaned

    def save(self):
        services.remove_membership(membership=self.membership, removed_by=self.actor)
