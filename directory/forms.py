"""Forms of the directory's manage pages: the correction of an entry and the
upload of a file to import. Errors are Japanese and shown next to the field."""

from __future__ import annotations

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import forms as core_forms
from core import importing as limits

from .freshness import CORRECTABLE_FIELDS
from .importing import UPLOAD_EXTENSIONS
from .models import Service


class ServiceCorrectionForm(core_forms.ModelForm):
    """The entry's main public fields; saving it also confirms the entry
    (directory.freshness.correct)."""

    class Meta:
        model = Service
        fields = list(CORRECTABLE_FIELDS)
        widgets = {
            name: forms.Textarea(attrs={"rows": 3})
            for name in (
                "description",
                "eligibility",
                "fees",
                "application_process",
                "required_documents",
            )
        }
        help_texts = {
            "status": gettext_lazy(
                "「一時休止」「終了」にすると、ナビの検索結果に表示されなくなります。"
            ),
            "url": gettext_lazy("案内ページのURL（https://…）。ない場合は空欄。"),
        }


class DirectoryUploadForm(core_forms.Form):
    file = forms.FileField(
        label=gettext_lazy("取り込むCSVファイル"),
        help_text=format_lazy(
            gettext_lazy(
                "自治体標準オープンデータセット（公共施設一覧・介護サービス事業所一覧・"
                "子育て施設一覧）またはネイティブCSV。UTF-8・BOM付きUTF-8・Shift_JIS。"
                "{mb} MB・{rows} 行まで。"
            ),
            mb=limits.MAX_BYTES // (1024 * 1024),
            rows=f"{limits.MAX_ROWS:,}",
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(UPLOAD_EXTENSIONS):
            raise forms.ValidationError(_("CSV（.csv）のファイルを選んでください。"))
        if upload.size > limits.MAX_BYTES:
            raise forms.ValidationError(
                _("ファイルが大きすぎます（上限 %(mb)s MB）。分けて取り込んでください。")
                % {"mb": limits.MAX_BYTES // (1024 * 1024)}
            )
        if upload.size == 0:
            raise forms.ValidationError(_("ファイルが空です。"))
        return upload
