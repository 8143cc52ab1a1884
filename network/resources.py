"""Spreadsheet import/export of organisations and memberships (django-import-export).

Exports write Japanese column names (組織名, 種別, 市町村コード …, the
fields' `column_name`) and Japanese labels for choices (受託団体, 主任相談支援員);
imports accept those and the keys below (`name`, `kind`, `contractor` …), so
an export can be edited and imported back. Both resources are all-or-nothing
with per-row, per-column Japanese errors: see
core.importing.AllOrNothingResourceMixin. Column names are listed in
docs/imports.md.

How an organisation row finds the record it updates:
  1. `id` filled in (an exported file edited and re-imported): that
     organisation, which may thus be renamed; an unknown id is an error.
  2. `id` blank or absent (a list prepared by hand): the organisation with the
     same `name` and `municipality`, else a new one.
So `import_id_fields` is (name, municipality), with `id` taking precedence.

`municipality` is the 6-digit 全国地方公共団体コード with its check digit; a
5-digit code is an error (a numeric XLSX cell that lost its leading zero is
padded back). `region` follows the municipality; it is read from the file only
for rows without one (the 振興局 units). `kind` and the membership's
`staff_role`/`experience` accept the code or the Japanese label; `programs`
are program keys separated by `|`. Columns `municipality_name` and
`organisation_name` are for reading the export and are ignored on import.

Exports escape every text cell that a spreadsheet would run as a formula
(starting with = + - @, tab or CR) with a leading quote, in both CSV and
XLSX (core.importing.defuse, applied by the formats): a phone number
+81-11-222-3333 exports as '+81-11-222-3333. The text columns read such a
cell back without the quote (core.importing.TextWidget), so an exported file
edited and imported again keeps +81-11-222-3333; a quote in front of
anything else is part of the value and kept.

A membership row is identified by (email, organisation). A person not yet
known is created as a *contact* (no usable password) who can later claim the
account through password reset. Existing users' names are never changed by an
import (people keep their own profile).
"""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets

from core.importing import (
    AllOrNothingResourceMixin,
    BooleanWidget,
    ChoiceWidget,
    KeyListWidget,
    LookupWidget,
    TextWidget,
    normalize_text,
)

from . import services
from .models import Membership, Municipality, Organisation, Program, Region

User = get_user_model()

_SIX_DIGITS = re.compile(r"^[0-9]{6}$")


class MunicipalityCodeWidget(LookupWidget):
    """A municipality by its 6-digit 全国地方公共団体コード (with check digit)."""

    def __init__(self):
        super().__init__(Municipality, field="code")

    def get_queryset(self, value, row, *args, **kwargs):
        # The organisation's region is derived from it: fetch it along.
        return Municipality.objects.select_related("region")

    def normalize(self, value):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            # A numeric spreadsheet cell lost its leading zero: 11002 -> 011002.
            return str(int(value)).zfill(6)
        return normalize_text(value)

    def lookup(self, value):
        if not _SIX_DIGITS.match(value):
            raise ValueError(
                _(
                    "全国地方公共団体コード「%(value)s」は6桁ではありません。検査数字を含む6桁で"
                    "入力してください（例: 札幌市 011002）。Excel で先頭の0が消えた場合は、列を"
                    "文字列として保存してください。"
                )
                % {"value": value}
            )
        return super().lookup(value)

    def not_found_message(self, value):
        return _("全国地方公共団体コード「%(value)s」の北海道の市町村が見つかりません。") % {
            "value": value
        }

    def render(self, value, obj=None, **kwargs):
        return value.code if value else ""


class RegionWidget(LookupWidget):
    """A 振興局 by its name (石狩振興局) or short name (石狩)."""

    def __init__(self):
        super().__init__(Region, field="name")

    def lookup(self, value):
        region = (
            Region.objects.filter(name=value).first()
            or Region.objects.filter(short_name=value).first()
        )
        if region is None:
            raise Region.DoesNotExist
        return region

    def not_found_message(self, value):
        return _("振興局「%(value)s」が見つかりません。") % {"value": value}


