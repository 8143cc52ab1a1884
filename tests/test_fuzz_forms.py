"""Hostile and random input at every form and page people submit (Hypothesis).

"Bad input gets a clear error in Japanese and writes nothing." Each test
takes one form's valid payload (or one page's query string) and lets
Hypothesis replace, drop and add fields with hostile values: NUL and other
control characters, lone surrogates (sent as the raw bytes a browser would
never send), right-to-left and zero-width marks, full-width digits, numbers
no database integer holds, very long strings, markup, CSV and mail-header
injection. Every example is checked for the same properties:

- the response is never a 500: the test client re-raises an unhandled
  exception, so Hypothesis shrinks it to the smallest input that breaks;
- the status is one a person can be shown (200, 302, 400, 403, 404, 405, 410,
  429), and an HTML error page says in Japanese what happened;
- a form shown again with errors gives each error in Japanese, and the page
  shows it;
- when the input was refused (a 4xx, or a form shown again with errors) the
  database is exactly as it was (tests/snapshots.py: row counts and a hash
  of every row of every table, and the mail outbox).

Every example runs inside a savepoint that is rolled back, so an accepted
example (the valid payload, a honeypot) leaves nothing behind for the next.

More examples: TSUNAGARI_FUZZ_EXAMPLES=500 sets every test's max_examples;
TSUNAGARI_FUZZ_PROFILE=fuzz-deep also draws fresh random inputs on each run
instead of the fixed, derandomized ones CI uses (docs/testing.md, "Fuzzing").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import urllib.parse
from contextlib import contextmanager

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import transaction
from django.forms import BaseForm, BaseFormSet
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django_filters import FilterSet
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from core.dates import current_fiscal_year
from events.models import Event
from network.models import Program
from note.enums import RoomKind

from . import snapshots
from . import support_factories as sf
from .event_factories import EventFactory, RegistrationFactory, SessionFactory
from .factories import municipality
from .note_factories import TopicFactory, room
from .survey_factories import InvitationFactory, QuestionFactory, SurveyFactory

pytestmark = pytest.mark.django_db

# --- Hypothesis settings ------------------------------------------------------------------

settings.register_profile(
    "fuzz",
    database=None,  # no example database: every run, on every machine, tries the same inputs
    derandomize=True,
    deadline=None,
    print_blob=False,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # each example is rolled back (example() below)
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
settings.register_profile(
    "fuzz-deep", parent=settings.get_profile("fuzz"), derandomize=False, max_examples=500
)
PROFILE = settings.get_profile(os.environ.get("TSUNAGARI_FUZZ_PROFILE", "fuzz"))
EXAMPLES = int(os.environ.get("TSUNAGARI_FUZZ_EXAMPLES", "0"))


def fuzz(max_examples: int):
    """The settings of one test: its own number of examples unless the
    environment asks for more."""
    if EXAMPLES:
        max_examples = EXAMPLES
    elif PROFILE.max_examples > 100:  # fuzz-deep
        max_examples = PROFILE.max_examples
    return settings(PROFILE, max_examples=max_examples)


# --- hostile values -----------------------------------------------------------------------

SPECIALS = [
    "",
    " ",
    "\u3000",  # ideographic space
    "\x00",
    "a\x00b",
    "\x00" * 3,
    "\ud800",  # a lone surrogate: sent as raw bytes, decoded by Django as U+FFFD
    "abc\udfff",
    "\u202eevil\u202c",  # right-to-left override
    "\u200f\u200e",  # RTL/LTR marks
    "\u200b\ufeff",  # zero-width space, BOM
    "\u2028\u2029",
    "\r\nBcc: victim@example.org",
    "２０２１",  # full-width digits
    "１２３",
    "٣",  # Arabic-Indic digit
    "-1",
    "0",
    "1.5",
    "1e309",
    "NaN",
    "-inf",
    "9" * 40,
    "-" + "9" * 40,
    "2147483648",
    "9223372036854775808",
    "0x10",
    "' OR 1=1 --",
    '"; DROP TABLE network_user; --',
    "<script>alert(1)</script>",
    "{{ request }}{% debug %}",
    "%s%n%x",
    '=HYPERLINK("http://x")',
    "../../../etc/passwd",
    "\U0001f600\U0001f469\u200d\U0001f4bb",
    "e\u0301",
    "ｱｲｳｴｵ",
    "null",
    "[]",
    "{}",
    "true",
    "2021-02-30",
    "9999-12-31T23:59",
    "a@b",
    "a" * 300 + "@example.org",
]

# Characters that break things: controls, formats, surrogates, separators,
# digits of other scripts, combining marks, CJK.
_odd_characters = st.characters(
    codec=None, categories=["Cc", "Cf", "Cs", "Zl", "Zp", "Zs", "Nd", "Mn", "Lo", "So"]
)

# Longer than any field takes (the long ones built lazily: a strategy's repr stays short).
long_strings = st.tuples(
    st.sampled_from(["あ", "x", "\x00", "\u202e"]), st.sampled_from([201, 5000, 70000])
).map(lambda t: t[0] * t[1])

# A NUL byte somewhere in an otherwise ordinary value: the classic PostgreSQL 500.
with_nul = st.tuples(
    st.sampled_from(["", "seikatsu", "011002", "2021", "あ"]), st.text(max_size=3)
).map(lambda t: t[0] + "\x00" + t[1])

hostile = st.one_of(
    st.sampled_from(SPECIALS),
    with_nul,
    long_strings,
    st.text(max_size=30),
    st.text(_odd_characters, max_size=30),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.tuples(st.sampled_from(SPECIALS), st.text(_odd_characters, max_size=5)).map("".join),
)
hostile_value = st.one_of(hostile, st.lists(hostile, min_size=0, max_size=3))


def mutations(base: dict, extra_keys=(), known=None):
    """The valid payload `base` with some fields dropped, some replaced by
    hostile values (or, for a key in `known`, by one of its other meaningful
    values) and some unknown ones added."""
    known = known or {}
    keys = sorted({*base, *extra_keys, *known, "csrfmiddlewaretoken", "action", "page"})

    def value_for(key):
        if key in known:
            return st.one_of(st.sampled_from(known[key]), hostile_value)
        return hostile_value

    changes = st.lists(
        st.sampled_from(keys).flatmap(lambda key: st.tuples(st.just(key), value_for(key))),
        max_size=5,
    ).map(dict)
    drops = st.sets(st.sampled_from(sorted(base)), max_size=len(base)) if base else st.just(set())
    return st.tuples(drops, changes).map(
        lambda t: {**{k: v for k, v in base.items() if k not in t[0]}, **t[1]}
    )


# --- sending what a browser would not -----------------------------------------------------


def _quote(value) -> str:
    # surrogatepass: a lone surrogate goes out as its (invalid UTF-8) bytes.
    return urllib.parse.quote_from_bytes(str(value).encode("utf-8", "surrogatepass"), safe="")


def urlencoded(data: dict) -> str:
    pairs = []
    for key, value in data.items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            pairs.append(f"{_quote(key)}={_quote(item)}")
    return "&".join(pairs)


def post_form(client, url: str, data: dict):
    return client.post(
        url, urlencoded(data).encode("ascii"), content_type="application/x-www-form-urlencoded"
    )


def get_query(client, url: str, params: dict):
    query = urlencoded(params)
    return client.get(f"{url}?{query}" if query else url)


# --- the properties -----------------------------------------------------------------------

ALLOWED_STATUSES = {200, 302, 400, 403, 404, 405, 410, 429}
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]")


class _Rollback(Exception):
    pass


@contextmanager
def example():
    """One example: a clean cache (rate limits) and outbox, a savepoint rolled back."""
    cache.clear()
    if hasattr(mail, "outbox"):
        mail.outbox.clear()
    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass


def forms_in(response) -> list[BaseForm]:
    """Every bound form (filter forms and formset forms too) the page rendered."""
    found, seen = [], set()

    def add(form):
        if isinstance(form, BaseForm) and form.is_bound and id(form) not in seen:
            seen.add(id(form))
            found.append(form)

    contexts = response.context
    if contexts is None:
        return []
    if not isinstance(contexts, list):
        contexts = [contexts]
    for context in contexts:
        for value in context.flatten().values():
            if isinstance(value, FilterSet):
                add(value.form)
            elif isinstance(value, BaseFormSet):
                for form in value.forms:
                    add(form)
            else:
                add(value)
    return found


def error_messages(form: BaseForm) -> list[str]:
    return [message for errors in form.errors.values() for message in errors]


def check(response, before) -> bool:
    """Assert the properties; True when the input was refused."""
    status = response.status_code
    assert status in ALLOWED_STATUSES, status
    body = response.content.decode("utf-8", "replace")
    html = response.get("Content-Type", "").startswith("text/html")
    if status >= 400 and html and body:
        assert JAPANESE.search(body), f"{status} page without Japanese text"
    refused = status >= 400
    if currently_in_test_context():
        event(f"{status}")  # --hypothesis-show-statistics: the statuses seen
    for form in forms_in(response):
        messages = error_messages(form)
        if not messages:
            continue
        refused = True
        for message in messages:
            assert JAPANESE.search(message), f"{type(form).__name__}: not Japanese: {message!r}"
            assert escape(message) in body, f"{type(form).__name__}: not shown: {message!r}"
    if refused:
        assert snapshots.take().changes_from(before) == []
    return refused


# What a GET may write: the navi counts its searches (directory.stats, for the
# committee's figures).
GET_MAY_WRITE = ("directory_searchtally:",)


def read_only_changes(before) -> list[str]:
    """The changes since `before` that a page that only reads must not make."""
    return [c for c in snapshots.take().changes_from(before) if not c.startswith(GET_MAY_WRITE)]


def submit(client, url: str, data: dict, *, method: str = "post") -> bool:
    """Send `data` and check the properties; call it inside example()."""
    before = snapshots.take()
    if method == "post":
        response = post_form(client, url, data)
    else:
        response = get_query(client, url, data)
    return check(response, before)


# --- the forms people submit -------------------------------------------------------------
#
# A case builds what its form needs and returns (who posts, where, the valid
# payload, other field names worth trying, {field: other meaningful values}).


def join_request_case(actors):
    payload = {
        "organisation_name": "釧路くらしの相談室",
        "organisation_kana": "くしろくらしのそうだんしつ",
        "kind": "support",
        "municipality": str(municipality("012068").pk),
        "programs": [str(p.pk) for p in Program.objects.order_by("order")[:2]],
        "contact_name": "申請 七海",
        "contact_kana": "しんせい ななみ",
        "contact_email": "nanami@example.org",
        "contact_phone": "0154-00-0000",
        "message": "ネットワークに参加したいです。",
        "website": "",
    }
    known = {"kind": ["contractor", "municipality", "support"]}
    return None, reverse("network:join_request"), payload, [], known


def guest_registration_case(actors):
    meeting = EventFactory(audience=Event.Audience.PUBLIC, has_social=True)
    session = SessionFactory(event=meeting, capacity=3)
    payload = {
        "full_name": "一般 参加者",
        "full_name_kana": "いっぱん さんかしゃ",
        "email": "guest@example.net",
        "organisation_name": "NPO法人 どさんこ",
        "mode": "venue",
        "session": str(session.pk),
        "social": "yes",
        "question": "地域の居場所づくりについて",
        "website": "",
    }
    known = {"mode": ["venue", "online"], "social": ["yes", "no"]}
    return None, reverse("events:register_guest", args=[meeting.pk]), payload, [], known


def member_registration_case(actors):
    meeting = EventFactory(has_social=True)
    session = SessionFactory(event=meeting, capacity=3)
    payload = {"mode": "venue", "session": str(session.pk), "social": "yes", "question": "質問"}
    known = {"mode": ["venue", "online"], "social": ["yes", "no"]}
    url = reverse("events:register", args=[meeting.pk])
    return actors["contractor_member"], url, payload, ["organisation"], known


def survey_answer_case(actors):
    survey = SurveyFactory()
    scale = QuestionFactory(survey=survey, kind="scale", required=True)
    number = QuestionFactory(survey=survey, kind="number", text="相談件数", required=False)
    multiple = QuestionFactory(
        survey=survey, kind="multiple", choices=["A", "B"], allow_other=True, required=False
    )
    single = QuestionFactory(survey=survey, kind="single", choices=["はい", "いいえ"])
    text = QuestionFactory(survey=survey, kind="text", text="ご意見", required=False)
    invitation = InvitationFactory(survey=survey, user=actors["contractor_member"])
    payload = {
        "action": "save",
        f"q{scale.pk}": "4",
        f"q{number.pk}": "12",
        f"q{multiple.pk}": ["A", "その他"],
        f"q{multiple.pk}_other": "見学",
        f"q{single.pk}": "はい",
        f"q{text.pk}": "また参加したいです。",
    }
    known = {"action": ["save", "confirm", "submit", "back"], "version": ["", "2021-01-01"]}
    # The secret link needs no login: anonymous, like a mailed link opened anywhere.
    return None, invitation.link, payload, ["q999999999", f"q{text.pk}_other"], known


def note_topic_case(actors):
    payload = {
        "title": "家計改善の初回面談で聞くこと",
        "body": "初回の面談で、どこまで聞けばよいか迷っています。",
        "tags": "家計 初任者",
        "programs": [str(Program.objects.order_by("order").first().pk)],
        "is_anonymous": "on",
    }
    url = reverse("note:topic_create", args=[room(RoomKind.NETWORK).pk])
    extra = ["regions", "organisation", "confirm_not_real_person"]
    return actors["contractor_member"], url, payload, extra, {}


def note_reply_case(actors):
    topic = TopicFactory(author=actors["contractor_member"])
    payload = {"body": "うちでは最初に家計簿を一緒につけます。"}
    extra = ["is_anonymous", "organisation", "confirm_not_real_person"]
    return actors["municipal_member"], reverse("note:topic", args=[topic.pk]), payload, extra, {}


def support_apply_case(actors):
    menu = sf.menu(number=3)
    organisation = actors["contractor_member"].memberships.get().organisation
    payload = {
        "organisation": str(organisation.pk),
        "need": "相談記録の付け方を職員で統一したい。",
        "wanted_by": "",
        "contact_name": "受託 花子",
        "contact_email": "npo@example.org",
        "contact_phone": "",
    }
    url = reverse("support:apply", args=[menu.number])
    return actors["contractor_member"], url, payload, ["confirm_not_real_person"], {}


def need_create_case(actors):
    payload = {"text": "研修の案内が届かない", "status": "new", "fiscal_year": "2021"}
    known = {"fiscal_year": ["2016", "2015", str(current_fiscal_year() + 2)]}
    url = reverse("dashboard:need_create")
    return actors["committee"], url, payload, ["owner", "event", "function", "note"], known


def registration_edit_case(actors):
    meeting = EventFactory()
    registration = RegistrationFactory(
        event=meeting, user=actors["contractor_member"], question="前の質問"
    )
    payload = {"mode": "online", "question": "新しい質問"}
    url = reverse("events:registration_edit", args=[registration.pk])
    return actors["contractor_member"], url, payload, ["session", "social"], {}


def organisation_edit_case(actors):
    organisation = actors["org_admin"].memberships.get().organisation
    payload = {
        "name": "札幌生活サポートセンター（新）",
        "kana": "さっぽろせいかつさぽーとせんたー",
        "municipality": str(municipality("011002").pk),
        "programs": [str(Program.objects.order_by("order").first().pk)],
        "email": "info@example.org",
        "phone": "011-000-0000",
        "website": "https://example.org/",
        "address": "札幌市中央区",
        "description": "相談支援をしています。",
    }
    known = {"website": ["javascript:alert(1)", "http://", "ftp://example.org"]}
    url = reverse("network:organisation_edit", args=[organisation.pk])
    return actors["org_admin"], url, payload, ["kind", "is_active"], known


def staff_invite_case(actors):
    organisation = actors["org_admin"].memberships.get().organisation
    payload = {
        "email": "new.staff@example.org",
        "full_name": "新人 六子",
        "full_name_kana": "しんじん むつこ",
        "staff_role": "sodan",
        "experience": "lt1",
    }
    url = reverse("network:staff_invite", args=[organisation.pk])
    return actors["org_admin"], url, payload, ["is_org_admin"], {}


def support_session_case(actors):
    menu = sf.menu(number=7)
    engagement = sf.engagement(sf.application(menu, actors["contractor_member"]))
    partner = sf.partner_member(menu)
    payload = {
        "held_on": timezone.localdate().isoformat(),
        "duration_minutes": "90",
        "mode": "visit",
        "done": "受け渡しの流れを職員と確認した。",
        "next_steps": "来月に2回目。",
        "partner_hours": "2.5",
    }
    known = {"partner_hours": ["0", "-1", "1e3", "2.55", "NaN"], "held_on": ["2021-02-29"]}
    url = reverse("support:session_create", args=[engagement.pk])
    return partner, url, payload, ["coordination_hours", "confirm_not_real_person"], known


def accept_invitation_case(actors):
    from network.models import Invitation

    from .factories import MembershipFactory

    membership = MembershipFactory(user__email="invited@example.org")
    membership.user.set_unusable_password()
    membership.user.save()
    token, token_hash = Invitation.new_token()
    Invitation.objects.create(
        membership=membership, token_hash=token_hash, expires_at=Invitation.default_expiry()
    )
    payload = {
        "new_password1": "tsunagari-Hokkaido-2026",
        "new_password2": "tsunagari-Hokkaido-2026",
    }
    return None, reverse("network:accept_invitation", args=[token]), payload, [], {}


FORM_CASES = {
    "join_request": (join_request_case, 25),
    "guest_registration": (guest_registration_case, 25),
    "member_registration": (member_registration_case, 25),
    "survey_answer": (survey_answer_case, 25),
    "note_topic": (note_topic_case, 25),
    "note_reply": (note_reply_case, 25),
    "support_apply": (support_apply_case, 25),
    "need_create": (need_create_case, 25),
    "registration_edit": (registration_edit_case, 25),
    "organisation_edit": (organisation_edit_case, 25),
    "staff_invite": (staff_invite_case, 25),
    "support_session": (support_session_case, 25),
    "accept_invitation": (accept_invitation_case, 20),
}


@pytest.mark.parametrize("case", sorted(FORM_CASES))
def test_each_forms_valid_payload_writes(client_for, actors, case):
    """The fuzz tests start from payloads that are accepted: a refusal they
    find is the hostile value's doing, and "writes nothing" can fail."""
    make, _ = FORM_CASES[case]
    with example():
        user, url, payload, _, _ = make(actors)
        client = client_for(user)  # logging in stamps last_login: before the snapshot
        before = snapshots.take()
        response = post_form(client, url, payload)
        assert not check(response, before), [f.errors for f in forms_in(response)]
        assert snapshots.take().changes_from(before) != []


