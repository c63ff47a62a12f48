"""Two managers recording the same session for the first time at the same moment.

Real concurrency: each request runs on its own thread with its own database connection,
through the whole stack (API view, service, database), released together by a barrier.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from cohorts.models import Attendance, AttendanceHistory
from tests.factories import (
    CohortFactory,
    EnrolmentFactory,
    ParticipantFactory,
    SessionFactory,
    manager,
    region,
)

REQUESTS = 100
THREADS = 10


def _roster(people, status):
    return [{"participant": p.pk, "status": status} for p in people]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_first_recordings_never_fail_and_leave_one_whole_roster():
    session = SessionFactory(cohort=CohortFactory(regions=[region("MA-04")]))
    people = [
        EnrolmentFactory(
            cohort=session.cohort, participant=ParticipantFactory(region=region("MA-04"))
        ).participant
        for _ in range(12)
    ]
    # Two managers with different rosters: a mix of the two in the end would mean two
    # saves interleaved line by line.
    rosters = {
        "rabat": (manager("rabat", regions=["MA-04"]), _roster(people, "present")),
        "national": (manager("national"), _roster(people, "absent")),
    }
    url = f"/api/v1/sessions/{session.pk}/attendance/"
    barrier = threading.Barrier(THREADS)

    def record(index: int) -> tuple[int, str]:
        user, body = rosters["rabat" if index % 2 else "national"]
        client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
        client.force_authenticate(user)
        try:
            if index < THREADS:
                barrier.wait(timeout=30)  # the first wave starts at the same instant
            response = client.put(url, body, format="json")
            return response.status_code, response.content.decode()[:300]
        finally:
            connections.close_all()  # this thread's connection, before the test DB goes

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        answers = list(pool.map(record, range(REQUESTS)))

    statuses = [status for status, _body in answers]
    assert [a for a in answers if a[0] >= 500] == []
    # Each save either wins or updates what another wrote; a 409 (the API's JSON error) is
    # the only other acceptable answer.
    assert set(statuses) <= {200, 409}, answers
    assert statuses.count(200) >= REQUESTS // 2
    final = dict(Attendance.objects.filter(session=session).values_list("participant_id", "status"))
    assert final in (
        {p.pk: "present" for p in people},
        {p.pk: "absent" for p in people},
    )
    # One creation per person, then changes: never two marks created for one person.
    created = AttendanceHistory.objects.filter(session=session, action="created")
    assert sorted(created.values_list("participant_id", flat=True)) == sorted(p.pk for p in people)
    assert connection.vendor in {"postgresql", "sqlite"}