class UserByEmailWidget(LookupWidget):
    """A user by e-mail address (case-insensitive)."""

    def __init__(self):
        super().__init__(User, field="email")

    def normalize(self, value):
        return User.objects.normalize_email(normalize_text(value))

    def lookup(self, value):
        try:
            validate_email(value)
        except ValidationError:
            raise ValueError(
                _("「%(value)s」はメールアドレスとして正しくありません。") % {"value": value}
            ) from None
        return User.objects.get(email__iexact=value)

    def not_found_message(self, value):
        return _(
            "「%(value)s」のユーザーは登録されていません。連絡先として登録するには "
            "氏名（full_name）の列に氏名を入力してください。"
        ) % {"value": value}

    def remember(self, user):
        self._cache[user.email] = user

    def prime(self, emails):
        """Fetch every user of the file at once (case-insensitively), so that
        rows cost no lookup query; known-absent addresses are cached too."""
        wanted = set()
        for email in emails:
            try:
                validate_email(email)
            except ValidationError:
                continue  # left to lookup(), which reports it
            wanted.add(email)
        pending = sorted(wanted)
        for start in range(0, len(pending), 500):
            chunk = pending[start : start + 500]
            found = User.objects.annotate(_email=Lower("email")).filter(_email__in=chunk)
            for user in found:
                self._cache[user._email] = user
            for email in chunk:
                self._cache.setdefault(email, None)


class OrganisationRefWidget(LookupWidget):
    """An organisation by id (digits) or by exact name."""

    def __init__(self):
        super().__init__(Organisation, field="pk")

    def lookup(self, value):
        if value.isdigit():
            return Organisation.objects.get(pk=int(value))
        return Organisation.objects.get(name=value)

    def not_found_message(self, value):
        return _("組織「%(value)s」が見つかりません（IDまたは正確な名称で指定してください）。") % {
            "value": value
        }

    def render(self, value, obj=None, **kwargs):
        return str(value.pk) if value else ""


def _text(attribute, column=None, readonly=False):
    # Exports escape a cell that starts like a formula with a quote (the
    # formats of core.importing); TextWidget reads such a cell back as it was.
    return fields.Field(
        attribute=attribute,
        column_name=column or attribute,
        widget=TextWidget(),
        readonly=readonly,
    )


def _flag(attribute, column):
    # A blank cell keeps the current value (or the model default for new rows).
    return fields.Field(
        attribute=attribute, column_name=column, widget=BooleanWidget(), saves_null_values=False
    )


class OrganisationResource(AllOrNothingResourceMixin, resources.ModelResource):
    id = fields.Field(
        attribute="id", column_name="ID", widget=widgets.IntegerWidget(), readonly=True
    )
    name = _text("name", _("組織名"))
    kana = _text("kana", _("かな"))
    kind = fields.Field(
        attribute="kind",
        column_name=_("種別"),
        widget=ChoiceWidget(Organisation.Kind),
        saves_null_values=False,
    )
    municipality = fields.Field(
        attribute="municipality",
        column_name=_("市町村コード"),
        widget=MunicipalityCodeWidget(),
    )
    municipality_name = _text("municipality__name", _("市町村名"), readonly=True)
    region = fields.Field(attribute="region", column_name=_("振興局"), widget=RegionWidget())
    programs = fields.Field(
        attribute="programs",
        column_name=_("実施事業"),
        widget=KeyListWidget(Program, field="key", separator="|"),
    )
    email = _text("email", _("代表メール"))
    phone = _text("phone", _("電話番号"))
    website = _text("website", _("ウェブサイト"))
    address = _text("address", _("住所"))
    is_sample = _flag("is_sample", _("サンプル"))
    is_active = _flag("is_active", _("有効"))

    required_columns = ("name", "kind", "municipality")

    class Meta:
        model = Organisation
        fields = (
            "id",
            "name",
            "kana",
            "kind",
            "municipality",
            "municipality_name",
            "region",
            "programs",
            "email",
            "phone",
            "website",
            "address",
            "is_sample",
            "is_active",
        )
        import_order = fields
        export_order = fields
        import_id_fields = ("name", "municipality")
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    # -- finding the record --------------------------------------------------

    def _row_pk(self, row):
        """The row's id as int, None when blank; ValueError when not a number."""
        text = normalize_text(self.cell(row, "id"))
        if not text:
            return None
        if not text.isdigit():
            raise ValueError(text)
        return int(text)

    def get_queryset(self):
        # Rows compare and export the related values: fetch them with the row.
        return Organisation.objects.select_related("municipality", "region").prefetch_related(
            "programs"
        )

    def get_instance(self, instance_loader, row):
        try:
            pk = self._row_pk(row)
        except ValueError:
            return None  # reported in check_row
        if pk is not None:
            return self.get_queryset().filter(pk=pk).first()
        return super().get_instance(instance_loader, row)

    def check_row(self, instance, row, add_error, **kwargs):
        try:
            pk = self._row_pk(row)
        except ValueError:
            add_error("id", _("id は数字で入力してください（新しい組織は空欄）。"))
            return
        if pk is not None and instance.pk != pk:
            add_error(
                "id",
                _(
                    "ID %(pk)s の組織はありません。新しい組織を登録するときは id を空欄にしてください。"
                )
                % {"pk": pk},
            )

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        self._deactivated = []

    def import_instance(self, instance, row, **kwargs):
        was_active = bool(instance.pk) and instance.is_active
        try:
            super().import_instance(instance, row, **kwargs)
        finally:
            # The region follows the municipality (Organisation.clean does the
            # same); set it now so that skip_unchanged compares the real value.
            if instance.municipality_id:
                instance.region = instance.municipality.region
        if was_active and not instance.is_active:
            self._deactivated.append(instance.pk)

    def after_import(self, dataset, result, **kwargs):
        super().after_import(dataset, result, **kwargs)
        # Organisations this file made inactive: their members whom nothing
        # else keeps inside are signed out (docs/security.md §13). Inside the
        # import's transaction, so a dry run or a failed file undoes it too.
        deactivated = getattr(self, "_deactivated", [])
        if deactivated and not result.has_errors() and not result.has_validation_errors():
            services.end_sessions_of_those_left_outside(
                user_ids=Membership.objects.filter(organisation_id__in=deactivated).values(
                    "user_id"
                )
            )

    def duplicate_keys(self, instance, row):
        if instance.pk:
            yield ("pk", instance.pk), "id"
        if instance.name:
            yield ("name", instance.name, instance.municipality_id), "name"

    # -- export ----------------------------------------------------------------

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("municipality", "region").prefetch_related("programs")


