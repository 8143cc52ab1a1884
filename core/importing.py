"""Shared building blocks for spreadsheet imports and exports.

Every importer in the project (organisations and memberships now; attendees,
survey answers and directory entries later) has the same promises to keep:

* A file from Excel on Japanese Windows must work: CSV arrives as UTF-8,
  UTF-8 with BOM or CP932 (Shift_JIS), and CSV exports carry a BOM so that
  Excel opens them as UTF-8 instead of mojibake.
* Imports are all-or-nothing. One bad row means nothing is written, and every
  bad row is reported with its row number, the column and a Japanese message.
* A file that cannot be read at all gives a clear Japanese error, never a 500.

`decode_upload` is the plain helper for importers that do not use
django-import-export; the rest plugs into django-import-export 4.x.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass

import tablib
from django.core.exceptions import (
    NON_FIELD_ERRORS,
    MultipleObjectsReturned,
    ObjectDoesNotExist,
    ValidationError,
)
from django.utils.translation import gettext as _
from import_export import widgets
from import_export.formats import base_formats

# C0 control characters other than tab, LF and CR never occur in a real CSV
# exported from a spreadsheet. Finding them after decoding means we guessed
# wrong (UTF-16, a binary file, random bytes that happen to be valid CP932).
_ALLOWED_CONTROLS = {"\t", "\n", "\r"}


class ImportFileError(ValueError):
    """The uploaded file as a whole cannot be read (encoding, format).

    The message is Japanese and safe to show to the person who uploaded it."""


def _looks_like_text(text: str) -> bool:
    return not any(unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS for ch in text)


def decode_upload(raw: bytes) -> str:
    """Decode an uploaded text file: UTF-8 (with or without BOM), else CP932.

    UTF-8 is tried strictly first because valid UTF-8 of any length is almost
    never valid CP932 by accident, while the reverse is common. Raises
    `ImportFileError` (a ValueError) with a Japanese message otherwise."""
    if isinstance(raw, str):
        text = raw.removeprefix("\ufeff")
        if _looks_like_text(text):
            return text
        raise ImportFileError(_undecodable_message())
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text):
            return text
    raise ImportFileError(_undecodable_message())


def _undecodable_message() -> str:
    return _(
        "ファイルの文字コードを判別できません。CSVは UTF-8（BOM付き可）または "
        "Shift_JIS（CP932）で保存してください。Excel では「CSV UTF-8（コンマ区切り）」"
        "で保存すると確実です。"
    )


# --- django-import-export formats -----------------------------------------


class CSV(base_formats.CSV):
    """CSV that reads UTF-8, UTF-8-BOM and CP932, and writes UTF-8 with BOM.

    Declared binary so that the admin hands us the raw bytes (read mode "rb",
    no `from_encoding` decoding in the temporary storage): the encoding is
    detected here instead of being fixed per admin class."""

    CONTENT_TYPE = "text/csv; charset=utf-8"

    def is_binary(self):
        return True

    def get_read_mode(self):
        return "rb"

    def create_dataset(self, in_stream, **kwargs):
        text = decode_upload(in_stream)
        try:
            return super().create_dataset(text, **kwargs)
        except tablib.InvalidDimensions as exc:
            raise ImportFileError(_too_wide_message(text)) from exc
        except (csv.Error, UnicodeError, IndexError) as exc:
            raise ImportFileError(_("CSVファイルとして読み込めません。")) from exc

    def export_data(self, dataset, **kwargs):
        # The parent escapes formulae when IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT.
        text = super().export_data(dataset, **kwargs)
        return ("\ufeff" + text).encode("utf-8")


def _too_wide_message(text: str) -> str:
    rows = csv.reader(io.StringIO(text))
    width = len(next(rows, []))
    for number, row in enumerate(rows, 1):
        if len(row) > width:
            return _(
                "%(row)s行目（見出しを除く）の列が見出しより多くなっています（%(cells)s列、見出しは"
                '%(width)s列）。値の中のカンマは "" で囲んでください。'
            ) % {"row": number, "cells": len(row), "width": width}
    return _("CSVの列の数が見出しと合いません。")


class XLSX(base_formats.XLSX):
    """XLSX whose read failures become a clear Japanese error."""

    def create_dataset(self, in_stream):
        if isinstance(in_stream, str):
            in_stream = in_stream.encode("utf-8", "surrogateescape")
        try:
            return super().create_dataset(in_stream)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, StopIteration) as exc:
            raise ImportFileError(
                _(
                    "Excel ファイル（.xlsx）として読み込めません。ファイルが壊れているか、"
                    "別の形式のファイルです。CSV の場合は形式に CSV を選んでください。"
                )
            ) from exc


#: Formats offered by every import/export admin of the project.
FORMATS = [CSV, XLSX]


# --- widgets --------------------------------------------------------------


def normalize_text(value) -> str:
    """Cell value as a stripped string, full-width digits/letters folded (NFKC)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


# CP932 round-trips the wave dash 〜 (U+301C) as the full-width tilde ～
# (U+FF5E), which NFKC folds to "~": compare labels in this folded form.
_TILDES = str.maketrans({"\u301c": "~", "\uff5e": "~"})


