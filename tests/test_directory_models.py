"""The directory's models: reference data of the migrations, scoping, rules."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from directory.enums import ImportLayout, ServiceStatus
from directory.importing import import_directory
from directory.models import (
    Category,
    CategoryRule,
    Location,
    Provider,
    Service,
    ServiceAtLocation,
)

from .factories import municipality


def make_window(name, status=ServiceStatus.ACTIVE):
    provider = Provider.objects.create(name=f"{name}の運営者")
    service = Service.objects.create(provider=provider, name=name, status=status)
    location = Location.objects.create(name=name, municipality=municipality())
    return ServiceAtLocation.objects.create(service=service, location=location)


def test_category_migration_loads_the_ten_troubles(db):
    assert list(Category.objects.values_list("name", flat=True)) == [
        "生活全般",
        "仕事",
        "家計・借金",
        "家族関係",
        "住まい",
        "食べもの",
        "こころ・からだ",
        "子ども・学習",
        "暴力・虐待",
        "障がい・介護",
    ]


def test_category_rule_migration_seeds_the_defaults(db):
    rules = {(r.layout, r.column, r.pattern): r.category.name for r in CategoryRule.objects.all()}

    assert rules[("", "", "社会福祉協議会")] == "生活全般"
    assert rules[(ImportLayout.CARE_SERVICE, "", "")] == "障がい・介護"
    assert rules[(ImportLayout.PRESCHOOL, "", "")] == "子ども・学習"


def test_service_at_location_public_shows_only_active_services(db):
    active = make_window("受付中の窓口")
    make_window("休止中の窓口", ServiceStatus.INACTIVE)
    make_window("終了した窓口", ServiceStatus.DEFUNCT)

    assert list(ServiceAtLocation.objects.public()) == [active]
    assert list(Service.objects.public()) == [active.service]
    assert active.service.is_public is True


def test_service_at_location_is_unique_per_service_and_location(db):
    window = make_window("窓口")

    with pytest.raises(IntegrityError):
        ServiceAtLocation.objects.create(service=window.service, location=window.location)


def test_location_coordinates_are_validated(db):
    location = Location(name="どこか", latitude=91, longitude=-181)

    with pytest.raises(ValidationError) as raised:
        location.full_clean()

    assert sorted(raised.value.message_dict) == ["latitude", "longitude"]


def test_category_rule_edited_in_the_admin_decides_the_category(db):
    CategoryRule.objects.create(
        layout="",
        column="description",
        pattern="食料",
        category=Category.objects.get(key="tabemono"),
    )
    raw = (
        "municipality_code,name,description\r\n"
        "011002,さっぽろ窓口,食料の支援\r\n"
        "011002,別の窓口,住まいの相談\r\n"
    ).encode()

    result = import_directory(raw=raw)

    assert result.errors == []
    by_name = {s.name: [c.key for c in s.categories.all()] for s in Service.objects.all()}
    assert by_name == {"さっぽろ窓口": ["tabemono"], "別の窓口": []}


def test_municipality_code_check_digit_holds_for_every_hokkaido_code(db):
    from directory.importing import municipality_code
    from network.models import Municipality

    codes = list(Municipality.objects.values_list("code", flat=True))

    assert len(codes) == 179
    assert [c for c in codes if municipality_code(c[:5]) != c] == []


@pytest.mark.parametrize(
    "model",
    [
        "category",
        "categoryrule",
        "provider",
        "service",
        "location",
        "serviceatlocation",
        "phone",
        "schedule",
    ],
)
def test_directory_admin_lists_and_opens_every_model(admin_client, model):
    window = make_window("管理画面の窓口")
    window.phones.create(number="011-000-0000")
    window.schedules.create(weekday="mon")

    listing = admin_client.get(f"/admin/directory/{model}/")
    adding = admin_client.get(f"/admin/directory/{model}/add/")

    from django.apps import apps

    assert (listing.status_code, adding.status_code) == (200, 200)
    name = apps.get_model("directory", model)._meta.verbose_name
    assert f"<title>変更する {name} を選択 |" in listing.content.decode()