class MembershipResource(AllOrNothingResourceMixin, resources.ModelResource):
    email = fields.Field(
        attribute="user", column_name=_("メールアドレス"), widget=UserByEmailWidget()
    )
    full_name = _text("user__full_name", _("氏名"), readonly=True)
    full_name_kana = _text("user__full_name_kana", _("ふりがな"), readonly=True)
    organisation = fields.Field(
        attribute="organisation", column_name=_("組織ID"), widget=OrganisationRefWidget()
    )
    organisation_name = _text("organisation__name", _("組織名"), readonly=True)
    staff_role = fields.Field(
        attribute="staff_role",
        column_name=_("職種"),
        widget=ChoiceWidget(Membership.StaffRole),
        saves_null_values=False,
    )
    experience = fields.Field(
        attribute="experience",
        column_name=_("経験年数"),
        widget=ChoiceWidget(Membership.Experience, blank=""),
    )
    is_org_admin = _flag("is_org_admin", _("組織管理者"))

    required_columns = ("email", "organisation")

    class Meta:
        model = Membership
        fields = (
            "email",
            "full_name",
            "full_name_kana",
            "organisation",
            "organisation_name",
            "staff_role",
            "experience",
            "is_org_admin",
        )
        import_order = fields
        export_order = fields
        import_id_fields = ("email", "organisation")
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        widget = self.fields["email"].widget
        widget.prime(
            {widget.normalize(v) for v in dataset[self.fields["email"].column_name]} - {""}
        )

    def before_import_row(self, row, **kwargs):
        """Create a person we do not know yet as a contact (no usable password).

        Runs inside the import's transaction, so a failed or dry-run import
        leaves no contact behind. Rows that cannot create one (bad address,
        no name) are reported by the email column's validation."""
        widget = self.fields["email"].widget
        email = widget.normalize(self.cell(row, "email"))
        full_name = normalize_text(self.cell(row, "full_name"))
        if not email or not full_name:
            return
        try:
            widget.clean(email)
            return  # already known
        except ValueError:
            pass
        full_name_kana = normalize_text(self.cell(row, "full_name_kana"))
        if self._name_errors(full_name, full_name_kana):
            return
        try:
            validate_email(email)
        except ValidationError:
            return
        user = User.objects.create_contact(
            email, full_name=full_name, full_name_kana=full_name_kana
        )
        widget.remember(user)

    @staticmethod
    def _name_errors(full_name, full_name_kana):
        errors = []
        for column, value in (("full_name", full_name), ("full_name_kana", full_name_kana)):
            limit = User._meta.get_field(column).max_length
            if len(value) > limit:
                errors.append(
                    (
                        column,
                        _("%(limit)s文字以内で入力してください（%(length)s文字）。")
                        % {"limit": limit, "length": len(value)},
                    )
                )
        return errors

    def check_row(self, instance, row, add_error, **kwargs):
        for column, message in self._name_errors(
            normalize_text(self.cell(row, "full_name")),
            normalize_text(self.cell(row, "full_name_kana")),
        ):
            add_error(column, message)

    def get_queryset(self):
        return Membership.objects.select_related("user", "organisation")

    def duplicate_keys(self, instance, row):
        if instance.user_id and instance.organisation_id:
            yield (instance.user_id, instance.organisation_id), "email"

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("user", "organisation")
