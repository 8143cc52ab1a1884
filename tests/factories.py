import factory
from django.contrib.auth.models import Group

from network.models import Membership, Municipality, Organisation, Program, Region, User

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    full_name = factory.Sequence(lambda n: f"支援 太郎{n}")
    full_name_kana = factory.Sequence(lambda n: f"しえん たろう{n}")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        if create and extracted:
            for name in extracted:
                self.groups.add(Group.objects.get(name=name))


def municipality(code="011002"):
    """Reference data is loaded by migrations; factories pick from it."""
    return Municipality.objects.get(code=code)


def region(name="石狩振興局"):
    return Region.objects.get(name=name)


def program(key="jiritsu_sodan"):
    return Program.objects.get(key=key)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"サンプル支援センター{n}")
    kana = factory.Sequence(lambda n: f"さんぷるしえんせんたー{n}")
    kind = Organisation.Kind.CONTRACTOR
    municipality = factory.LazyFunction(municipality)
    region = factory.LazyAttribute(lambda o: o.municipality.region if o.municipality else None)
    email = factory.Sequence(lambda n: f"office{n}@example.org")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    staff_role = Membership.StaffRole.SODAN
    experience = Membership.Experience.Y1_3
    is_org_admin = False
