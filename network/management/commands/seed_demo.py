"""`manage.py seed_demo`: idempotent demo data for development and demos.

Every row is looked up by a natural key (organisation name + municipality,
e-mail, the membership pair, the commission tuple), so running the command
twice leaves the same counts. Later issues add events, surveys and the
directory as further `seed_*` steps called from `handle`.
"""

import zlib
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from core.dates import current_fiscal_year
from network import demo
from network.models import (
    Commission,
    Membership,
    Municipality,
    Organisation,
    Program,
    Region,
    User,
)
from network.permissions import grant_secretariat_permissions


@dataclass
class Seeded:
    """What the organisation step made, for the steps after it."""

    city_orgs: dict = field(default_factory=dict)  # 市名 -> Organisation
    region_orgs: dict = field(default_factory=dict)  # Region name -> Organisation
    sample_orgs: dict = field(default_factory=dict)  # slug -> Organisation
    secretariat_org: Organisation | None = None
    government_org: Organisation | None = None
    # (Organisation, slug, how many) for every organisation given generated staff.
    staffed: list = field(default_factory=list)


# --- bulk upserts by natural key ------------------------------------------------
# The demo data is a few hundred rows; looking each one up separately would
# cost thousands of queries per run (and per test that seeds). These helpers
# read the existing rows once and write only what is missing or changed.


def upsert_organisations(rows: list[dict]) -> list[Organisation]:
    """Create or update organisations keyed by (name, municipality); rows use
    `municipality_id` / `region_id`. Returns the organisations in row order."""
    existing = {
        (org.name, org.municipality_id): org
        for org in Organisation.objects.filter(name__in={row["name"] for row in rows})
    }
    result, to_create, to_update = [], [], []
    fields = sorted({key for row in rows for key in row} - {"name", "municipality_id"})
    for row in rows:
        org = existing.get((row["name"], row["municipality_id"]))
        if org is None:
            org = Organisation(**row)
            to_create.append(org)
        elif any(getattr(org, key) != value for key, value in row.items()):
            for key, value in row.items():
                setattr(org, key, value)
            to_update.append(org)
        result.append(org)
    Organisation.objects.bulk_create(to_create)
    if to_update:
        Organisation.objects.bulk_update(to_update, fields)
    return result


def set_programs(wanted: dict[int, set[int]]) -> None:
    """Make each organisation's programs exactly the given program ids."""
    through = Organisation.programs.through
    current = {
        (org_id, program_id): pk
        for pk, org_id, program_id in through.objects.filter(
            organisation_id__in=wanted
        ).values_list("pk", "organisation_id", "program_id")
    }
    pairs = {(org_id, program_id) for org_id, ids in wanted.items() for program_id in ids}
    stale = [pk for pair, pk in current.items() if pair not in pairs]
    if stale:
        through.objects.filter(pk__in=stale).delete()
    through.objects.bulk_create(
        [through(organisation_id=o, program_id=p) for o, p in sorted(pairs - current.keys())]
    )


def ensure_contacts(emails: list[str]) -> dict[str, User]:
    """Staff known to the network who have not set a password (contacts).
    Existing users are left as they are: someone may have claimed the account."""
    users = {user.email: user for user in User.objects.filter(email__in=emails)}
    new = []
    for email in emails:
        if email not in users:
            full_name, kana = _staff_name(email)
            user = User(email=email, full_name=full_name, full_name_kana=kana)
            user.set_unusable_password()
            users[email] = user
            new.append(user)
    User.objects.bulk_create(new)
    return users