def _form_fuzz(case):
    make, examples = FORM_CASES[case]

    @fuzz(examples)
    @given(data=st.data())
    def run(client_for, actors, data):
        with example():
            user, url, payload, extra, known = make(actors)
            submit(client_for(user), url, data.draw(mutations(payload, extra, known)))

    return run


@pytest.mark.parametrize("case", sorted(FORM_CASES))
def test_form_fuzz(client_for, actors, case):
    _form_fuzz(case)(client_for, actors)


# --- query strings: ?page=, ?fy=, ?q= and every filter -----------------------------------

QUERY_KEYS = [
    "page",
    "fy",
    "fiscal_year",
    "q",
    "region",
    "municipality",
    "program",
    "kind",
    "status",
    "format",
    "theme",
    "when",
    "show",
    "tab",
    "reply",
    "mode",
    "org",
    "owner",
    "source",
    "function",
    "menu",
    "by",
    "as",
    "from",
    "answered",
    "org_kind",
    "is_org_admin",
    "contact",
    "regenerate",
    "c",
    "r",
    "lat",
    "lon",
]
QUERY_KNOWN = {
    "page": ["1", "2", "last", "0", "-1", "999999999999", "1.0"],
    "fy": ["2021", "２０２１", "2015", " 2021 ", "+2021", "2_021"],
    "when": ["past", "upcoming"],
    "lat": ["43.06", "-91", "1e400", "nan"],
    "lon": ["141.35", "181", "inf"],
    "c": ["seikatsu", "nothing", "seikatsu\x00"],
    "r": ["1", "0"],
}


