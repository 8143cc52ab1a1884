"""The survey results read from the cache (surveys.results.cached, keyed by
surveys.results.data_version and the viewer): a warm results page costs the
data version and the page's own queries at any size; the first view after
anything the figures depend on changes — a response submitted through the
form, a response deleted, texts rewritten, a question or a setting edited —
shows the new figures; and the committee is never served the secretariat's
unsuppressed figures or texts from it. All through the pages, as used."""

import datetime
import pickle
import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from network.models import Organisation
from portal import erasure, retention
from surveys import results as survey_results
from surveys.models import Question, Response, Survey
from tests.factories import OrganisationFactory, region
from tests.survey_factories import InvitationFactory, catalog_survey, submitted_response

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def results_url(survey, **query):
    url = reverse("surveys:results", args=[survey.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def org(kind=Organisation.Kind.CONTRACTOR, region_name="石狩振興局"):
    return OrganisationFactory(kind=kind, municipality=None, region=region(region_name))


def respond(survey, answers, kind=Organisation.Kind.CONTRACTOR):
    return submitted_response(survey, organisation=org(kind), participated=True, answers=answers)


def annual_survey(n: int, **kwargs) -> Survey:
    """The catalog's annual survey with n submitted responses: every third says
    いいえ to continuing, every response writes a comment."""
    survey = catalog_survey("annual", kind=Survey.Kind.ANNUAL, fiscal_year=2022, **kwargs)
    for i in range(n):
        respond(
            survey,
            {
                "attended": "参加したことがある",
                "useful": i % 5 + 1,
                "continue": "いいえ" if i % 3 == 0 else "はい",
                "comments": f"感想{i}",
            },
        )
    return survey


def close(survey):
    survey.closes_at = timezone.now() - datetime.timedelta(minutes=1)
    survey.save(update_fields=["closes_at", "updated_at"])
    return survey


def figures(page):
    """(responses, continue: はい, いいえ) as the page shows them."""
    data = page.context["results"]
    q = data.question("continue")
    return data.answered.display, q.row("はい").cell.display, q.row("いいえ").cell.display


def same_page(page) -> str:
    """The page without what differs per request (the masked CSRF token, the CSP nonce)."""
    return re.sub(r'(csrfmiddlewaretoken" value="|nonce=")[^"]*', r"\1", page.content.decode())


def confirm_and_submit(client, url: str, data: dict):
    """The answering form: 送信する, then この内容で送信する on the confirmation page."""
    page = client.post(url, {"action": "confirm", **data})
    assert page.status_code == 200
    version = re.search(r'name="version" value="([^"]+)"', page.content.decode()).group(1)
    return client.post(url, {"action": "submit", "version": version})


# --- warm views -----------------------------------------------------------------------------


# Session, user, roles (groups, memberships) = 4; the survey = 1; the data
# version = 1. Nothing of the computation (7–9 queries, tests/test_survey_results.py):
# the results come from the cache (LocMem here, Redis in CI's second run: both pickle).
@pytest.mark.parametrize("responses", [5, 60])
@pytest.mark.parametrize(
    ("actor", "by"), [("secretariat", "kind"), ("committee", "kind"), ("committee", "region")]
)
def test_results_warm_view_is_the_version_and_the_page_queries_at_any_size(
    client_for, actors, django_assert_num_queries, responses, actor, by
):
    survey = close(annual_survey(responses))
    client = client_for(actors[actor])
    first = client.get(results_url(survey, by=by))
    assert figures(first)[0] == str(responses)

    with django_assert_num_queries(6):
        warm = client.get(results_url(survey, by=by))

    assert warm.status_code == 200
    assert figures(warm) == figures(first)
    assert same_page(warm) == same_page(first)


def test_results_cached_object_pickles_on_the_configured_cache(secretariat):
    survey = close(annual_survey(7))
    computed = survey_results.compute(survey, secretariat)
    again = pickle.loads(pickle.dumps(computed))
    assert again.question("continue").row("はい").cell.n == 4

    first = survey_results.cached(survey, secretariat)
    stored = survey_results.cached(survey, secretariat)
    # From the cache: a copy (unpickled), with the same figures.
    assert stored is not first
    viewer = survey_results.Viewer.of(secretariat, survey, with_texts=True)
    key = survey_results.cache_key(
        survey, survey_results.data_version(survey), viewer, survey_results.ResultDimension.KIND
    )
    assert cache.get(key) is not None
    assert [t.text for t in stored.question("comments").texts] == [
        t.text for t in first.question("comments").texts
    ]
    assert stored.question("continue").row("いいえ").cell.n == 3


# --- the first view after a change ------------------------------------------------------------


def test_results_show_a_response_submitted_through_the_form(
    client, client_for, secretariat, contractor_member, contractor_org
):
    survey = annual_survey(4)  # open: the secretariat follows it live
    invitation = InvitationFactory(
        survey=survey, user=contractor_member, organisation=contractor_org
    )
    q = {question.key: question for question in survey.questions.all()}
    manager = client_for(secretariat)
    assert figures(manager.get(results_url(survey))) == ("4", "2", "2")

    done = confirm_and_submit(
        client,
        invitation.link,
        {
            f"q{q['attended'].pk}": "参加したことがある",
            f"q{q['useful'].pk}": "4",
            f"q{q['continue'].pk}": "いいえ",
            f"q{q['comments'].pk}": "来年も参加します。",
        },
    )
    assert done.status_code == 302

    page = manager.get(results_url(survey))
    assert figures(page) == ("5", "2", "3")
    assert "来年も参加します。" in page.content.decode()


def test_results_show_a_response_deleted_in_the_admin(client_for, superuser, secretariat):
    survey = annual_survey(4)
    manager = client_for(secretariat)
    assert figures(manager.get(results_url(survey))) == ("4", "2", "2")
    gone = Response.objects.filter(survey=survey).order_by("pk").first()  # 感想0: いいえ

    deleted = client_for(superuser).post(
        reverse("admin:surveys_response_delete", args=[gone.pk]), {"post": "yes"}
    )
    assert deleted.status_code == 302
    assert not Response.objects.filter(pk=gone.pk).exists()

    page = manager.get(results_url(survey))
    assert figures(page) == ("3", "2", "1")
    assert "感想0" not in page.content.decode()


def test_results_show_texts_rewritten_by_the_retention_sweep(client_for, secretariat, settings):
    settings.TSUNAGARI_RETENTION_ANSWER_DAYS = 30
    survey = annual_survey(3)
    Survey.objects.filter(pk=survey.pk).update(
        opens_at=timezone.now() - datetime.timedelta(days=90),
        closes_at=timezone.now() - datetime.timedelta(days=60),
    )
    manager = client_for(secretariat)
    assert "感想1" in manager.get(results_url(survey)).content.decode()

    assert retention.sweep().answers == 3

    page = manager.get(results_url(survey)).content.decode()
    assert "感想1" not in page
    assert retention.expired_text() in page


def test_results_show_texts_rewritten_by_an_erasure(
    client_for, secretariat, contractor_member, contractor_org
):
    survey = annual_survey(3)
    submitted_response(
        survey,
        user=contractor_member,
        organisation=contractor_org,
        answers={"attended": "参加したことがある", "comments": "窓口の田中さんに助けられました"},
    )
    manager = client_for(secretariat)
    assert "窓口の田中さんに助けられました" in manager.get(results_url(survey)).content.decode()

    erased = manager.post(
        reverse("person_erase", args=[contractor_member.pk]), {"email": contractor_member.email}
    )
    assert erased.status_code == 302

    page = manager.get(results_url(survey)).content.decode()
    assert "窓口の田中さんに助けられました" not in page
    assert erasure.erased_text() in page


def test_results_show_an_edited_question(client_for, secretariat):
    survey = annual_survey(4)
    question = survey.questions.get(key="continue")
    manager = client_for(secretariat)
    assert question.text in manager.get(results_url(survey)).content.decode()

    edited = manager.post(
        reverse("surveys:question_edit", args=[survey.pk, question.pk]),
        {
            "text": "来年度も続けてほしいですか",
            "help_text": "",
            "kind": Question.Kind.SINGLE,
            "choices": "\n".join(question.choices),
            "scale_min_label": "",
            "scale_max_label": "",
            "audience": Question.Audience.ALL,
            "condition": "",
            "key": "continue",
        },
    )
    assert edited.status_code == 302

    page = manager.get(results_url(survey))
    assert (
        page.context["results"].question("continue").question.text == "来年度も続けてほしいですか"
    )
    assert "来年度も続けてほしいですか" in page.content.decode()
    assert figures(page) == ("4", "2", "2")


def test_results_show_a_moved_question(client_for, secretariat):
    survey = annual_survey(2)
    question = survey.questions.get(key="continue")
    manager = client_for(secretariat)
    before = manager.get(results_url(survey)).context["results"].question("continue").number

    moved = manager.post(
        reverse("surveys:question_move", args=[survey.pk, question.pk]), {"direction": "up"}
    )
    assert moved.status_code == 302

    after = manager.get(results_url(survey)).context["results"].question("continue").number
    assert after == before - 1


def test_results_show_a_changed_setting(client_for, secretariat):
    """The 年度 of an annual survey decides its year-over-year columns."""
    earlier = annual_survey(3)
    Survey.objects.filter(pk=earlier.pk).update(fiscal_year=2020)
    survey = annual_survey(3)
    manager = client_for(secretariat)
    assert manager.get(results_url(survey)).context["results"].yoy is None

    # The edit page as the secretariat uses it (its form as displayed, one change).
    form = manager.get(reverse("surveys:edit", args=[earlier.pk])).context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    for name in ("opens_at", "closes_at"):
        data[name] = timezone.localtime(getattr(earlier, name)).strftime("%Y-%m-%dT%H:%M")
    data["reminder_days"] = ", ".join(str(d) for d in earlier.reminder_days or [])
    data["fiscal_year"] = 2021
    for name in [n for n, v in data.items() if v is False]:
        data.pop(name)
    saved = manager.post(reverse("surveys:edit", args=[earlier.pk]), data)
    assert saved.status_code == 302, saved.context["form"].errors
    earlier.refresh_from_db()
    assert earlier.fiscal_year == 2021

    yoy = manager.get(results_url(survey)).context["results"].yoy
    assert [s.pk for s in yoy.surveys] == [earlier.pk, survey.pk]


def test_results_export_shows_a_new_response(client_for, secretariat):
    survey = annual_survey(4)
    manager = client_for(secretariat)
    url = reverse("surveys:export", args=[survey.pk, "aggregates", "csv"])
    line = "Q3,情報交換会の継続を希望しますか,単一選択,{n},いいえ,{count},{pct}"
    assert line.format(n=4, count=2, pct="50.0") in manager.get(url).content.decode("utf-8-sig")

    respond(survey, {"attended": "参加したことがある", "continue": "いいえ"})

    after = manager.get(url).content.decode("utf-8-sig")
    assert line.format(n=5, count=3, pct="60.0") in after


# --- one result per viewer ---------------------------------------------------------------------


def test_results_committee_never_gets_the_secretariats_figures_from_the_cache(
    client_for, secretariat, committee_member
):
    survey = close(annual_survey(5))  # continue: はい 3, いいえ 2 → the 2 is hidden
    with_texts = client_for(secretariat).get(results_url(survey))
    assert figures(with_texts) == ("5", "3", "2")
    assert "感想4" in with_texts.content.decode()

    page = client_for(committee_member).get(results_url(survey))

    data = page.context["results"]
    assert data.suppressed is True
    assert figures(page) == ("5", "—", "—")
    assert data.question("comments").texts == []
    assert "感想4" not in page.content.decode()
    # And back: the secretariat's figures are still its own.
    assert figures(client_for(secretariat).get(results_url(survey))) == ("5", "3", "2")


def test_results_committee_export_stays_suppressed_after_the_secretariats(
    client_for, secretariat, committee_member
):
    survey = close(annual_survey(5))
    url = reverse("surveys:export", args=[survey.pk, "aggregates", "csv"])
    secretariat_csv = client_for(secretariat).get(url).content.decode("utf-8-sig")
    committee_csv = client_for(committee_member).get(url).content.decode("utf-8-sig")
    assert "—" not in secretariat_csv
    assert "—" in committee_csv
