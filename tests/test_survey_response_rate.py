"""The response rate: one function (surveys.results.percent), rounded half up
to one decimal, on the survey list, the survey's overview and the results page
alike. 1 of 16 is 6.25%: float round() made it 6.2 on the list while the
results page said 6.3."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from surveys.results import percent

from .survey_factories import InvitationFactory, SurveyFactory, submitted_response

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "n, base, expected",
    [
        (0, 0, None),
        (1, 16, Decimal("6.3")),
        (1, 3, Decimal("33.3")),
        (2, 3, Decimal("66.7")),
        (1, 1, Decimal("100.0")),
    ],
)
def test_percent_rounds_half_up_to_one_decimal(n, base, expected):
    assert percent(n, base) == expected


def test_percent_keeps_one_decimal_place():
    assert [str(percent(n, base)) for n, base in [(1, 16), (1, 1), (0, 7)]] == [
        "6.3",
        "100.0",
        "0.0",
    ]


@pytest.fixture
def one_of_sixteen():
    survey = SurveyFactory(title="十六人に聞いたアンケート")
    invitations = InvitationFactory.create_batch(16, survey=survey)
    submitted_response(survey, invitation=invitations[0])
    return survey


def test_response_rate_of_one_in_sixteen_is_the_same_on_every_page(
    client_for, secretariat, one_of_sixteen
):
    client = client_for(secretariat)

    listing = client.get(reverse("surveys:manage_list")).content.decode()
    overview = client.get(reverse("surveys:detail", args=[one_of_sixteen.pk])).content.decode()
    results = client.get(reverse("surveys:results", args=[one_of_sixteen.pk])).content.decode()

    list_cells = re.findall(r'data-label="回答率">([^<]*)</td>', listing)
    assert list_cells == ["6.3%"]
    assert "（回答率 6.3%）" in overview
    stat = re.search(
        r'<div class="muted small">回答率</div>\s*<div class="stat">([^<]*)</div>', results
    )
    assert stat.group(1) == "6.3%"
    assert "6.2%" not in listing + overview + results
