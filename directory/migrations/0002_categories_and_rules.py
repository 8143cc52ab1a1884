"""The ten 困りごと of the navi and a few default category rules.

The rules are only a start: the secretariat edits them in the admin."""

from django.db import migrations

CATEGORIES = [
    ("seikatsu", "生活全般"),
    ("shigoto", "仕事"),
    ("kakei", "家計・借金"),
    ("kazoku", "家族関係"),
    ("sumai", "住まい"),
    ("tabemono", "食べもの"),
    ("kokoro", "こころ・からだ"),
    ("kodomo", "子ども・学習"),
    ("boryoku", "暴力・虐待"),
    ("shogai_kaigo", "障がい・介護"),
]

# (layout or "", column or "" for the name, pattern or "" for every row, category)
RULES = [
    ("", "", "社会福祉協議会", "seikatsu"),
    ("", "", "社協", "seikatsu"),
    ("", "", "自立相談", "seikatsu"),
    ("", "", "ハローワーク", "shigoto"),
    ("", "", "就労", "shigoto"),
    ("", "", "消費生活", "kakei"),
    ("", "", "配偶者暴力", "boryoku"),
    ("", "", "児童相談所", "boryoku"),
    ("", "", "保健センター", "kokoro"),
    ("", "", "フードバンク", "tabemono"),
    ("", "", "子育て支援", "kodomo"),
    ("", "", "地域包括支援センター", "shogai_kaigo"),
    ("care_service", "", "", "shogai_kaigo"),
    ("preschool", "", "", "kodomo"),
]


def load(apps, schema_editor):
    Category = apps.get_model("directory", "Category")
    CategoryRule = apps.get_model("directory", "CategoryRule")
    by_key = {}
    for order, (key, name) in enumerate(CATEGORIES, start=1):
        by_key[key], _ = Category.objects.update_or_create(
            key=key, defaults={"name": name, "order": order}
        )
    if CategoryRule.objects.exists():
        return
    CategoryRule.objects.bulk_create(
        CategoryRule(
            layout=layout, column=column, pattern=pattern, category=by_key[key], order=order
        )
        for order, (layout, column, pattern, key) in enumerate(RULES, start=1)
    )


def unload(apps, schema_editor):
    apps.get_model("directory", "CategoryRule").objects.all().delete()
    apps.get_model("directory", "Category").objects.filter(
        key__in=[key for key, _ in CATEGORIES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("directory", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