def fold_label(value) -> str:
    return normalize_text(value).translate(_TILDES).replace(" ", "")


class ChoiceWidget(widgets.Widget):
    """A `TextChoices` column that accepts the code (`contractor`) or the
    Japanese label (受託団体). Exports the code, which round-trips.

    `blank` is what an empty cell means: None (leave the field alone, so the
    model default or the current value stays) or a value such as ""."""

    def __init__(self, choices, *, blank=None, **kwargs):
        super().__init__(**kwargs)
        self.choices = choices
        self.blank = blank

    def clean(self, value, row=None, **kwargs):
        text = normalize_text(value)
        if not text:
            return self.blank
        folded = fold_label(text)
        for code, label in self.choices.choices:
            if text == code or text.lower() == code or folded == fold_label(label):
                return code
        allowed = "、".join(f"{label}（{code}）" for code, label in self.choices.choices)
        raise ValueError(
            _("「%(value)s」は使えません。次のどれかを入力してください: %(allowed)s")
            % {"value": text, "allowed": allowed}
        )

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value)


class BooleanWidget(widgets.BooleanWidget):
    """Booleans as Japanese offices write them; anything else is an error
    (the stock widget silently reads unknown text as False)."""

    TRUE_TEXT = {"1", "true", "yes", "y", "はい", "○", "〇", "有", "有効", "対象"}
    FALSE_TEXT = {"0", "false", "no", "n", "いいえ", "×", "無", "無効", "-"}

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, bool):
            return value
        text = normalize_text(value).lower()
        if text in ("", "none", "null"):
            return None
        if text in self.TRUE_TEXT:
            return True
        if text in self.FALSE_TEXT:
            return False
        raise ValueError(
            _(
                "「%(value)s」は真偽値として読めません。1 または 0（はい／いいえ）で入力してください。"
            )
            % {"value": value}
        )


class LookupWidget(widgets.ForeignKeyWidget):
    """ForeignKeyWidget with Japanese errors and a per-import cache.

    The stock widget raises DoesNotExist, which import-export reports as a
    crash of the row instead of an error on the column."""

    def __init__(self, model, field="pk", **kwargs):
        super().__init__(model, field=field, **kwargs)
        self._cache: dict = {}

    def reset(self):
        self._cache = {}

    def normalize(self, value):
        return normalize_text(value)

    def not_found_message(self, value) -> str:
        return _("「%(value)s」に当たる%(model)sが見つかりません。") % {
            "value": value,
            "model": self.model._meta.verbose_name,
        }

    def lookup(self, value):
        return self.get_queryset(value, None).get(**{self.field: value})

    def clean(self, value, row=None, **kwargs):
        key = self.normalize(value)
        if key in ("", None):
            return None
        if key not in self._cache:
            try:
                self._cache[key] = self.lookup(key)
            except ObjectDoesNotExist:
                self._cache[key] = None
            except MultipleObjectsReturned:
                raise ValueError(
                    _("「%(value)s」に当たる%(model)sが複数あります。IDで指定してください。")
                    % {"value": key, "model": self.model._meta.verbose_name}
                ) from None
        obj = self._cache[key]
        if obj is None:
            raise ValueError(self.not_found_message(key))
        return obj


class KeyListWidget(widgets.ManyToManyWidget):
    """Many-to-many by a key column, `|`-separated, unknown keys are an error
    (the stock widget silently drops them)."""

    def __init__(self, model, field="pk", separator="|", **kwargs):
        super().__init__(model, separator=separator, field=field, **kwargs)
        self._by_key: dict | None = None

    def reset(self):
        self._by_key = None

    def clean(self, value, row=None, **kwargs):
        text = normalize_text(value)
        if not text:
            return []
        if self._by_key is None:
            self._by_key = {str(getattr(o, self.field)): o for o in self.model.objects.all()}
        keys = [k.strip() for k in text.split(self.separator) if k.strip()]
        unknown = [k for k in keys if k not in self._by_key]
        if unknown:
            raise ValueError(
                _("不明な%(model)sのキー: %(unknown)s（使えるキー: %(allowed)s）")
                % {
                    "model": self.model._meta.verbose_name,
                    "unknown": "、".join(unknown),
                    "allowed": " | ".join(self._by_key),
                }
            )
        # A list, not a queryset: saving and comparing it costs no query.
        return [self._by_key[k] for k in dict.fromkeys(keys)]


# --- resources ------------------------------------------------------------