@pytest.fixture
def world(actors):
    """One of each object a page with an id in its path needs."""
    meeting = EventFactory(audience=Event.Audience.PUBLIC)
    SessionFactory(event=meeting, capacity=3)
    survey = SurveyFactory()
    QuestionFactory(survey=survey, kind="single", choices=["はい", "いいえ"])
    InvitationFactory(survey=survey, user=actors["contractor_member"])
    topic = TopicFactory(author=actors["contractor_member"])
    menu = sf.menu(number=3)
    return {"event": meeting, "survey": survey, "topic": topic, "menu": menu}


# (URL name, args from the world, who asks, the parameters the page reads)
PAGES = [
    ("home", None, "contractor_member", ("fy",)),
    (
        "events:list",
        None,
        "anonymous",
        ("fiscal_year", "kind", "region", "theme", "format", "when"),
    ),
    ("events:list", None, "contractor_member", ("fiscal_year", "region", "theme", "when")),
    ("events:detail", "event", "anonymous", ()),
    ("events:mine", None, "contractor_member", ("when",)),
    ("events:calendar_settings", None, "contractor_member", ("regenerate",)),
    ("events:manage_list", None, "secretariat", ("fiscal_year", "status", "kind", "q")),
    ("events:registrations", "event", "secretariat", ("status", "mode", "session", "q")),
    ("events:checkin", "event", "secretariat", ("q", "mode")),
    ("events:register", "event", "contractor_member", ()),
    (
        "network:organisation_list",
        None,
        "contractor_member",
        ("q", "region", "municipality", "kind", "program"),
    ),
    ("network:people_list", None, "secretariat", ("q", "kind", "is_org_admin", "contact")),
    ("network:join_request_list", None, "secretariat", ("status",)),
    ("network:manage_home", None, "secretariat", ()),
    ("surveys:list", None, "contractor_member", ()),
    ("surveys:answer", "survey", "contractor_member", ("org",)),
    ("surveys:manage_list", None, "secretariat", ("q", "fiscal_year", "kind", "status")),
    ("surveys:create", None, "secretariat", ("template", "kind", "event", "fiscal_year")),
    ("surveys:results", "survey", "secretariat", ("by",)),
    ("surveys:results", "survey", "committee", ("by",)),
    ("surveys:invitations", "survey", "secretariat", ("q", "answered", "org_kind")),
    ("surveys:preview", "survey", "secretariat", ("as",)),
    ("note:home", None, "contractor_member", ()),
    ("note:search", None, "contractor_member", ("q",)),
    ("note:mine", None, "contractor_member", ("tab",)),
    ("note:entries", None, "contractor_member", ("q", "program", "function", "region")),
    ("note:topic", "topic", "contractor_member", ("reply",)),
    ("note:room", "room", "contractor_member", ("show", "q")),
    ("note:manage_queue", None, "secretariat", ()),
    ("directory:home", None, "anonymous", ()),
    ("directory:search", None, "anonymous", ("q", "r", "c")),
    ("directory:near", None, "anonymous", ("c", "lat", "lon")),
    ("directory:export_hsds", None, "anonymous", ()),
    ("directory:freshness", None, "secretariat", ("q", "region", "status")),
    ("support:menus", None, "contractor_member", ()),
    ("support:applications", None, "contractor_member", ()),
    (
        "support:manage_applications",
        None,
        "secretariat",
        ("fy", "menu", "status", "kind", "region"),
    ),
    ("dashboard:home", None, "committee", ("fy",)),
    ("dashboard:participation_json", None, "committee", ("fy",)),
    ("dashboard:participation_csv", None, "committee", ("fy",)),
    (
        "dashboard:needs",
        None,
        "committee",
        ("q", "status", "function", "fiscal_year", "source", "owner", "fy"),
    ),
    ("dashboard:need_create", None, "committee", ("fy", "event", "question")),
]


