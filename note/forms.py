"""Forms of the board and the note. Every form derives from core.forms.

Forms with free text that others read (topics, replies, note entries) carry
the privacy guard (`PrivacyGuardMixin`): when core.privacy finds something
the form is shown again with the findings highlighted, and it is valid only
once the text is rewritten or the author ticks
「実在の人物についての内容ではありません」. The service decides the state
(a confirmed post waits for review), so the form only asks.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.forms import (
    Form,
    ModelChoiceField,
    ModelForm,
    ModelMultipleChoiceField,
    PrivacyGuardMixin,
)
from network.models import Program, Region, User

from . import access, services
from .enums import Function
from .formatting import excerpt
from .models import NoteEntry, NotePreference, Reply, Topic

BODY_HELP = _(
    "改行はそのまま表示されます。リンクは [表示する文字](https://…) か <https://…>、"
    "箇条書きは行の先頭に「- 」、強調は **文字** と書けます。"
)
ANONYMOUS_HELP = _(
    "ほかの会員には「匿名の会員（受託団体）」のように所属の種別だけが表示されます。"
    "事務局は運営のために投稿者を確認することがあり、確認は記録されます。"
)
TAGS_HELP = _("スペースか読点（、）で区切ります（10個まで）。例：家計 初任者 住まい")


def _checkboxes(queryset, label):
    return ModelMultipleChoiceField(
        queryset=queryset, required=False, label=label, widget=forms.CheckboxSelectMultiple
    )


class TagsField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("タグ"))
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault("help_text", TAGS_HELP)
        super().__init__(**kwargs)

    def clean(self, value):
        return services.parse_tags(super().clean(value))


def _tags_initial(instance) -> str:
    if instance is None or instance.pk is None:
        return ""
    return " ".join(tag.name for tag in instance.tags.all())


class SignatureMixin:
    """Anonymous or named, and with which organisation when there are several."""

    def add_signature_fields(self, user) -> None:
        self.fields["is_anonymous"] = forms.BooleanField(
            label=_("匿名で投稿する"), required=False, help_text=ANONYMOUS_HELP
        )
        organisations = access.posting_organisations(user)
        if organisations.count() > 1:
            self.fields["organisation"] = ModelChoiceField(
                queryset=organisations,
                label=_("所属"),
                help_text=_("投稿に表示する所属です（匿名のときは種別だけが表示されます）。"),
            )

    def signature(self) -> dict:
        return {
            "anonymous": self.cleaned_data.get("is_anonymous", False),
            "organisation": self.cleaned_data.get("organisation"),
        }


class TopicForm(PrivacyGuardMixin, SignatureMixin, ModelForm):
    privacy_fields = ("title", "body", "tags")

    programs = _checkboxes(Program.objects.all(), _("関係する事業"))
    regions = _checkboxes(Region.objects.all(), _("振興局"))
    tags = TagsField()

    class Meta:
        model = Topic
        fields = ["title", "body", "programs", "regions"]
        widgets = {"body": forms.Textarea(attrs={"rows": 10})}
        help_texts = {
            "title": _("何について知りたいかが一目でわかるように書きます。"),
            "body": BODY_HELP,
        }

    def __init__(self, *args, user, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tags"].initial = _tags_initial(self.instance)
        if not editing:
            self.add_signature_fields(user)
        self.add_privacy_confirmation()

    def values(self) -> dict:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "body": data["body"],
            "programs": data["programs"],
            "regions": data["regions"],
            "tags": data["tags"],
            "privacy_confirmed": self.privacy_confirmed,
        }


class ReplyForm(PrivacyGuardMixin, SignatureMixin, ModelForm):
    privacy_fields = ("body",)

    class Meta:
        model = Reply
        fields = ["body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 6})}
        labels = {"body": _("返信")}
        help_texts = {"body": BODY_HELP}

    def __init__(self, *args, user, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not editing:
            self.add_signature_fields(user)
        self.add_privacy_confirmation()


class ResolutionForm(Form):
    replies = ModelMultipleChoiceField(
        queryset=Reply.objects.none(),
        required=False,
        label=_("解決につながった返信"),
        help_text=_("選んだ返信に「解決」の印がつきます。どれも選ばなければ未解決に戻ります。"),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, topic: Topic, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["replies"]
        field.queryset = topic.replies.published().select_related("author", "author_org")
        field.label_from_instance = lambda reply: f"{reply.author_label}：{excerpt(reply.body, 60)}"
        field.initial = [reply.pk for reply in field.queryset if reply.is_resolution]


class ReasonForm(Form):
    reason = forms.CharField(label=_("理由"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, help_text="", **kwargs):
        super().__init__(*args, **kwargs)
        if help_text:
            self.fields["reason"].help_text = help_text


class MeetingRoomForm(Form):
    event = ModelChoiceField(queryset=None, label=_("会"))

    def __init__(self, *args, events, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["event"].queryset = events


ANONYMISATION_CHECKS = (
    ("check_people", _("人の名前・住所・連絡先・生年月日など、個人を特定できる情報を含まない")),
    ("check_case", _("地域・時期・家族構成などを組み合わせても、元の相談の人が特定されない")),
    ("check_authors", _("元の相談や返信を書いた会員が特定される書き方をしていない")),
)


class NoteEntryForm(PrivacyGuardMixin, ModelForm):
    privacy_fields = ("title", "summary", "tags")

    programs = _checkboxes(Program.objects.all(), _("事業"))
    regions = _checkboxes(Region.objects.all(), _("振興局"))
    functions = forms.TypedMultipleChoiceField(
        label=_("支援者支援の機能"),
        choices=Function.choices,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )
    tags = TagsField()

    class Meta:
        model = NoteEntry
        fields = ["title", "summary", "programs", "regions"]
        widgets = {"summary": forms.Textarea(attrs={"rows": 12})}
        help_texts = {"summary": BODY_HELP}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tags"].initial = _tags_initial(self.instance)
        if self.instance.pk:
            self.fields["functions"].initial = [f.value for f in self.instance.functions]
        for name, label in ANONYMISATION_CHECKS:
            self.fields[name] = forms.BooleanField(label=label, required=True)
        self.add_privacy_confirmation()

    @property
    def checklist_fields(self):
        return [self[name] for name, _label in ANONYMISATION_CHECKS]

    @property
    def main_fields(self):
        checks = {name for name, _label in ANONYMISATION_CHECKS}
        return [field for field in super().main_fields if field.name not in checks]

    def values(self) -> dict:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "summary": data["summary"],
            "programs": data["programs"],
            "regions": data["regions"],
            "functions": data["functions"],
            "tags": data["tags"],
            "anonymisation_checked": all(data.get(name) for name, _l in ANONYMISATION_CHECKS),
            "privacy_confirmed": self.privacy_confirmed,
        }


class CuratorForm(Form):
    email = forms.EmailField(
        label=_("メールアドレス"), help_text=_("ノートの編集者にする会員のログイン用アドレスです。")
    )

    def clean_email(self):
        email = self.cleaned_data["email"]
        user = User.objects.filter(email__iexact=email, is_active=True).first()
        if user is None or not access.is_member(user):
            raise ValidationError(_("このアドレスの会員が見つかりません。"), code="unknown")
        self.user = user
        return email


class PreferenceForm(ModelForm):
    class Meta:
        model = NotePreference
        fields = ["wants_digest"]
