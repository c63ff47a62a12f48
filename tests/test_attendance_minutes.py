"""Wrong minutes attended say what is wrong with them, in the same words through every
path (service, sheet, admin, API) and in the reader's language."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.test import APIClient

from cohorts.errors import LineErrors
from cohorts.models import Attendance
from cohorts.services import Mark, attendance_roster_record
from tests.factories import (
    CohortFactory,
    EnrolmentFactory,
    ParticipantFactory,
    SessionFactory,
    manager,
    region,
)

pytestmark = pytest.mark.django_db

NEGATIVE = {
    "en": "Minutes attended cannot be negative.",
    "fr": "Les minutes de présence ne peuvent pas être négatives.",
    "ar": "لا يمكن أن تكون دقائق الحضور سالبة.",
}
LONGER = {
    "en": "9999 minutes is longer than the session (360 min).",
    "fr": "9999 minutes, c’est plus long que la séance (360 min).",
    "ar": "9999 دقيقة أطول من مدة الحصة (360 دقيقة).",
}


@pytest.fixture
def held():
    """A six-hour session two days ago with two people of MA-04 enrolled."""
    now = timezone.now()
    session = SessionFactory(
        cohort=CohortFactory(regions=[region("MA-04")], year=2021),
        starts_at=now - datetime.timedelta(days=2),
        ends_at=now - datetime.timedelta(days=2) + datetime.timedelta(hours=6),
        planned_hours=Decimal("6.00"),
    )
    people = [ParticipantFactory(region=region("MA-04")) for _ in range(2)]
    for person in people:
        EnrolmentFactory(participant=person, cohort=session.cohort)
    return session, people


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_the_service_says_what_is_wrong_with_each_value(held, language):
    session, (a, b) = held
    with translation.override(language), pytest.raises(LineErrors) as exc:
        attendance_roster_record(
            session=session,
            marks=[Mark(a.pk, "present", minutes_attended=-5), Mark(b.pk, "late", "", 9999)],
        )
    assert exc.value.as_list() == [
        {"line": 1, "field": "minutes_attended", "message": NEGATIVE[language]},
        {"line": 2, "field": "minutes_attended", "message": LONGER[language]},
    ]
    assert not Attendance.objects.exists()


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_the_sheet_puts_the_message_next_to_the_field_and_opens_its_section(client, held, language):
    session, (a, b) = held
    client.force_login(manager("mgr", regions=["MA-04"]))
    form = {
        "person": [str(a.pk), str(b.pk)],
        "save": "1",
        f"status-{a.pk}": "present",
        f"minutes-{a.pk}": "-5",
        f"status-{b.pk}": "late",
        f"minutes-{b.pk}": "9999",
    }
    response = client.post(
        reverse("web:attendance-sheet", args=[session.pk]), form, HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="sheet-errors"' in html
    assert "novalidate:" not in html  # the template's comment stays a comment
    for person, message in ((a, NEGATIVE[language]), (b, LONGER[language])):
        # The summary names the person; the message sits right after the minutes field,
        # which says it is wrong and points at it, in an open section.
        assert (
            f'<a href="#minutes-{person.pk}"><bdi>{person.full_name}</bdi>: {message}</a>' in html
        )
        field = html.index(f'id="minutes-{person.pk}"')
        tag = html[field : html.index(">", field)]
        assert 'aria-invalid="true"' in tag
        assert f'aria-describedby="error-{person.pk}"' in tag
        after = html[field : field + 600]
        assert f'<p class="line-error" id="error-{person.pk}">{message}</p>' in after
        section = html.rindex("<details", 0, field)
        assert html[section : html.index(">", section)].endswith("open")
    assert not Attendance.objects.exists()


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_the_api_gives_the_same_messages(held, language):
    session, (a, b) = held
    api = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    api.force_authenticate(manager("mgr", regions=["MA-04"]))
    url = f"/api/v1/sessions/{session.pk}/attendance/"
    response = api.put(
        url, [{"participant": a.pk, "status": "present", "minutes_attended": -5}], format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["lines"] == [
        {"line": 1, "field": "minutes_attended", "message": NEGATIVE[language]}
    ]
    response = api.put(
        url, [{"participant": b.pk, "status": "late", "minutes_attended": 9999}], format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["lines"] == [
        {"line": 1, "field": "minutes_attended", "message": LONGER[language]}
    ]
    assert not Attendance.objects.exists()


def test_the_admin_form_gives_the_same_messages(held):
    from cohorts.admin import AttendanceForm

    session, (a, _b) = held
    mark = Attendance(session=session, participant=a, recorded_at=timezone.now())
    with translation.override("en"):
        form = AttendanceForm({"status": "present", "minutes_attended": "9999"}, instance=mark)
        assert form.errors["minutes_attended"] == [LONGER["en"]]
        form = AttendanceForm({"status": "present", "minutes_attended": "-5"}, instance=mark)
        assert form.errors["minutes_attended"] == [NEGATIVE["en"]]
