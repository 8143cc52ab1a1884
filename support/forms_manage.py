"""The secretariat's triage forms: accept (partner, coordinator, note), put on
hold and decline (a reason the applicant reads).

The three forms share one page, so each has its own `auto_id` (no two inputs
with one id) while the posted names stay plain (`partner`, `reason`). The
services check everything again and refuse with SupportError; `add_support_error`
puts its message next to the field it names, or above the form.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import Form, ModelChoiceField

from . import services

REASON_REQUIRED = _("申込組織に伝える理由を入力してください。")


class AcceptForm(Form):
    partner = ModelChoiceField(queryset=None, label=_("担当する協力団体"))
    coordinator = ModelChoiceField(queryset=None, label=_("事務局の調整担当"))
    note = forms.CharField(
        label=_("メモ"),
        required=False,
        max_length=services.TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("経過に残ります。申込組織には表示されません。"),
    )

    def __init__(self, *args, menu, user, **kwargs):
        kwargs.setdefault("auto_id", "accept_%s")
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = services.partner_choices(menu).order_by("kana", "pk")
        coordinators = services.coordinator_choices()
        self.fields["coordinator"].queryset = coordinators
        if not self.is_bound and coordinators.filter(pk=user.pk).exists():
            self.initial["coordinator"] = user.pk


class ReasonForm(Form):
    reason = forms.CharField(
        label=_("理由"),
        max_length=services.TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": REASON_REQUIRED},
    )

    def __init__(self, *args, prefix_id: str, help_text="", **kwargs):
        kwargs.setdefault("auto_id", f"{prefix_id}_%s")
        super().__init__(*args, **kwargs)
        if help_text:
            self.fields["reason"].help_text = help_text


class HoldForm(ReasonForm):
    def __init__(self, *args, **kwargs):
        super().__init__(
            *args,
            prefix_id="hold",
            help_text=_(
                "申込組織に表示されます。何を確認しているか、いつ頃決まるかを書いてください。"
            ),
            **kwargs,
        )


class DeclineForm(ReasonForm):
    def __init__(self, *args, **kwargs):
        super().__init__(
            *args,
            prefix_id="decline",
            help_text=_(
                "申込組織に表示され、メールでも伝えます。ほかに使える支援があれば書き添えてください。"
            ),
            **kwargs,
        )


def add_support_error(form: forms.Form, error) -> None:
    """A service's SupportError on the form: a dict's messages next to the
    fields it names (above the form for a name the form lacks), anything else
    above the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)