def _page_url(world, name, what):
    if what is None:
        return reverse(name)
    if what == "room":
        return reverse(name, args=[room(RoomKind.NETWORK).pk])
    if what == "menu":
        return reverse(name, args=[world["menu"].number])
    return reverse(name, args=[world[what].pk])


def _param(key):
    values = st.sampled_from(QUERY_KNOWN[key]) if key in QUERY_KNOWN else st.nothing()
    return st.tuples(st.just(key), st.one_of(values, hostile_value))


def query_strings(page_keys):
    """Mostly the parameters the page reads (and ?page=), now and then any other."""
    keys = st.one_of(st.sampled_from([*page_keys, "page"]), st.sampled_from(QUERY_KEYS))
    return st.lists(keys.flatmap(_param), min_size=1, max_size=4).map(dict)


@fuzz(80)
@given(data=st.data())
def test_query_string_fuzz(client_for, actors, world, data):
    """GET a list or search page with hostile query parameters; a filter that
    refuses a value says so in Japanese, and a GET never writes."""
    name, what, actor, keys = data.draw(st.sampled_from(PAGES), label="page")
    params = data.draw(query_strings(keys), label="params")
    with example():
        client = client_for(actors[actor])  # logging in stamps last_login: before the snapshot
        before = snapshots.take()
        response = get_query(client, _page_url(world, name, what), params)
        check(response, before)
        assert read_only_changes(before) == []


