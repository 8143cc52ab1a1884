"""The check-in search: folded keys matched by prefix on the index (event, key),
kept by the services that write registrations (docs/events.md, Check-in search)."""

import importlib
import io
import re

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from core.text import fold, fold_words
from events import services
from events.models import Event, Registration, RegistrationSearchKey
from network.models import Organisation

from .event_factories import EventFactory, RegistrationFactory
from .factories import MembershipFactory, OrganisationFactory, UserFactory
from .queries import assert_flat_query_count

pytestmark = pytest.mark.django_db


def checkin_url(event):
    return reverse("events:checkin", args=[event.pk])


@pytest.fixture
def manager(client_for, secretariat):
    return client_for(secretariat)


@pytest.fixture
def event():
    return EventFactory(venue_capacity=None)


def member(organisation, **user):
    return MembershipFactory(
        organisation=organisation, **{f"user__{k}": v for k, v in user.items()}
    )


def found(client, event, q) -> list[int]:
    return [r.pk for r in client.get(checkin_url(event), {"q": q}).context["page_obj"]]


def keys_of(registration) -> set[str]:
    return set(
        RegistrationSearchKey.objects.filter(registration=registration).values_list(
            "key", flat=True
        )
    )


# --- the folding --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("ヤマダ ハナコ", "やまだはなこ"),  # katakana as hiragana, spaces removed
        ("ﾔﾏﾀﾞ ﾊﾅｺ", "やまだはなこ"),  # half-width katakana (a phone keyboard), voiced
        ("ＨＡＮＡＫＯ．Ｙ＠ＥＸ", "hanako.y@ex"),  # full-width letters, lower case
        ("山田　花子", "山田花子"),  # the ideographic space
        ("ヴァイオリン", "ゔぁいおりん"),
        ("サービス", "さーびす"),  # the long vowel mark stays
        ("㈱北海道", "(株)北海道"),
    ],
)
def test_fold_folds_kana_width_case_and_spaces(typed, folded):
    assert fold(typed) == folded


def test_fold_words_splits_a_query_at_any_space():
    assert fold_words(" ﾔﾏﾀﾞ　ハナ  Sato ") == ["やまだ", "はな", "sato"]
    assert fold_words("") == []


# --- what a search finds ---------------------------------------------------------------------


@pytest.fixture
def people(event, secretariat):
    """Three registrations written by the services (which write their keys)."""
    npo = OrganisationFactory(
        name="NPO法人さっぽろ子ども支援ネット", kana="さっぽろこどもしえんねっと"
    )
    tech = OrganisationFactory(name="株式会社北のテック", kana="きたのてっく")
    yamada = member(
        npo,
        full_name="山田 花子",
        full_name_kana="やまだ はなこ",
        email="hanako.yamada@city.example.jp",
    ).user
    sato = member(
        tech, full_name="佐藤 花男", full_name_kana="さとう はなお", email="hanao@example.org"
    ).user
    # No space between surname and given name, and no organisation (added by the secretariat).
    suzuki = UserFactory(
        full_name="鈴木一郎", full_name_kana="すずきいちろう", email="ichiro@example.net"
    )
    return {
        "yamada": services.register(event=event, user=yamada, mode="venue").pk,
        "sato": services.register(event=event, user=sato, mode="online").pk,
        "suzuki": services.register(event=event, user=suzuki, mode="venue", by=secretariat).pk,
    }