def _staff_name(email: str) -> tuple[str, str]:
    h = zlib.crc32(email.encode())
    surname, surname_kana = demo.SURNAMES[h % len(demo.SURNAMES)]
    given, given_kana = demo.GIVEN_NAMES[(h // len(demo.SURNAMES)) % len(demo.GIVEN_NAMES)]
    return f"{surname} {given}", f"{surname_kana} {given_kana}"


# --- organisations --------------------------------------------------------------


def seed_municipal_organisations(result: Seeded) -> None:
    """35 市 welfare sections and the 14 振興局 社会福祉課 (units of 北海道)."""
    cities = list(Municipality.objects.filter(kind=Municipality.Kind.CITY))
    regions = list(Region.objects.all())
    rows = []
    for city in cities:
        dept, dept_kana, section, section_kana = demo.city_section(city.code)
        rows.append(
            {
                "name": f"{city.name} {dept} {section}",
                "municipality_id": city.pk,
                "kana": f"{city.kana} {dept_kana} {section_kana}",
                "kind": Organisation.Kind.MUNICIPALITY,
                "region_id": city.region_id,
                "email": f"city-{city.code}@example.org",
                "address": f"北海道{city.name}",
                "is_sample": False,
                "is_active": True,
            }
        )
    for region in regions:
        rows.append(
            {
                "name": demo.region_unit_name(region.name),
                "municipality_id": None,
                "kana": demo.region_unit_kana(region.kana, region.kind),
                "kind": Organisation.Kind.MUNICIPALITY,
                "region_id": region.pk,
                "email": f"{demo.REGION_SLUGS[region.name]}-fukushi@example.org",
                "address": f"北海道{region.seat}",
                "description": _("%(region)s管内の町村を所管する北海道の福祉事務所です。")
                % {"region": region.name},
                "is_sample": False,
                "is_active": True,
            }
        )
    orgs = upsert_organisations(rows)
    for city, org in zip(cities, orgs[: len(cities)], strict=True):
        result.city_orgs[city.name] = org
        result.staffed.append((org, city.code, 2))
    for region, org in zip(regions, orgs[len(cities) :], strict=True):
        result.region_orgs[region.name] = org
        result.staffed.append((org, demo.REGION_SLUGS[region.name], 2))
    program_ids = set(
        Program.objects.filter(key__in=demo.MUNICIPAL_PROGRAMS).values_list("pk", flat=True)
    )
    set_programs({org.pk: program_ids for org in orgs})


def seed_other_organisations(result: Seeded) -> None:
    """厚生労働省, the secretariat NPO, and the invented sample organisations."""
    municipalities = {m.name: m for m in Municipality.objects.all()}
    programs = {p.key: p for p in Program.objects.all()}
    secretariat_city = municipalities[demo.SECRETARIAT_ORG["city"]]
    rows = [
        {
            "name": demo.MHLW["name"],
            "municipality_id": None,
            "kana": demo.MHLW["kana"],
            "kind": Organisation.Kind.GOVERNMENT,
            "region_id": None,
            "email": f"{demo.MHLW['slug']}@example.org",
            "is_sample": False,
            "is_active": True,
        },
        {
            "name": demo.SECRETARIAT_ORG["name"],
            "municipality_id": secretariat_city.pk,
            "kana": demo.SECRETARIAT_ORG["kana"],
            "kind": Organisation.Kind.SUPPORT,
            "region_id": secretariat_city.region_id,
            "email": f"{demo.SECRETARIAT_ORG['slug']}@example.org",
            "description": demo.SECRETARIAT_ORG["description"],
            "is_sample": False,
            "is_active": True,
        },
    ]
    for spec in demo.SAMPLE_ORGS:
        muni = municipalities[spec.city]
        names = "・".join(programs[key].common_name for key in spec.programs)
        if names:
            description = _(
                "%(city)sを拠点に%(programs)sを行っています。（デモ用の架空の団体です）"
            ) % {"city": muni.name, "programs": names}
        else:
            description = _("%(city)sを拠点に活動しています。（デモ用の架空の団体です）") % {
                "city": muni.name
            }
        rows.append(
            {
                "name": spec.name,
                "municipality_id": muni.pk,
                "kana": spec.kana,
                "kind": spec.kind,
                "region_id": muni.region_id,
                "email": f"{spec.slug}@example.org",
                "address": f"北海道{muni.name}",
                "description": description,
                "is_sample": True,
                "is_active": True,
            }
        )
    government, secretariat, *samples = upsert_organisations(rows)
    result.government_org = government
    result.secretariat_org = secretariat
    result.staffed.append((government, demo.MHLW["slug"], 2))
    result.staffed.append((secretariat, demo.SECRETARIAT_ORG["slug"], 2))
    wanted_programs = {}
    for spec, org in zip(demo.SAMPLE_ORGS, samples, strict=True):
        result.sample_orgs[spec.slug] = org
        result.staffed.append((org, spec.slug, spec.staff))
        wanted_programs[org.pk] = {programs[key].pk for key in spec.programs}
    set_programs(wanted_programs)


def seed_commissions(result: Seeded) -> None:
    """Each 受託団体 is commissioned by its 自治体 in FY2021 and the current FY."""
    programs = {p.key: p.pk for p in Program.objects.all()}
    years = sorted({demo.SEED_FISCAL_YEAR, current_fiscal_year()})
    wanted = set()
    for spec in demo.SAMPLE_ORGS:
        contractor = result.sample_orgs[spec.slug]
        for ref in spec.commissioners:
            commissioner = result.city_orgs.get(ref) or result.region_orgs[ref]
            for key in spec.programs:
                if key in demo.COMMISSIONABLE_PROGRAMS:
                    for year in years:
                        wanted.add((contractor.pk, commissioner.pk, programs[key], year))
    existing = set(
        Commission.objects.filter(contractor_id__in={c for c, *_rest in wanted}).values_list(
            "contractor_id", "commissioner_id", "program_id", "fiscal_year"
        )
    )
    Commission.objects.bulk_create(
        [
            Commission(contractor_id=c, commissioner_id=m, program_id=p, fiscal_year=y)
            for c, m, p, y in sorted(wanted - existing)
        ]
    )


def seed_organisations() -> Seeded:
    result = Seeded()
    seed_municipal_organisations(result)
    seed_other_organisations(result)
    seed_commissions(result)
    return result


# --- people -----------------------------------------------------------------------


def seed_people(result: Seeded) -> None:
    """A few staff (contacts) per organisation: staff-<org>-<n>@example.org."""
    plan = [
        (org, f"staff-{slug}-{i + 1}@example.org", i)
        for org, slug, count in result.staffed
        for i in range(count)
    ]
    users = ensure_contacts([email for _org, email, _i in plan])
    existing = set(
        Membership.objects.filter(user__in=users.values()).values_list("user_id", "organisation_id")
    )
    new = []
    for org, email, i in plan:
        user = users[email]
        if (user.pk, org.pk) in existing:
            continue
        roles = demo.STAFF_ROLES_BY_KIND[org.kind]
        new.append(
            Membership(
                user=user,
                organisation=org,
                staff_role=roles[i % len(roles)],
                experience=demo.EXPERIENCE_CYCLE[
                    zlib.crc32(email.encode()) % len(demo.EXPERIENCE_CYCLE)
                ],
                # The first staff member of a 受託団体 or 支援団体 keeps its profile.
                is_org_admin=i == 0 and org.kind in ("contractor", "support"),
            )
        )
    Membership.objects.bulk_create(new)


def seed_secretariat_permissions() -> None:
    """The secretariat group's admin permissions, as migration 0003 sets them
    in production: the named set of network/permissions.py (imports and
    exports of organisations and memberships), never users or groups."""
    grant_secretariat_permissions(Group=Group, Permission=Permission)


def seed_accounts(result: Seeded) -> list[User]:
    """The six demo accounts of DESIGN §5; re-running resets them, password included."""
    organisations = {
        "secretariat": result.secretariat_org,
        "committee-region": result.region_orgs[demo.COMMITTEE_REGION],
        "sapporo-city": result.city_orgs["札幌市"],
        "contractor": result.sample_orgs[demo.DEMO_CONTRACTOR_SLUG],
    }
    users = []
    for spec in demo.DEMO_ACCOUNTS:
        user = User.objects.filter(email=spec.email).first() or User(email=spec.email)
        user.full_name = spec.full_name
        user.full_name_kana = spec.full_name_kana
        user.is_active = True
        # The secretariat imports organisations and memberships in the admin site.
        user.is_staff = spec.superuser or "secretariat" in spec.groups
        user.is_superuser = spec.superuser
        user.set_password(demo.DEMO_PASSWORD)
        user.save()
        user.groups.set(Group.objects.filter(name__in=spec.groups))
        if spec.organisation:
            organisation = organisations[spec.organisation]
            Membership.objects.update_or_create(
                user=user,
                organisation=organisation,
                defaults={
                    "staff_role": spec.staff_role,
                    "experience": spec.experience,
                    "is_org_admin": spec.is_org_admin,
                },
            )
            # A demo account belongs to exactly its one organisation.
            Membership.objects.filter(user=user).exclude(organisation=organisation).delete()
        else:
            Membership.objects.filter(user=user).delete()
        users.append(user)
    return users


# --- the command -------------------------------------------------------------------


class Command(BaseCommand):
    help = _(
        "デモ用のデータ（組織・職員・デモアカウント）を作成します。何度実行しても同じ結果になります。"
    )

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                _(
                    "seed_demo はデモ・開発用です。DEBUG が無効な環境（本番など）では実行できません。"
                    "DEBUG=true の環境で実行してください。"
                )
            )
        if Group.objects.filter(name__in=["secretariat", "committee"]).count() != 2:
            raise CommandError(
                _(
                    "グループ secretariat / committee がありません。先に migrate を実行してください。"
                )
            )
        # The demo spans apps; imported here so that the network app does not depend on events.
        from events.demo import seed_events

        # All or nothing: a failing step leaves the database as it was.
        with transaction.atomic():
            result = seed_organisations()
            seed_people(result)
            seed_secretariat_permissions()
            seed_accounts(result)
            events_summary = seed_events()
            # Surveys (issue 4): the FY2021 effect-verification survey, after the events it asks about.
            from surveys.demo import seed_surveys

            surveys_summary = seed_surveys()
        self.stdout.write(events_summary)
        self.stdout.write(surveys_summary)
        self.print_summary()

    def print_summary(self):
        orgs = Organisation.objects.all()
        municipal = orgs.filter(kind=Organisation.Kind.MUNICIPALITY)
        lines = [
            _("デモデータを作成しました。"),
            _("自治体: %(total)d（市 %(cities)d・振興局 %(regions)d）")
            % {
                "total": municipal.count(),
                "cities": municipal.filter(municipality__isnull=False).count(),
                "regions": municipal.filter(municipality__isnull=True).count(),
            },
            _(
                "受託団体: %(contractors)d　支援団体: %(support)d　国・関係行政: %(gov)d　その他: %(other)d"
            )
            % {
                "contractors": orgs.filter(kind=Organisation.Kind.CONTRACTOR).count(),
                "support": orgs.filter(kind=Organisation.Kind.SUPPORT).count(),
                "gov": orgs.filter(kind=Organisation.Kind.GOVERNMENT).count(),
                "other": orgs.filter(kind=Organisation.Kind.OTHER).count(),
            },
            _("委託: %(count)d件　ユーザー: %(users)d人　所属: %(memberships)d件")
            % {
                "count": Commission.objects.count(),
                "users": User.objects.count(),
                "memberships": Membership.objects.count(),
            },
            _("デモアカウント（パスワード %(password)s）: %(emails)s")
            % {
                "password": demo.DEMO_PASSWORD,
                "emails": ", ".join(a.email for a in demo.DEMO_ACCOUNTS),
            },
        ]
        for line in lines:
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(_("完了しました。")))
