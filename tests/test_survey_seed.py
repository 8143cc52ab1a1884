"""seed_demo's FY2021 effect-verification survey (surveys/demo.py) reproduces
the seed's Ⅳ. Every figure is computed through surveys/results.py from the
stored answers, as the results page shows them, not read from constants."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.urls import reverse

from events.models import Event, Registration
from network.models import User
from surveys import results as survey_results
from surveys.models import Answer, Invitation, Question, Response, Survey


def seed() -> str:
    out = StringIO()
    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        output = seed()
        yield output
        transaction.set_rollback(True)


def fy2021_survey() -> Survey:
    return Survey.objects.get(kind=Survey.Kind.ANNUAL, fiscal_year=2021)


def secretariat() -> User:
    return User.objects.get(email="secretariat@example.org")


def figures() -> dict:
    """The seed's figures as the results page computes them (secretariat)."""
    survey = fy2021_survey()
    data = survey_results.compute(survey, secretariat())
    kind = {c.key: c for c in data.question("attended").crosstab.columns}
    attended = data.question("attended").crosstab.rows[0]
    columns = [c.key for c in data.question("attended").crosstab.columns]
    useful = data.question("useful")
    cont = data.question("continue")
    fmt = data.question("format")
    return {
        "invited": data.invited.n,
        "answered": data.answered.n,
        "by_kind": (kind["municipal"].total.n, kind["contractor"].total.n),
        "attended": data.question("attended").row("参加したことがある").cell.n,
        "attended_by_kind": (
            attended.cells[columns.index("municipal")].n,
            attended.cells[columns.index("contractor")].n,
        ),
        "useful": (useful.top.n, useful.answered.n, useful.top.pct),
        "continue": (cont.row("はい").cell.n, cont.answered.n, cont.row("はい").cell.pct),
        "format_n": fmt.answered.n,
        "themed": (
            fmt.row("テーマ別ディスカッション").cell.n,
            fmt.row("テーマ別ディスカッション").cell.pct,
        ),
        "lecture": (fmt.row("講師を招いた勉強会").cell.n, fmt.row("講師を招いた勉強会").cell.pct),
        "rates": {r.key: (r.invited.n, r.answered.n) for r in data.rate_rows},
    }


def counts() -> dict:
    return {
        "surveys": Survey.objects.count(),
        "questions": Question.objects.count(),
        "invitations": Invitation.objects.count(),
        "responded": Invitation.objects.filter(responded_at__isnull=False).count(),
        "responses": Response.objects.count(),
        "answers": Answer.objects.count(),
        "answer_values": sorted(
            Answer.objects.values_list("question__key", "choice", "number", "text")
        ),
    }


@pytest.mark.django_db
def test_survey_seed_has_47_responses_15_municipal_32_contractor(seeded):
    f = figures()
    assert f["answered"] == 47
    assert f["by_kind"] == (15, 32)
    assert "回答 47件：自治体 15・受託団体 32" in seeded


@pytest.mark.django_db
def test_survey_seed_37_of_47_attended_7_of_15_and_30_of_32(seeded):
    f = figures()
    assert f["attended"] == 37
    assert f["attended_by_kind"] == (7, 30)


@pytest.mark.django_db
def test_survey_seed_over_90_percent_useful_over_80_percent_continue(seeded):
    f = figures()
    top, answered, pct = f["useful"]
    assert answered == 37  # asked of those who attended
    assert pct > 90 and (top, pct) == (34, Decimal("91.9"))
    yes, answered, pct = f["continue"]
    assert answered == 47
    assert pct > 80 and (yes, pct) == (39, Decimal("83.0"))


@pytest.mark.django_db
def test_survey_seed_format_percentages_are_over_the_35_who_answered(seeded):
    f = figures()
    assert f["format_n"] == 35
    assert f["themed"] == (22, Decimal("62.9"))
    assert f["lecture"] == (17, Decimal("48.6"))


