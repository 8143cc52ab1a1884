"""The committee's files: the participation table of a 年度 as CSV
(/dashboard/participation.csv) and the needs register as CSV or XLSX.

Both are built as tablib datasets and written through the project's formats
(core.importing.CSV / XLSX), which defuse every text cell (a cell starting
with "=", "+", "-", "@", tab or CR gets a leading apostrophe, so a
spreadsheet shows it instead of running it) and write CSV as UTF-8 with a
BOM, so that Excel opens it as UTF-8 (DESIGN §5). Headers are Japanese: the
files are read by people.
"""

from __future__ import annotations

import json

import tablib
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _

from core.importing import CSV
from core.templatetags.wareki import wareki_fy

from . import participation as p
from .needs import source_label

# --- participation ---------------------------------------------------------------------


def _participation_header() -> list[str]:
    labels = p.group_labels()
    header = [
        _("年度"),
        _("回"),
        _("名称"),
        _("開催日"),
        _("参加者数（延べ）"),
        _("実人数"),
        _("機関数"),
    ]
    for key in p.GROUPS:
        header += [
            _("%(group)s（機関）") % {"group": labels[key]},
            _("%(group)s（人）") % {"group": labels[key]},
        ]
    header += [_("初参加の機関"), _("継続参加の機関")]
    return [str(h) for h in header]


def participation_dataset(data: p.Participation) -> tablib.Dataset:
    """The participation table: one row per meeting, the totals last."""
    dataset = tablib.Dataset(headers=_participation_header())
    year = data.fiscal_year
    for event in data.events:
        row = [year, event.number or "", event.title, event.date.isoformat()]
        row += [event.persons, event.persons, event.organisations]
        for key in p.GROUPS:
            row += [event.group(key).organisations, event.group(key).persons]
        row += [event.first_time, event.returning]
        dataset.append(row)
    totals = data.totals
    row = [
        year,
        "",
        _(
            "合計（機関数は実数。初参加＝今年度初めて参加した機関、継続＝前年度以前にも参加した機関）"
        ),
        "",
        totals.persons,
        totals.distinct_persons,
        totals.distinct_organisations,
    ]
    for key in p.GROUPS:
        row += [totals.group(key).organisations, totals.group(key).persons]
    row += [totals.new_organisations, totals.returning_organisations]
    dataset.append(row)
    return dataset


def participation_csv(data: p.Participation) -> bytes:
    """The bytes of /dashboard/participation.csv (UTF-8 with a BOM, defused)."""
    return CSV().export_data(participation_dataset(data))


def participation_json(data: p.Participation) -> bytes:
    """The bytes of /dashboard/participation.json (the contract, DESIGN §5)."""
    return json.dumps(data.as_json(), ensure_ascii=False).encode("utf-8")


PARTICIPATION_FILES = {"json": participation_json, "csv": participation_csv}


def participation_file(fiscal_year: int, what: str) -> bytes:
    """The JSON or CSV of a 年度, cached under the data version like the
    numbers: while nothing they depend on changed, one query."""
    now = timezone.now()
    version = p.data_version(fiscal_year, now)
    key = p.cache_key(fiscal_year, version, what)
    body = cache.get(key)
    if body is None:
        body = PARTICIPATION_FILES[what](p.cached(fiscal_year, version, now=now))
        cache.set(key, body, p.CACHE_SECONDS)
    return body


# --- the needs register ------------------------------------------------------------------


def _date(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "tzinfo") and value.tzinfo is not None:
        value = timezone.localtime(value)
    return value.strftime("%Y-%m-%d")


def need_dataset(queryset, *, with_raiser: bool) -> tablib.Dataset:
    """One row per need of `queryset` (with committee.needs.with_sources, the
    owner and the raiser selected); the raiser column only when with_raiser
    (committee.access.sees_raisers_in_export). Write it with a format of
    core.importing (surveys.exports.FORMATS), which defuses every cell."""
    headers = [
        _("番号"),
        _("件名"),
        _("内容"),
        _("機能"),
        _("状態"),
        _("担当者"),
        _("期限"),
        _("出どころ"),
        _("年度"),
        _("登録日"),
        _("更新日"),
    ]
    if with_raiser:
        headers.append(_("登録者"))
    dataset = tablib.Dataset(headers=[str(h) for h in headers])
    for need in queryset:
        row = [
            str(need.pk),
            need.title,
            need.text,
            str(need.get_function_display()) if need.function else _("未分類"),
            str(need.get_status_display()),
            str(need.owner) if need.owner_id else "",
            _date(need.due_date),
            source_label(need),
            wareki_fy(need.fiscal_year),
            _date(need.created_at),
            _date(need.updated_at),
        ]
        if with_raiser:
            row.append(str(need.raised_by) if need.raised_by_id else "")
        dataset.append(row)
    return dataset