class AllOrNothingResourceMixin:
    """Mix into a ModelResource to get the project's import contract.

    * Always inside a transaction, rolled back when any row has an error or a
      validation error (import-export's default keeps the valid rows).
    * `required_columns`: checked before any row is read; a missing column is
      one file-level error and no row is processed.
    * Errors are reported per column name (what the user sees in the file),
      never as a crash of the row: failed lookups in `get_instance` fall
      through to the per-field validation.
    * `duplicate_keys(instance, row)`: rows that name the same record twice in
      one file are errors (otherwise the second silently overwrites the first).
    * Trailing blank lines (an Excel habit) are dropped; headers are stripped.
    """

    required_columns: tuple[str, ...] = ()

    def import_data(self, dataset, dry_run=False, raise_errors=False, **kwargs):
        kwargs["use_transactions"] = True
        kwargs["rollback_on_validation_errors"] = True
        return super().import_data(dataset, dry_run=dry_run, raise_errors=raise_errors, **kwargs)

    def before_import(self, dataset, **kwargs):
        self._seen_keys = {}
        for field in self.fields.values():
            reset = getattr(field.widget, "reset", None)
            if reset:
                reset()
        if dataset.headers:
            dataset.headers = [normalize_text(h) for h in dataset.headers]
        while len(dataset) and all(normalize_text(v) == "" for v in dataset[-1]):
            del dataset[-1]
        missing = [c for c in self.required_columns if c not in (dataset.headers or [])]
        if missing:
            # Nothing row-level is worth reporting when the header is wrong.
            while len(dataset):
                del dataset[-1]
            raise ImportFileError(
                _(
                    "必須の列がありません: %(missing)s（1行目に列名が必要です。必須の列: %(required)s）"
                )
                % {"missing": "、".join(missing), "required": "、".join(self.required_columns)}
            )
        super().before_import(dataset, **kwargs)

    def get_instance(self, instance_loader, row):
        try:
            return super().get_instance(instance_loader, row)
        except (ValueError, ValidationError, ObjectDoesNotExist, MultipleObjectsReturned):
            # Reported by the field's own validation in import_instance().
            return None

    def duplicate_keys(self, instance, row):
        """Yield (key, column) pairs identifying the record a row writes."""
        return ()

    def check_row(self, instance, row, add_error, **kwargs):
        """Resource-specific checks; call add_error(column_or_attribute, message)."""

    def import_instance(self, instance, row, **kwargs):
        errors: dict = {}

        def add_error(key, message):
            errors.setdefault(key, []).append(ValidationError(message))

        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        # import-export only cleans many-to-many columns when saving, after
        # validation; clean them now so their errors are per-column too.
        for field in self.get_import_fields():
            if (
                isinstance(field.widget, widgets.ManyToManyWidget)
                and not field.readonly
                and field.column_name in row
            ):
                try:
                    field.clean(row, **kwargs)
                except ValueError as exc:
                    add_error(field.attribute, str(exc))
        self.check_row(instance, row, add_error, **kwargs)
        row_number = kwargs.get("row_number")
        for key, column in self.duplicate_keys(instance, row):
            first = self._seen_keys.setdefault(key, row_number)
            if first != row_number:
                add_error(
                    column,
                    _(
                        "%(first)s行目と同じデータです。同じファイルに同じ行を2回書かないでください。"
                    )
                    % {"first": first},
                )
        if errors:
            raise ValidationError(errors)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        """Model.full_clean(), per column, minus needless queries.

        A foreign key a LookupWidget has just fetched exists: Django's
        ForeignKey.validate() would query it again for every row. Such keys
        are left out of field validation; constraints (which involve them,
        e.g. unique name per municipality) are still checked."""
        errors = dict(import_validation_errors or {})
        if self._meta.clean_model_instances:
            fetched = {
                f.attribute
                for f in self.fields.values()
                if isinstance(f.widget, LookupWidget)
                and f.attribute
                and "__" not in f.attribute
                and getattr(instance, f.attribute, None) is not None
            }
            try:
                instance.full_clean(
                    exclude=set(errors) | fetched,
                    validate_unique=validate_unique,
                    validate_constraints=False,
                )
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
            try:
                instance.validate_constraints(exclude={k for k in errors if k != NON_FIELD_ERRORS})
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(self._errors_by_column(ValidationError(errors)))

    def _errors_by_column(self, exc: ValidationError) -> dict:
        columns = {f.attribute: f.column_name for f in self.fields.values() if f.attribute}
        by_column: dict = {}
        for key, messages in exc.error_dict.items():
            by_column.setdefault(columns.get(key, key), []).extend(messages)
        return by_column


@dataclass(frozen=True)
class RowError:
    """One problem of an import: `row` is the data row number (1 = the first
    row under the header; None for the file as a whole), `field` the column."""

    row: int | None
    field: str | None
    message: str


def import_errors(result) -> list[RowError]:
    """Every error of an import_export Result, flattened for display and tests."""
    errors = [RowError(None, None, str(e.error)) for e in result.base_errors]
    for number, row_errors in result.row_errors():
        errors.extend(RowError(number, None, str(e.error)) for e in row_errors)
    for invalid in result.invalid_rows:
        for field, messages in invalid.error_dict.items():
            column = None if field == NON_FIELD_ERRORS else field
            errors.extend(RowError(invalid.number, column, str(m)) for m in messages)
    return sorted(errors, key=lambda e: (e.row or 0, e.field or ""))


# --- exports: formula injection ------------------------------------------------------

_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def defuse(value) -> str:
    """A cell a spreadsheet would run as a formula (starting with = + - @, tab
    or CR), made plain text with a leading quote. import-export's own escaping
    strips only "=", so free text in every export goes through this. A plain
    negative number such as "-3" is left as it is."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text
