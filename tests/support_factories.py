"""Factories for the back-up menus, shared by every support test.

`menu()` makes a menu (with a partner organisation unless told otherwise);
`application()` submits one through the service, as a member would;
`engagement()` accepts one through the service, as the secretariat would;
`session()` records one through the service, as the partner would. Going
through the services keeps the history rows and mails a test may look at.
"""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

from django.utils import timezone

from network.models import Organisation
from support import services
from support.enums import MenuStatus, QuestionPurpose, SessionMode
from support.models import Application, Menu, MenuQuestion
from surveys.enums import QuestionKind

from .factories import MembershipFactory, OrganisationFactory, UserFactory

_numbers = itertools.count(101)


def menu(
    *,
    number=None,
    name=None,
    slots=5,
    partners=None,
    kinds=(),
    status=MenuStatus.TRIAL,
    outcome=(("links_made", "連携を始めた窓口の数"),),
) -> Menu:
    """A menu; `partners` defaults to one new 支援団体; `outcome` is
    (key, text) pairs of required number fields."""
    number = number or next(_numbers)
    m = Menu.objects.create(
        number=number,
        name=name or f"テスト支援メニュー{number}",
        summary="支援者どうしをつなぐ試行メニュー",
        functions=[1, 7],
        eligible_kinds=list(kinds),
        slots_per_year=slots,
        status=status,
    )
    if partners is None:
        partners = [OrganisationFactory(name=f"協力団体{number}", kind=Organisation.Kind.SUPPORT)]
    m.partners.set(partners)
    for order, (key, text) in enumerate(outcome, start=1):
        MenuQuestion.objects.create(
            menu=m,
            purpose=QuestionPurpose.OUTCOME,
            order=order,
            key=key,
            text=text,
            kind=QuestionKind.NUMBER,
            required=True,
        )
    return m


def partner_member(m: Menu, **user):
    """A staff member of the menu's first partner organisation."""
    return MembershipFactory(organisation=m.partners.order_by("pk").first(), **user).user


def application(
    m: Menu, by, organisation=None, *, need="食料支援の窓口連携を始めたい。", submitted_days_ago=0
) -> Application:
    organisation = organisation or by.memberships.order_by("pk").first().organisation
    app = services.submit_application(
        menu=m,
        organisation=organisation,
        by=by,
        need=need,
        contact_name=by.full_name,
        contact_email=by.email,
    )
    if submitted_days_ago:
        Application.objects.filter(pk=app.pk).update(
            submitted_at=app.submitted_at - datetime.timedelta(days=submitted_days_ago)
        )
        app.refresh_from_db()
    return app


def secretariat_user():
    return UserFactory(groups=["secretariat"])


def engagement(app: Application, *, by=None, partner=None):
    by = by or secretariat_user()
    partner = partner or app.menu.partners.order_by("pk").first()
    return services.accept_application(application=app, partner=partner, coordinator=by, by=by)


def session(eng, by, *, days_ago=0, hours="2", coordination="0.5", mode=SessionMode.ONLINE):
    return services.record_session(
        engagement=eng,
        by=by,
        held_on=timezone.localdate() - datetime.timedelta(days=days_ago),
        duration_minutes=60,
        mode=mode,
        done="窓口の流れを一緒に確認した。",
        partner_hours=Decimal(hours),
        secretariat_hours=Decimal(coordination),
    )


def admin_matrix_objects(applicant) -> dict:
    """One row of every support model the admin shows, for
    tests/test_admin_matrix.py."""
    from support.models import Engagement

    m = menu()
    eng = engagement(application(m, applicant))
    session(eng, eng.coordinator)
    return {Menu: m, Application: eng.application, Engagement: eng}
