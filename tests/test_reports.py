import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from certificates.selectors import enrolments_progress
from cohorts import services
from cohorts.models import Enrolment
from cohorts.services import Mark
from tests.factories import CohortFactory, EnrolmentFactory, SessionFactory


@pytest.mark.django_db
def test_scratch():
    cohort = CohortFactory(year=2019)
    s = SessionFactory(cohort=cohort, starts_at=datetime.datetime(2019, 2, 4, 9, tzinfo=datetime.UTC))
    s2 = SessionFactory(cohort=cohort, starts_at=datetime.datetime(2019, 3, 4, 9, tzinfo=datetime.UTC), planned_hours=Decimal("6.30"))
    a = EnrolmentFactory(cohort=cohort)
    services.attendance_roster_record(session=s, marks=[Mark(a.participant_id, "present", minutes_attended=45)])
    services.attendance_roster_record(session=s2, marks=[Mark(a.participant_id, "present", minutes_attended=20)])
    with CaptureQueriesContext(connection) as q:
        rows = enrolments_progress(Enrolment.objects.filter(cohort=cohort))
    print(q.captured_queries[0]["sql"])
    print(rows[0].progress)
    assert 0
