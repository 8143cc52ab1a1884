"""What an application's status allows: the truth table of Application's
can_… methods, which the services and the templates ask."""

import pytest

from support.enums import ApplicationStatus as S
from support.models import Application

# status: (accept, hold, decline, withdraw)
TABLE = {
    S.SUBMITTED: (True, True, True, True),
    S.ON_HOLD: (True, False, True, True),
    S.ACCEPTED: (False, False, False, False),
    S.DECLINED: (False, False, False, False),
    S.WITHDRAWN: (False, False, False, False),
    S.COMPLETED: (False, False, False, False),
}


def test_state_table_covers_every_status():
    assert set(TABLE) == set(S)


@pytest.mark.parametrize("status", list(TABLE))
def test_application_status_allows(status):
    app = Application(status=status)
    assert (
        app.can_accept(),
        app.can_hold(),
        app.can_decline(),
        app.can_withdraw(),
    ) == TABLE[status]
