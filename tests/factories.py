"""factory_boy factories that keep related rows consistent.

A session falls inside its cohort's year and the programme; an attendance mark is made
for an enrolled participant (use `enrolled` or EnrolmentFactory first).
"""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import factory
from django.contrib.auth import get_user_model

from cohorts.models import (
    Attendance,
    Cohort,
    Enrolment,
    ManagerProfile,
    Participant,
    Programme,
    Region,
    TrainingSession,
)

CASABLANCA = ZoneInfo("Africa/Casablanca")


def region(code: str = "MA-04") -> Region:
    return Region.objects.get(code=code)


def programme() -> Programme:
    return Programme.objects.get(code="R2021")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", "pass-w0rd-for-tests")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participant

    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    sex = factory.Iterator(["F", "M"])
    role = factory.Iterator(["elu", "cadre"])
    position = "Conseiller"
    region = factory.LazyFunction(region)
    email = factory.Sequence(lambda n: f"participant{n}@example.org")
    preferred_language = "fr"


class CohortFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cohort
        skip_postgeneration_save = True

    programme = factory.LazyFunction(programme)
    code = factory.Sequence(lambda n: f"cohort-{n}")
    name = factory.Sequence(lambda n: f"Promotion {n}")
    year = 2019

    @factory.post_generation
    def regions(obj, create, extracted, **kwargs):
        if create:
            obj.regions.set(extracted or [region("MA-04")])


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingSession

    cohort = factory.SubFactory(CohortFactory)
    title = factory.Sequence(lambda n: f"Module {n}")
    theme = "Gouvernance territoriale"
    starts_at = factory.LazyAttribute(
        lambda s: datetime.datetime(s.cohort.year, 3, 12, 9, 0, tzinfo=CASABLANCA)
    )
    ends_at = factory.LazyAttribute(lambda s: s.starts_at + datetime.timedelta(hours=7))
    city = "Rabat"
    venue = "Siège de la Région"
    planned_hours = Decimal("6.00")


class EnrolmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrolment

    participant = factory.SubFactory(ParticipantFactory)
    cohort = factory.SubFactory(CohortFactory)
    enrolled_on = factory.LazyAttribute(lambda e: datetime.date(e.cohort.year, 1, 15))


class AttendanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attendance

    session = factory.SubFactory(SessionFactory)
    participant = factory.LazyAttribute(
        lambda a: EnrolmentFactory(cohort=a.session.cohort).participant
    )
    status = Attendance.Status.PRESENT
    recorded_at = factory.LazyAttribute(lambda a: a.session.ends_at)


def manager(username: str, regions: list[str] | None = None) -> "get_user_model()":
    """A staff user in the managers' group, for all regions or only those given."""
    from cohorts.roles import managers_group_sync

    user = UserFactory(username=username, is_staff=True)
    user.groups.add(managers_group_sync())
    profile = ManagerProfile.objects.create(user=user, all_regions=regions is None)
    if regions:
        profile.regions.set(Region.objects.filter(code__in=regions))
    return user