@pytest.mark.django_db
def test_survey_seed_invitations_show_non_responders(seeded):
    f = figures()
    assert f["rates"]["municipal"] == (49, 15)
    assert f["rates"]["contractor"][1] == 32
    assert f["rates"]["contractor"][0] > 32
    assert f["invited"] > f["answered"]
    survey = fy2021_survey()
    assert survey.is_closed and survey.status == Survey.Status.PUBLISHED
    assert survey.by_organisation and not survey.anonymous


@pytest.mark.django_db
def test_survey_seed_participation_agrees_with_the_answers_and_the_municipal_records(seeded):
    survey = fy2021_survey()
    attended = set(
        Answer.objects.filter(
            question__survey=survey, question__key="attended", choice="参加したことがある"
        ).values_list("response_id", flat=True)
    )
    for response in survey.responses.all():
        assert response.participated == (response.pk in attended)
    # 自治体: whoever said they came has a counted-as-present registration, and vice versa.
    present = set()
    for event in Event.objects.filter(kind=Event.Kind.EXCHANGE, fiscal_year=2021):
        present |= set(
            Registration.objects.counted_as_present(event).values_list("organisation_id", flat=True)
        )
    for response in survey.responses.filter(organisation_kind="municipality"):
        assert response.participated == (response.organisation_id in present)


@pytest.mark.django_db
def test_survey_seed_comments_and_other_wishes_from_the_seed(seeded):
    data = survey_results.compute(fy2021_survey(), secretariat())
    comments = [t.text for t in data.question("comments").texts]
    assert "主任相談支援員同士のつながりが欲しい。" in comments
    assert (
        "他市町村の取り組み状況や課題を伺い情報を共有することができて非常に有意義でした。"
        in comments
    )
    others = [t.text for t in data.question("format").texts]
    assert "同様の状況にある他機関の相談員との情報交換" in others


@pytest.mark.django_db
def test_survey_seed_results_page_shows_the_figures(seeded, client_for):
    survey = fy2021_survey()
    committee = User.objects.get(email="committee@example.org")

    page = client_for(committee).get(reverse("surveys:results", args=[survey.pk]))

    html = page.content.decode()
    assert page.status_code == 200
    for text in ("91.9%", "83.0%", "62.9%", "48.6%"):
        assert text in html
    assert "主任相談支援員同士のつながりが欲しい。" not in html  # committee: aggregates only


@pytest.mark.django_db
def test_survey_seed_second_run_changes_nothing(seeded):
    before_figures, before_counts = figures(), counts()
    seed()
    assert figures() == before_figures
    assert counts() == before_counts


@pytest.mark.django_db
def test_survey_seed_admin_pages_open(seeded, client_for):
    """The admin lists and shows the seeded survey; responses and answers are read-only."""
    client = client_for(User.objects.get(email="admin@example.org", is_superuser=True))
    survey = fy2021_survey()
    response = survey.responses.first()
    pages = [
        "/admin/surveys/survey/",
        f"/admin/surveys/survey/{survey.pk}/change/",
        "/admin/surveys/survey/add/",
        "/admin/surveys/question/",
        f"/admin/surveys/question/{survey.questions.first().pk}/change/",
        "/admin/surveys/invitation/",
        "/admin/surveys/invitation/?q=example.org",
        f"/admin/surveys/invitation/{survey.invitations.first().pk}/change/",
        "/admin/surveys/response/",
        "/admin/surveys/response/?organisation_kind__exact=municipality",
        f"/admin/surveys/response/{response.pk}/change/",
        "/admin/surveys/answer/",
        "/admin/surveys/answer/?q=主任",
    ]
    for url in pages:
        assert client.get(url).status_code == 200, url
    detail = client.get(f"/admin/surveys/response/{response.pk}/change/").content.decode()
    assert "参加したことが" in detail  # the answers inline
    for model in ("invitation", "response", "answer"):
        assert client.get(f"/admin/surveys/{model}/add/").status_code == 403