# --- path parameters: tokens, codes, slugs ------------------------------------------------

# (path with {} for the segment, who asks). Tokens and codes are looked up in
# the database as text: a NUL byte there is refused by PostgreSQL.
PATHS = [
    ("/surveys/r/{}/", "anonymous"),
    ("/events/registrations/confirm/{}/", "anonymous"),
    ("/events/calendar/{}.ics", "anonymous"),
    ("/network/invitation/{}/", "anonymous"),
    ("/navi/c/{}/", "anonymous"),
    ("/navi/c/seikatsu/m/{}/", "anonymous"),
    ("/navi/c/seikatsu/r/{}/", "anonymous"),
    ("/navi/w/{}/", "anonymous"),
    ("/navi/export/{}.csv", "anonymous"),
    ("/note/casebook/{}/", "contractor_member"),
    ("/events/manage/{event}/export.{}", "secretariat"),
    ("/surveys/{survey}/export/{}.csv", "secretariat"),
    ("/surveys/{survey}/export/responses.{}", "secretariat"),
    ("/dashboard/needs/export.{}", "committee"),
    ("/support/manage/export/applications.{}", "secretariat"),
    ("/note/manage/{}/1/approve/", "secretariat"),
]


@fuzz(40)
@given(path=st.sampled_from(PATHS), segment=hostile, method=st.sampled_from(["get", "post"]))
def test_path_segment_fuzz(client_for, actors, world, path, segment, method):
    template, actor = path
    quoted = _quote(segment.replace("/", "")) or "x"
    url = template.format(quoted, event=world["event"].pk, survey=world["survey"].pk)
    with example():
        client = client_for(actors[actor])
        before = snapshots.take()
        response = getattr(client, method)(url)
        refused = check(response, before)
        if not refused and method == "post":
            return
        assert read_only_changes(before) == []