@pytest.mark.parametrize(
    ("query", "who"),
    [
        ("山田", ["yamada"]),  # surname
        ("花子", ["yamada"]),  # given name
        ("やまだ", ["yamada"]),  # kana
        ("ハナコ", ["yamada"]),  # kana typed in katakana
        ("ﾔﾏﾀﾞ", ["yamada"]),  # … in half-width katakana
        ("やまだはな", ["yamada"]),  # surname and given name without the space
        ("はな やまだ", ["yamada"]),  # every word must match, in any order
        ("ＨＡＮＡＫＯ．ＹＡＭ", ["yamada"]),  # e-mail, full-width and upper case
        ("yamada@city", ["yamada"]),  # a word of the e-mail's local part
        ("city.example", ["yamada"]),  # the e-mail's domain
        ("さっぽろ子ども", ["yamada"]),  # organisation, its legal form left out
        ("サッポロコドモ", ["yamada"]),  # organisation kana
        ("NPO法人さっぽろ", ["yamada"]),  # organisation as written
        ("北のテック", ["sato"]),
        ("キタノ", ["sato"]),
        ("一郎", ["suzuki"]),  # a name written without a space, from any character
        ("はな", ["sato", "yamada"]),  # many hits, in kana order
        # Prefix, not substring: the middle of a word of an organisation or e-mail.
        ("子ども支援", []),
        ("テック", []),
        ("mada", []),
        ("だれもいない", []),
    ],
)
def test_checkin_search_key_finds_by_prefix_of_each_field(manager, event, people, query, who):
    assert found(manager, event, query) == [people[name] for name in who]


def test_checkin_search_key_finds_nothing_of_other_events_or_cancelled(manager, event, people):
    other = EventFactory(venue_capacity=None)
    elsewhere = RegistrationFactory(event=other, user__full_name="山田 花子")
    Registration.objects.filter(pk=elsewhere.pk).index_for_search()
    yamada = Registration.objects.get(pk=people["yamada"])
    services.cancel_registration(registration=yamada, by=yamada.user)

    assert found(manager, event, "山田") == []
    assert found(manager, other, "山田") == [elsewhere.pk]
    # The cancelled registration keeps its keys (the search filters active ones).
    assert "山田花子" in keys_of(yamada)


def test_checkin_search_key_written_by_register_from_the_person_and_organisation(event):
    organisation = OrganisationFactory(name="江別市 生活支援課", kana="えべつし せいかつしえんか")
    user = member(
        organisation, full_name="江別 太郎", full_name_kana="えべつ たろう", email="t.ebetsu@x.jp"
    ).user

    registration = services.register(event=event, user=user, mode="venue")

    assert keys_of(registration) == {
        "江別太郎",
        "太郎",
        "えべつたろう",
        "たろう",
        "t.ebetsu@x.jp",
        "ebetsu@x.jp",
        "x.jp",
        "江別市生活支援課",
        "生活支援課",
        "えべつしせいかつしえんか",
        "せいかつしえんか",
    }
    assert set(
        RegistrationSearchKey.objects.filter(registration=registration).values_list(
            "event_id", flat=True
        )
    ) == {event.pk}


def test_checkin_search_key_of_a_guest_and_of_a_confirmed_request(manager, secretariat):
    event = EventFactory(audience=Event.Audience.PUBLIC, venue_capacity=None)
    account = UserFactory(email="owner@example.org", full_name="本人 名義", full_name_kana="")
    guest = services.register_guest(
        event=event,
        email="walkin@example.org",
        full_name="一般 参加者",
        full_name_kana="いっぱん さんかしゃ",
        organisation_name="江別市民活動センター",
        mode="venue",
    )
    request = services.register_guest(
        event=event,
        email="OWNER@example.org",
        full_name="だれか 別人",
        full_name_kana="",
        organisation_name="",
        mode="venue",
    )

    confirmed = services.confirm_guest(token=request.raw_token)

    assert confirmed.user == account
    # The account's own name, never what was typed into the public form.
    assert keys_of(confirmed) == {"本人名義", "名義", "owner@example.org", "example.org"}
    assert found(manager, event, "江別市民") == [guest.pk]
    assert found(manager, event, "別人") == []


# --- cost ------------------------------------------------------------------------------------


