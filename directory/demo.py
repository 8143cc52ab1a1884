"""Directory part of `manage.py seed_demo` (demo and development only): a
few sample windows across several 振興局 and every top 困りごと. Every name,
number and address is invented and marked サンプル (is_sample, and the
word in the name), so nobody mistakes them for real windows.

Idempotent: every record is found again by its source_key (demo:…).
"""

from __future__ import annotations

import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from network.models import Municipality, Program

from . import indexing
from .models import Category, Location, Phone, Provider, Schedule, Service, ServiceAtLocation

WEEK = ("mon", "tue", "wed", "thu", "fri")

# name, municipality, categories, programs, description, days, opens, closes, lat, lon
SAMPLES = [
    (
        "くらしサポートセンターさっぽろ（サンプル）",
        "札幌市",
        ["seikatsu", "kakei", "shigoto"],
        ["jiritsu_sodan"],
        "生活のこまりごと、家計や借金、仕事のことを まとめて 相談できます。相談は無料です。",
        WEEK,
        (8, 45),
        (17, 15),
        43.0621,
        141.3544,
    ),
    (
        "就労準備サポートあさひかわ（サンプル）",
        "旭川市",
        ["shigoto"],
        ["shuro_junbi"],
        "就労に向けた準備をいっしょに進めます。生活リズム、履歴書、面接の練習。",
        WEEK,
        (9, 0),
        (17, 0),
        43.7706,
        142.3650,
    ),
    (
        "家計改善相談室はこだて（サンプル）",
        "函館市",
        ["kakei"],
        ["kakei_kaizen"],
        "家計の見直し、滞納や借金の整理を相談できます。",
        ("tue", "thu"),
        (10, 0),
        (16, 0),
        41.7687,
        140.7288,
    ),
    (
        "住まいの相談窓口くしろ（サンプル）",
        "釧路市",
        ["sumai"],
        ["jukyo_kakuho", "kyoju_shien"],
        "家賃が払えない、住む家がない、家を出なければならないときの相談。住居確保給付金の申請。",
        WEEK,
        (9, 0),
        (17, 0),
        42.9849,
        144.3820,
    ),
    (
        "フードバンク窓口おびひろ（サンプル）",
        "帯広市",
        ["tabemono"],
        [],
        "食べものに困ったときに、食料を お渡しします。まずは電話で相談してください。",
        ("sat",),
        (10, 0),
        (15, 0),
        42.9236,
        143.1966,
    ),
    (
        "こころの相談室きたみ（サンプル）",
        "北見市",
        ["kokoro"],
        [],
        "眠れない、不安がつづく、からだの調子が悪いときの相談。",
        ("mon", "wed", "fri"),
        (13, 0),
        (18, 0),
        43.8030,
        143.8908,
    ),
    (
        "子どもの学習支援教室おたる（サンプル）",
        "小樽市",
        ["kodomo"],
        ["kodomo_gakushu"],
        "小学生・中学生の勉強と居場所。家庭の相談もできます。",
        ("wed", "fri"),
        (16, 0),
        (19, 0),
        43.1907,
        140.9947,
    ),
    (
        "家族関係の相談窓口むろらん（サンプル）",
        "室蘭市",
        ["kazoku"],
        [],
        "家族とのことで こまったときの相談。介護や子育ての悩みも。",
        WEEK,
        (9, 0),
        (16, 0),
        42.3152,
        140.9738,
    ),
    (
        "暴力・虐待の相談ダイヤルさっぽろ（サンプル）",
        "札幌市",
        ["boryoku", "kazoku"],
        [],
        "家の中の暴力、虐待、つきまといの相談。秘密は守ります。",
        (*WEEK, "sat", "sun"),
        (0, 0),
        (23, 59),
        43.0642,
        141.3469,
    ),
    (
        "障がい・介護の総合相談わっかない（サンプル）",
        "稚内市",
        ["shogai_kaigo"],
        [],
        "障がいのある人、介護が必要な人と その家族の相談。",
        WEEK,
        (8, 30),
        (17, 0),
        45.4156,
        141.6731,
    ),
    (
        "くらしサポートセンターいわみざわ（サンプル）",
        "岩見沢市",
        ["seikatsu", "kakei"],
        ["jiritsu_sodan", "kakei_kaizen"],
        "生活全般の相談と、家計の相談。",
        WEEK,
        (8, 45),
        (17, 15),
        43.1960,
        141.7757,
    ),
    (
        "一時生活支援シェルターさっぽろ（サンプル）",
        "札幌市",
        ["sumai", "seikatsu"],
        ["kyoju_shien"],
        "今夜 泊まるところがない人の一時的な住まいと食事。",
        (*WEEK, "sat", "sun"),
        (9, 0),
        (21, 0),
        43.0570,
        141.3400,
    ),
]


def seed_directory() -> str:
    today = timezone.localdate()
    categories = {c.key: c for c in Category.objects.all()}
    programs = {p.key: p for p in Program.objects.all()}
    towns = {m.name: m for m in Municipality.objects.filter(name__in={s[1] for s in SAMPLES})}
    window_ids, created = [], 0
    for number, (name, town, cats, progs, text, days, opens, closes, lat, lon) in enumerate(
        SAMPLES, start=1
    ):
        key = f"demo:{number}"
        municipality = towns[town]
        provider, _new = Provider.objects.update_or_create(
            source_key=key,
            defaults={
                "name": _("つながりサンプル法人（%(town)s）") % {"town": town},
                "is_sample": True,
            },
        )
        service, new = Service.objects.update_or_create(
            source_key=key,
            defaults={
                "provider": provider,
                "name": name,
                "description": text,
                "fees": _("無料"),
                "application_process": _("まず電話してください。相談の日と時間を決めます。"),
                "verified_on": today - datetime.timedelta(days=30 * number),
                "is_sample": True,
            },
        )
        created += new
        service.categories.set([categories[c] for c in cats])
        service.programs.set([programs[p] for p in progs])
        service.service_area.set([municipality])
        location, _new = Location.objects.update_or_create(
            source_key=key,
            defaults={
                "name": name,
                "address": _("%(town)s サンプル町%(n)s丁目（架空の住所）")
                % {"town": town, "n": number},
                "municipality": municipality,
                "latitude": lat,
                "longitude": lon,
            },
        )
        window, _new = ServiceAtLocation.objects.get_or_create(service=service, location=location)
        window.phones.all().delete()
        window.schedules.all().delete()
        Phone.objects.create(service_at_location=window, number=f"0120-000-{number:03d}")
        Schedule.objects.bulk_create(
            Schedule(
                service_at_location=window,
                weekday=day,
                opens_at=datetime.time(*opens),
                closes_at=datetime.time(*closes),
            )
            for day in days
        )
        window_ids.append(window.pk)
    indexing.refresh(window_ids)
    return _("ナビのサンプル窓口: %(n)s か所（新規 %(created)s）") % {
        "n": len(window_ids),
        "created": created,
    }