def _routes(patterns=None, prefix=""):
    from django.urls import URLResolver, get_resolver

    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern)


# Every route of the project with an id in it (Django's admin aside).
INT_ROUTES = sorted(
    route for route in _routes() if "<int:" in route and not route.startswith(("admin/", "^"))
)
ints = st.one_of(
    st.sampled_from(["0", "1", "2147483648", "9223372036854775808", "9" * 40]),
    st.integers(min_value=0, max_value=2**80).map(str),
)


@pytest.mark.parametrize("actor", ["secretariat", "contractor_member"])
def test_every_id_route_refuses_an_id_beyond_64_bits(client_for, actors, actor):
    """The sweep behind test_int_path_fuzz: every route once, so none is left
    to chance."""
    client = client_for(actors[actor])
    before = snapshots.take()
    answers = {}
    for route in INT_ROUTES:
        path = "/" + re.sub(r"<int:\w+>", "9" * 40, route)
        path = re.sub(r"<str:\w+>", "csv", re.sub(r"<slug:\w+>", "seikatsu", path))
        for method in ("get", "post"):
            answers[method, route] = getattr(client, method)(path).status_code
    assert {key: status for key, status in answers.items() if status not in (302, 404, 405)} == {}
    assert read_only_changes(before) == []


@fuzz(40)
@given(
    route=st.sampled_from(INT_ROUTES),
    number=ints,
    method=st.sampled_from(["get", "post"]),
    actor=st.sampled_from(["secretariat", "contractor_member", "anonymous"]),
)
def test_int_path_fuzz(client_for, actors, route, number, method, actor):
    """Every URL with an id, with ids no row has and no integer column holds
    (SQLite cannot bind one beyond 64 bits): a 404 (or the login page), never a 500."""
    path = "/" + re.sub(r"<int:\w+>", number, route)
    path = re.sub(r"<str:\w+>", "csv", re.sub(r"<slug:\w+>", "seikatsu", path))
    with example():
        client = client_for(actors[actor])
        before = snapshots.take()
        response = getattr(client, method)(path)
        refused = check(response, before)
        if refused or method == "get":
            assert read_only_changes(before) == []


