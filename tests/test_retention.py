"""Retention (issue 16): `apply_retention` anonymises the people whose last cohort ended
more than RETENTION_YEARS ago; the funders' report, the aggregates and certificate
verification keep working, and no anonymised person's name or e-mail is left anywhere."""

import datetime
import re
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import models
from django.test import Client
from django.utils import timezone

from accounts.models import Anonymisation, IdentityChange
from accounts.retention import retention_due
from accounts.services import identity_correct
from certificates.models import Certificate
from cohorts.models import Participant
from reports.caller import published_progress
from tests.factories import CohortFactory, EnrolmentFactory, SessionFactory

pytestmark = pytest.mark.django_db

GROUPINGS = [["region"], ["year"], ["sex"], ["role"], ["region", "year"], ["year", "sex"]]
TEXT = (models.CharField, models.TextField, models.JSONField)


def _run(*args) -> str:
    out = StringIO()
    call_command("apply_retention", *args, stdout=out)
    return out.getvalue()


def _every_text_value():
    """(table, column, value as text) for every text column of every table."""
    for model in apps.get_models(include_auto_created=True):
        fields = [f for f in model._meta.concrete_fields if isinstance(f, TEXT)]
        if not fields:
            continue
        names = [f.attname for f in fields]
        for row in model._default_manager.values_list(*names).iterator():
            for name, value in zip(names, row, strict=True):
                if value:
                    yield model._meta.db_table, name, str(value)


@pytest.fixture
def demo(settings):
    call_command("seed_demo", stdout=StringIO(), stderr=StringIO())
    settings.RETENTION_YEARS = 0  # everyone whose last cohort has ended is due
    return settings


# Long (about a minute): in `make test-slow`, which .ci/run runs too.
@pytest.mark.slow
def test_retention_on_the_demo_data_keeps_the_reports_and_leaves_no_name(demo):
    # One of them had their name corrected (its history holds both names), and the admin
    # logged a change to their record (its log names them).
    first = retention_due().first()
    admin_user = get_user_model().objects.get(username="admin")
    first = identity_correct(participant=first, by=admin_user, first_name="Zineb-Corrigée")
    LogEntry.objects.create(
        user=admin_user, content_type=ContentType.objects.get_for_model(Participant),
        object_id=str(first.pk), object_repr=str(first), action_flag=CHANGE,
    )  # fmt: skip
    due = list(retention_due().select_related("user"))
    assert len(due) > 20
    kept = Participant.objects.exclude(pk__in=[p.pk for p in due])
    kept_names = {p.full_name for p in kept} | {p.full_name_ar for p in kept}
    secrets = set()
    secrets.add("Zineb-Corrigée")
    for person in due:
        secrets |= {person.email, person.phone} - {None, ""}
        secrets |= {person.full_name, f"{person.first_name} {person.last_name}"} - kept_names
        if person.first_name_ar and person.last_name_ar:
            secrets |= {person.full_name_ar} - kept_names
        if person.user is not None:
            secrets.add(person.user.username)
    codes = list(
        Certificate.objects.filter(participant__in=due, status="issued").values_list(
            "verification_code", flat=True
        )[:5]
    )
    assert codes
    reports_before = [published_progress(group_by=g) for g in GROUPINGS]

    # Dry run: says what it would do, changes nothing.
    out = _run("--dry-run")
    assert f"{len(due)} person(s) to anonymise" in out and "Nothing changed" in out
    assert not Anonymisation.objects.exists()

    out = _run()
    assert f"anonymised {len(due)}/{len(due)} (100 %)" in out
    assert f"Done: {len(due)} person(s) anonymised." in out
    assert Anonymisation.objects.count() == len(due)
    assert IdentityChange.objects.get(participant=first).before == {"first_name": None}

    # The funders' report: unchanged.
    assert [published_progress(group_by=g) for g in GROUPINGS] == reports_before

    # No anonymised person's name, e-mail, phone or user name anywhere in the database.
    pattern = re.compile("|".join(re.escape(s) for s in sorted(secrets, key=len, reverse=True)))
    found = [(t, c, v[:80]) for t, c, v in _every_text_value() if pattern.search(v)]
    assert found == []
    user_model = get_user_model()
    assert not user_model.objects.filter(participant__in=due, is_active=True).exists()

    # Their certificates still verify, saying the holder's details were removed.
    for code in codes:
        page = Client().get(f"/verify/{code}", HTTP_ACCEPT_LANGUAGE="en")
        assert page.status_code == 200
        html = page.content.decode()
        assert 'data-status="valid"' in html and 'data-holder="removed"' in html
        body = Client().get(f"/api/v1/certificates/verify/{code}/").json()
        assert (body["status"], body["holder"], body["holder_disclosure"]) == (
            "valid", "", "removed",
        )  # fmt: skip

    # Idempotent: a second run finds nobody and changes nothing.
    out = _run()
    assert "0 person(s) to anonymise" in out
    assert Anonymisation.objects.count() == len(due)
    assert [published_progress(group_by=g) for g in GROUPINGS] == reports_before


def test_only_people_past_the_period_are_due_and_a_running_cohort_keeps_them(settings):
    settings.RETENTION_YEARS = 2
    now = timezone.now()
    old = CohortFactory(year=2019)
    SessionFactory(cohort=old, starts_at=now - datetime.timedelta(days=3 * 365),
                   ends_at=now - datetime.timedelta(days=3 * 365 - 1))  # fmt: skip
    recent = CohortFactory(year=2021)
    SessionFactory(cohort=recent, starts_at=now - datetime.timedelta(days=365),
                   ends_at=now - datetime.timedelta(days=364))  # fmt: skip
    gone = EnrolmentFactory(cohort=old).participant
    back = EnrolmentFactory(cohort=old).participant
    EnrolmentFactory(participant=back, cohort=recent)  # came back later: their last cohort
    EnrolmentFactory(cohort=recent)
    assert list(retention_due()) == [gone]
    out = _run()
    assert "1 person(s) to anonymise" in out
    gone.refresh_from_db()
    assert (gone.first_name, gone.last_name, gone.email, gone.phone) == ("—", "—", None, "")
    assert Anonymisation.objects.get().participant == gone
    assert "0 person(s) to anonymise" in _run()
