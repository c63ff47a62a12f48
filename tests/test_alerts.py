"""Low-attendance alerts (once per crossing) and the managers' weekly digest (once a week)."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.urls import reverse

from certificates.models import AttendanceAlert, ManagerDigest
from cohorts import services
from cohorts.models import Notification
from cohorts.services import Mark
from messaging.alerts import alert_notify, alerts_sweep, digests_send
from messaging.outbox import deliver
from tests.factories import CohortFactory, EnrolmentFactory, SessionFactory, manager, region

pytestmark = pytest.mark.django_db
BASE = datetime.datetime(2019, 2, 4, 9, tzinfo=datetime.UTC)


@pytest.fixture
def cohort():
    """A cohort in MA-04 with ten weekly sessions; two people."""
    cohort = CohortFactory(year=2019, regions=[region("MA-04")])
    sessions = [
        SessionFactory(cohort=cohort, starts_at=BASE + datetime.timedelta(weeks=i))
        for i in range(10)
    ]
    people = [EnrolmentFactory(cohort=cohort).participant for _ in range(2)]
    return cohort, sessions, people


def _mark(sessions, index, marks):
    services.attendance_roster_record(session=sessions[index], marks=marks)


def _sweep(sessions, after_index):
    with time_machine.travel(sessions[after_index].ends_at + datetime.timedelta(hours=1)):
        return alerts_sweep()


def test_no_alert_before_three_recorded_sessions(cohort):
    _cohort, sessions, (amina, karim) = cohort
    for i in range(2):
        _mark(sessions, i, [Mark(amina.pk, "absent"), Mark(karim.pk, "present")])
    assert _sweep(sessions, 1).raised == []


def test_an_alert_is_raised_once_per_crossing_and_closed_when_back_above(cohort):
    _cohort, sessions, (amina, karim) = cohort
    for i in range(3):
        _mark(sessions, i, [Mark(amina.pk, "absent" if i == 0 else "present"),
                            Mark(karim.pk, "present")])  # fmt: skip
    first = _sweep(sessions, 2)
    assert [AttendanceAlert.objects.get(pk=pk).kind for pk in first.raised] == ["below"]
    assert _sweep(sessions, 2).raised == []  # the next day: still below, no new alert
    for i in range(3, 6):
        _mark(sessions, i, [Mark(amina.pk, "present"), Mark(karim.pk, "present")])
    assert _sweep(sessions, 5).cleared == 1  # 5 of 6: back above 80 %
    for i in range(6, 8):
        _mark(sessions, i, [Mark(amina.pk, "absent"), Mark(karim.pk, "present")])
    again = _sweep(sessions, 7)  # 5 of 8: crossed again
    assert len(again.raised) == 2  # below, and now unreachable (best case 7 of 10)
    assert AttendanceAlert.objects.filter(enrolment__participant=amina).count() == 3


def test_the_trainee_and_the_cohorts_managers_are_told_once(cohort):
    _cohort, sessions, (amina, karim) = cohort
    rabat, oujda = manager("rabat", regions=["MA-04"]), manager("oujda", regions=["MA-02"])
    for i in range(3):
        _mark(sessions, i, [Mark(amina.pk, "absent"), Mark(karim.pk, "present")])
    raised = _sweep(sessions, 2).raised
    # Below the line, and out of reach (at best 7 of 10): two alerts, each put in the
    # outbox with its messages, one per recipient.
    assert len(raised) == 2
    for alert_id in raised:
        messages = Notification.objects.filter(ref=alert_id)
        assert sorted(messages.values_list("kind", "participant", "user")) == [
            ("alert", amina.pk, None), ("alert_manager", amina.pk, rabat.pk),
        ]  # fmt: skip
        assert AttendanceAlert.objects.get(pk=alert_id).notified_at is not None
    Notification.objects.exclude(ref=raised[0]).delete()  # one alert's, from here on
    alert_id = raised[0]
    assert deliver().sent == 2
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == sorted([amina.email, rabat.email])
    assert oujda.email not in recipients
    trainee_mail = next(m for m in mail.outbox if m.to == [amina.email])
    assert "0/3" in trainee_mail.body
    assert alert_notify(alert_id) is False  # already there: nothing more
    assert deliver().sent == 0
    assert len(mail.outbox) == 2


def test_an_alert_cleared_before_its_turn_is_not_sent(cohort):
    _cohort, sessions, (amina, karim) = cohort
    for i in range(3):
        _mark(sessions, i, [Mark(amina.pk, "absent"), Mark(karim.pk, "present")])
    _sweep(sessions, 2)
    for i in range(3):  # corrected: she was there
        _mark(sessions, i, [Mark(amina.pk, "present"), Mark(karim.pk, "present")])
    assert _sweep(sessions, 2).cleared == 2  # below, and out of reach: both closed
    assert deliver().dropped == 2  # her two messages (no manager covers MA-04 here)
    assert mail.outbox == []
    assert set(Notification.objects.values_list("status", flat=True)) == {"dropped"}


def test_the_weekly_digest_lists_unrecorded_sessions_once_per_week(cohort):
    _cohort, sessions, (amina, karim) = cohort
    rabat = manager("rabat", regions=["MA-04"])
    manager("oujda", regions=["MA-02"])  # nothing in their regions: no digest
    _mark(sessions, 0, [Mark(amina.pk, "present"), Mark(karim.pk, "present")])
    monday = datetime.datetime(2019, 2, 25, 7, tzinfo=datetime.UTC)  # sessions 1 and 2 ended
    with time_machine.travel(monday):
        assert digests_send() == 1
        assert digests_send() == 0  # same week: not again
        assert deliver().sent == 1
    (message,) = mail.outbox
    assert message.to == [rabat.email]
    assert message.body.count("\n- ") == 2
    # The page to record them from (written out in messaging, which knows no interface).
    assert f"{settings.SITE_URL}{reverse('web:sessions')}" in message.body
    assert ManagerDigest.objects.get().sessions == 2
    with time_machine.travel(monday + datetime.timedelta(weeks=1)):
        assert digests_send() == 1