# --- the CSV/XLSX uploads: random bytes -----------------------------------------------------

ATTENDANCE_HEADER = (
    "event_id,email,full_name,full_name_kana,organisation,organisation_kind,"
    "municipality_code,mode,social,attended"
)
DIRECTORY_HEADER = "都道府県コード又は市区町村コード,NO,都道府県名,市区町村名,名称,名称_カナ,住所,緯度,経度,電話番号"


def _encoded(text: str, codec: str) -> bytes:
    if codec == "utf-8":
        return text.encode("utf-8", "surrogatepass")
    return text.encode(codec, "replace")


def csv_files(header: str):
    """A header the importer knows and rows of hostile cells, in an encoding."""
    rows = st.lists(st.lists(hostile, min_size=1, max_size=12).map(",".join), max_size=4)
    return st.builds(
        lambda rows, codec, bom: (
            (b"\xef\xbb\xbf" if bom else b"") + _encoded("\r\n".join([header, *rows]), codec)
        ),
        rows,
        st.sampled_from(["utf-8", "cp932", "utf-16", "latin-1"]),
        st.booleans(),
    )


def upload_contents(header: str):
    return st.one_of(
        st.binary(max_size=2000),
        st.binary(max_size=500).map(lambda b: b"PK\x03\x04" + b),  # a broken zip (XLSX)
        csv_files(header),
    )


upload_names = st.one_of(
    st.sampled_from(
        ["a.csv", "a.xlsx", "A.CSV", "a.txt", "a.xls", "a", ".csv", "名簿.csv", "a.csv.exe"]
    ),
    st.tuples(hostile, st.sampled_from([".csv", ".xlsx"])).map(
        lambda t: t[0].replace("/", "").replace("\\", "")[:200] + t[1]
    ),
)

UPLOADS_TO_FUZZ = {
    "events:import": ATTENDANCE_HEADER,
    "directory:import": DIRECTORY_HEADER,
}