def test_checkin_search_key_query_count_is_flat(django_assert_num_queries, manager):
    event = EventFactory(venue_capacity=None)
    target = RegistrationFactory(event=event, user__full_name="検索 対象子")

    def add(n):
        RegistrationFactory.create_batch(n, event=event, user__full_name="ほか 大勢")
        Registration.objects.filter(event=event).index_for_search()

    # A one-hit query among 1 and 50 others: the same 8 queries (session,
    # user, groups, memberships; event; counts; count; page).
    add(1)
    Registration.objects.filter(pk=target.pk).index_for_search()
    for more in (0, 49):
        add(more)
        with django_assert_num_queries(8):
            response = manager.get(checkin_url(event), {"q": "対象"})
        assert [r.pk for r in response.context["page_obj"]] == [target.pk]


def test_checkin_search_key_many_hit_query_count_is_flat(django_assert_num_queries, manager):
    event = EventFactory(venue_capacity=None)

    def add(n):
        RegistrationFactory.create_batch(
            n, event=event, user__full_name="受付 花子", user__full_name_kana="うけつけ はなこ"
        )
        Registration.objects.filter(event=event).index_for_search()

    assert_flat_query_count(
        django_assert_num_queries,
        manager,
        checkin_url(event) + "?q=はなこ+受付",
        add,
        8,
        lambda response: len(response.context["page_obj"]),
    )


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The tables are tiny here: make the planner show the index it can use.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def test_checkin_search_key_prefix_uses_the_event_key_index(event):
    RegistrationFactory.create_batch(3, event=event)
    Registration.objects.filter(event=event).index_for_search()

    plan = _plan(Registration.objects.filter(event=event).matching("やまだ", event=event))

    if connection.vendor == "postgresql":
        # LIKE 'やまだ%' as a range of the varchar_pattern_ops index.
        assert re.search(r"Index (Only )?Scan using regkey_event_key", plan), plan
        assert re.search(r"Index Cond: .*event_id = .*key.*~>=~ 'やまだ'", plan), plan
    else:
        assert "SEARCH U0 USING INDEX regkey_event_key (event_id=? AND key>? AND key<?)" in plan
        assert "SCAN" not in plan, plan


# --- keeping the keys ----------------------------------------------------------------------------


class _SchemaEditor:
    connection = connection


def test_checkin_search_key_migration_fills_existing_rows_in_batches(monkeypatch, event):
    migration = importlib.import_module("events.migrations.0006_registration_search_key")
    monkeypatch.setattr(migration, "BATCH", 2)
    organisation = OrganisationFactory(
        name="北の会", kana="きたのかい", kind=Organisation.Kind.OTHER
    )
    rows = [
        RegistrationFactory(event=event, user__full_name=f"既存 {name}", user__full_name_kana="")
        for name in ("一子", "二子", "三子")
    ]
    Registration.objects.filter(pk=rows[0].pk).update(organisation=organisation)

    migration.fill_search_keys(apps, _SchemaEditor())

    assert {r.pk: keys_of(r) for r in rows} == {
        rows[0].pk: {"既存一子", "一子", rows[0].user.email, "example.org", "北の会", "きたのかい"},
        rows[1].pk: {"既存二子", "二子", rows[1].user.email, "example.org"},
        rows[2].pk: {"既存三子", "三子", rows[2].user.email, "example.org"},
    }


def test_index_checkin_search_command_rebuilds_one_events_keys(event):
    other = EventFactory()
    mine = RegistrationFactory(event=event, user__full_name="旧姓 花子", user__full_name_kana="")
    theirs = RegistrationFactory(event=other, user=mine.user)
    Registration.objects.filter(pk__in=[mine.pk, theirs.pk]).index_for_search()
    type(mine.user).objects.filter(pk=mine.user_id).update(full_name="新姓 花子")

    call_command("index_checkin_search", "--event", str(event.pk), stdout=io.StringIO())

    email = mine.user.email
    assert keys_of(mine) == {"新姓花子", "花子", email, "example.org"}
    assert keys_of(theirs) == {"旧姓花子", "花子", email, "example.org"}
