"""The monthly report through a real worker process on the real Redis, to a real SMTP server:
the beat's task puts one message per subscribed funder contact, the worker's sender
composes each with the funders' PDF report attached and sends it; the e-mails are read
back as received (the attachment opened with pypdf: the programme's title and the
dashboard's figures). Nothing goes to the contact who unsubscribed or the closed account,
and running the task again sends nothing more."""

import io
import re

import pytest
from django.db import transaction
from django.utils import formats, translation
from pypdf import PdfReader

from cohorts import services
from cohorts.models import FunderProfile, Notification, Organisation
from messaging.monthly_report import report_month
from messaging.tasks import send_monthly_reports
from reports.dashboard import build_dashboard
from tests import test_worker_integration as worker_integration
from tests.factories import (
    CohortFactory,
    EnrolmentFactory,
    ParticipantFactory,
    SessionFactory,
    UserFactory,
    region,
)
from tests.worker_fixtures import wait_for

broker = worker_integration.broker
queue = worker_integration.queue
smtp = worker_integration.smtp
start_worker = worker_integration.start_worker

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TIMEOUT = 60
TASK = "messaging.tasks.send_monthly_reports"


def _programme() -> None:
    """Two regions large enough to be published, one too small (withheld from funders)."""
    with transaction.atomic():
        for code, sexes in [("MA-04", "FFFFFMMMMM"), ("MA-03", "FFFMMMM"), ("MA-01", "FFM")]:
            cohort = CohortFactory(regions=[region(code)], year=2021)
            session = SessionFactory(cohort=cohort)
            people = [ParticipantFactory(region=region(code), sex=sex) for sex in sexes]
            for person in people:
                EnrolmentFactory(cohort=cohort, participant=person)
            services.attendance_roster_record(
                session=session, marks=[services.Mark(p.pk, "present") for p in people]
            )


def _funder(username, organisation, *, language="fr", subscribed=True, **user) -> FunderProfile:
    return FunderProfile.objects.create(
        user=UserFactory(username=username, **user),
        organisation=Organisation.objects.get(short_name=organisation),
        language=language,
        monthly_report=subscribed,
    )


def _words(text: str) -> str:
    return " ".join(text.replace("\xa0", " ").replace("\u202f", " ").split())


def _pdf(message) -> tuple[str, bytes]:
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    return attachment.get_filename(), attachment.get_content()


def test_the_monthly_task_sends_each_subscribed_contact_the_report_once(
    start_worker, smtp, broker, tmp_path
):
    _programme()
    afd = _funder("afd-contact", "AFD")
    arm = _funder("arm-contact", "ARM", language="ar")
    _funder("rdf-contact", "RdF", subscribed=False)
    _funder("afd-former", "AFD", is_active=False)
    worker = start_worker()

    send_monthly_reports.delay()  # what the beat sends on the 1st, through Redis
    expected = sorted([afd.user.email, arm.user.email])
    wait_for(
        lambda: smtp.recipients() == expected,
        timeout=TIMEOUT,
        what=lambda: f"{expected}, got {smtp.recipients()}:\n" + worker.log_tail(),
    )
    worker.wait_idle(broker, timeout=TIMEOUT)
    assert smtp.recipients() == expected  # one each, nothing to the other two
    month = report_month()
    assert worker.results(TASK) == [f"{{'month': '{month:%Y-%m}', 'put': 2}}"]
    assert set(
        Notification.objects.filter(kind="monthly_report").values_list("status", flat=True)
    ) == {"sent"}

    received = {d.recipients[0]: d.message for d in smtp.deliveries}
    french = received[afd.user.email]
    with translation.override("fr"):
        month_fr = formats.date_format(month, "F Y")
        assert (
            french["Subject"].strip()
            == f"Cycle d'études Région 2021 : rapport d'avancement de {month_fr}"
        )
        # The figures a funder reads on the dashboard (the whole programme, no filters).
        dashboard = build_dashboard(afd.user)
    name, pdf = _pdf(french)
    assert name == f"progress-report-{month:%Y-%m}-fr.pdf"
    (tmp_path / name).write_bytes(pdf)
    reader = PdfReader(io.BytesIO(pdf))
    text = _words(" ".join(page.extract_text() for page in reader.pages))
    assert "Rapport d'avancement du programme" in text
    assert "Cycle d'études Région 2021" in text
    for cell in dashboard.headline:
        assert _words(cell.display) in text, cell
    by_region = dashboard.tables[0]
    assert [row.key for row in by_region.rows] == ["MA-01", "MA-03", "MA-04"]
    for row in by_region.rows:
        assert _words(row.label) in text
        shown = " ".join(_words(cell.display) for cell in row.cells)
        assert shown in text, (row.label, shown)
    assert any(cell.suppressed for row in by_region.rows for cell in row.cells)
    body = french.get_body(("plain",)).get_content()
    assert re.search(r"/monthly-report/unsubscribe/[^/\s]+/", body)

    arabic = received[arm.user.email]
    with translation.override("ar"):
        assert formats.date_format(month, "F Y") in arabic["Subject"]
    name, pdf = _pdf(arabic)
    assert name == f"progress-report-{month:%Y-%m}-ar.pdf"
    (tmp_path / name).write_bytes(pdf)
    assert PdfReader(io.BytesIO(pdf)).metadata.title == "تقرير سير البرنامج"
    assert 'dir="rtl"' in arabic.get_body(("html",)).get_content()

    # The beat firing twice, or someone running it again by hand: nothing more is sent.
    send_monthly_reports.delay()
    wait_for(
        lambda: len(worker.results(TASK)) == 2, timeout=TIMEOUT, what=lambda: worker.log_tail()
    )
    worker.wait_idle(broker, timeout=TIMEOUT)
    assert worker.results(TASK)[-1] == f"{{'month': '{month:%Y-%m}', 'put': 0}}"
    assert smtp.recipients() == expected