@fuzz(40)
@given(
    where=st.sampled_from(sorted(UPLOADS_TO_FUZZ)),
    data=st.data(),
)
def test_upload_fuzz(client_for, secretariat, where, data):
    """An upload only previews: whatever the file, nothing is written."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    content = data.draw(upload_contents(UPLOADS_TO_FUZZ[where]))
    name = data.draw(upload_names)
    with example():
        client = client_for(secretariat)
        before = snapshots.take()
        # The test client cannot send a lone surrogate in a file name; U+FFFD
        # is what Django makes of one.
        name = name.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        upload = SimpleUploadedFile(name or "x", content, content_type="text/csv")
        response = client.post(reverse(where), {"file": upload})
        check(response, before)
        assert snapshots.take().changes_from(before) == []


# --- the LINE webhook: random bodies, bad signatures -----------------------------------------

LINE_SECRET = "fuzz-channel-secret"


def _sign(body: bytes) -> str:
    return base64.b64encode(hmac.new(LINE_SECRET.encode(), body, hashlib.sha256).digest()).decode()


def _json_containers(children):
    return st.one_of(st.lists(children, max_size=3), st.dictionaries(hostile, children, max_size=3))


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), hostile),
    _json_containers,
    max_leaves=10,
)


# A nested part of an event: what LINE sends, or something else in its place.
def _part(fields: dict, optional: dict | None = None):
    return st.one_of(
        st.fixed_dictionaries(fields, optional=optional or {}),
        st.sampled_from([{}, [], "", None, 0, {"type": None}, {"type": []}]),
        json_values,
    )


line_events = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "postback", "follow", "unfollow", "beacon", "x"])},
    optional={
        "mode": st.sampled_from(["active", "standby"]) | hostile,
        "timestamp": st.integers() | hostile,
        "source": _part(
            {"type": st.just("user"), "userId": st.sampled_from(["U" + "0" * 32]) | hostile}
        ),
        "webhookEventId": hostile,
        "deliveryContext": _part({"isRedelivery": st.booleans()}),
        "replyToken": hostile,
        "postback": _part(
            {"data": st.sampled_from(["c=kurashi", "c=seikatsu&r=1", "m=011002"]) | hostile}
        ),
        "message": _part(
            {"type": st.sampled_from(["text", "location", "sticker"]) | hostile},
            {
                "id": hostile,
                "text": hostile,
                "latitude": st.floats() | hostile,
                "longitude": st.floats() | hostile,
            },
        ),
    },
)
webhook_bodies = st.lists(line_events, min_size=1, max_size=3).map(
    lambda events: json.dumps({"destination": "U" + "1" * 32, "events": events}).encode()
)
line_bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    webhook_bodies,
    webhook_bodies,  # twice: most bodies look like a webhook's
)


@pytest.fixture
def line_api(settings):
    from .test_directory_line import StubLine

    stub = StubLine()
    settings.LINE_CHANNEL_SECRET = LINE_SECRET
    settings.LINE_CHANNEL_ACCESS_TOKEN = "fuzz-token"
    settings.LINE_API_BASE = stub.url
    yield stub
    stub.close()


@fuzz(60)
@given(
    body=line_bodies,
    # Mostly signed: the parsing behind the signature check is what a signed
    # body reaches.
    signature=st.one_of(
        st.just("valid"), st.just("valid"), st.none(), hostile.filter(lambda s: s.isascii())
    ),
)
def test_line_webhook_fuzz(client, line_api, body, signature):
    """A body with a missing or wrong signature is 400 and acted on in no way;
    a signed one with nonsense in it is 200 or 400, never a 500."""
    headers = {}
    if signature == "valid":
        headers["X-Line-Signature"] = _sign(body)
    elif signature is not None:
        headers["X-Line-Signature"] = signature
    with example():
        before = snapshots.take()
        response = client.post(
            reverse("directory:line_webhook"),
            data=body,
            content_type="application/json",
            headers=headers,
        )
        assert response.status_code in (200, 400)
        if signature != "valid":
            assert response.status_code == 400
        if response.status_code == 400:
            assert snapshots.take().changes_from(before) == []


# --- bugs the fuzzing found, pinned -------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        {"type": "message", "message": {}},  # the SDK: KeyError 'type'
        {"type": "message", "message": []},  # the SDK: TypeError
        {"type": "message", "message": "text"},
        {"type": "follow", "source": {}},
        {"type": "postback", "source": [], "postback": {"data": "c=kurashi"}},
    ],
)
def test_bug_line_webhook_signed_event_with_a_malformed_part_is_400_not_500(
    client, line_api, event
):
    """Found by test_line_webhook_fuzz: a signed event whose message or source
    is not an object with a "type" made the LINE SDK raise KeyError/TypeError
    (not the ValueError directory.line.parse_webhook caught): a 500."""
    body = json.dumps({"destination": "U" + "1" * 32, "events": [event]}).encode()
    before = snapshots.take()
    response = client.post(
        reverse("directory:line_webhook"),
        data=body,
        content_type="application/json",
        headers={"X-Line-Signature": _sign(body)},
    )
    assert (response.status_code, snapshots.take().changes_from(before)) == (400, [])
    assert line_api.requests == []


@pytest.mark.parametrize(
    "where,payload",
    [
        ("network:join_request", {"website": "\x00"}),
        ("network:join_request", {"website": "x" * 201}),
        ("events:register_guest", {"website": "a\x00b"}),
        ("events:register_guest", {"website": "a\x1bb"}),
    ],
)
def test_bug_honeypot_filled_with_anything_is_discarded_like_a_person(
    client, actors, where, payload
):
    """Found by test_form_fuzz[join_request]: a honeypot holding a NUL byte, a
    control character or more than 200 characters showed the form again with
    an error in the hidden field (no person could see it, and a bot learnt it
    was caught). Now every filled honeypot is answered as for a person and
    writes nothing."""
    if where == "network:join_request":
        _, url, base, _, _ = join_request_case(actors)
    else:
        _, url, base, _, _ = guest_registration_case(actors)
    before = snapshots.take()
    response = post_form(client, url, {**base, **payload})
    assert response.status_code in (200, 302)
    assert [f.errors for f in forms_in(response) if f.errors] == []
    assert snapshots.take().changes_from(before) == []


@pytest.mark.parametrize(
    "url",
    [
        "/navi/search/?c=%00",
        "/navi/search/?q=%E7%94%9F%E6%B4%BB&c=seikatsu%00",
        "/navi/near/?c=%00&lat=43.06&lon=141.35",
        "/navi/c/seikatsu/m/%00/",
        "/navi/c/seikatsu%00/",
        "/navi/export/%00.csv",
        "/navi/export/011002%00.csv",
    ],
)
def test_bug_navi_nul_byte_in_a_key_is_not_a_500_on_postgresql(client, url):
    """Found by test_query_string_fuzz and test_path_segment_fuzz on
    PostgreSQL (SQLite compares the text happily): a NUL byte in ?c= or in a
    municipality code went into the query, and psycopg refused it
    (DataError: PostgreSQL text fields cannot contain NUL (0x00) bytes)."""
    before = snapshots.take()
    response = client.get(url)
    assert response.status_code in (200, 404)
    assert JAPANESE.search(response.content.decode())
    assert read_only_changes(before) == []


@pytest.mark.parametrize("pk", ["9" * 40, "9223372036854775808"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_bug_survey_answer_with_an_id_no_database_holds_is_404_not_500(
    client_for, contractor_member, pk, method
):
    """Found by test_int_path_fuzz: /surveys/<id>/answer/ filtered the
    invitations on survey_id with the raw id, and a foreign-key lookup gets
    none of Django's out-of-range handling: SQLite raised OverflowError (a
    500) for an id beyond 64 bits."""
    client = client_for(contractor_member)
    before = snapshots.take()
    response = getattr(client, method)(f"/surveys/{pk}/answer/")
    assert (response.status_code, snapshots.take().changes_from(before)) == (404, [])
    assert JAPANESE.search(response.content.decode())
