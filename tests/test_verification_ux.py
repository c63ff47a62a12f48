"""The public verification page: a PDF alone is enough, a failed check is red and says why,
and codes are shown in groups and accepted however they are typed."""

import datetime
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pypdf import PdfReader
from reportlab.pdfgen.canvas import Canvas
from rest_framework.test import APIClient

from certificates import codes
from certificates.services import certificate_issue
from certificates.verification import code_from_pdf
from tests.factories import (
    AttendanceFactory,
    CohortFactory,
    EnrolmentFactory,
    ParticipantFactory,
    SessionFactory,
)

pytestmark = pytest.mark.django_db

GROUPED = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z*~$=]$")


@pytest.fixture
def certificate():
    amina = ParticipantFactory(first_name="Amina", last_name="TAZI")
    cohort = CohortFactory(code="2019-rsk", name="Promotion 2019", year=2019)
    session = SessionFactory(
        cohort=cohort,
        starts_at=datetime.datetime(2019, 3, 12, 9, tzinfo=datetime.UTC),
        ends_at=datetime.datetime(2019, 3, 12, 16, tzinfo=datetime.UTC),
    )
    EnrolmentFactory(participant=amina, cohort=cohort)
    AttendanceFactory(session=session, participant=amina)
    return certificate_issue(participant=amina, cohort=cohort, notify=False)


def _pdf(certificate) -> bytes:
    certificate.pdf.open("rb")
    try:
        return certificate.pdf.read()
    finally:
        certificate.pdf.close()


def _upload(content: bytes, url: str = "/verify/"):
    return Client(HTTP_ACCEPT_LANGUAGE="en").post(
        url, {"file": SimpleUploadedFile("c.pdf", content, "application/pdf")}
    )


def _section(html: str, element_id: str) -> str:
    match = re.search(rf'<section[^>]*id="{element_id}".*?</section>', html, re.DOTALL)
    assert match, element_id
    return match.group(0)


def test_the_empty_page_says_what_to_do_with_a_code_or_a_pdf():
    html = Client(HTTP_ACCEPT_LANGUAGE="en").get("/verify/").content.decode()
    assert 'id="pdf-form"' in html and 'enctype="multipart/form-data"' in html
    assert "under the QR code" in html
    assert "No code at hand? Choose the certificate's PDF" in html


def test_the_pdf_alone_is_enough(certificate):
    response = _upload(_pdf(certificate))
    html = response.content.decode()
    assert response.status_code == 200
    check = _section(html, "file-check")
    assert 'data-result="current"' in check and "file-current" in check
    assert "Code read from the file:" in check
    assert codes.display(certificate.verification_code) in check
    result = _section(html, "result")
    assert 'data-status="valid"' in result and "Amina TAZI" in result
    assert {d.strip() for d in response["Cache-Control"].split(",")} == {"private", "no-store"}


def test_an_edited_pdf_alone_is_red_with_the_reason_and_no_green_card(certificate):
    edited = _pdf(certificate).replace(b"Promotion 2019", b"Promotion 2091", 1)
    if edited == _pdf(certificate):  # the name is inside a compressed stream: change a byte
        edited = _pdf(certificate) + b"\n% edited\n"
    html = _upload(edited).content.decode()
    check = _section(html, "file-check")
    assert 'data-result="mismatch"' in check and "file-mismatch" in check
    assert 'role="alert"' in check
    assert "it was edited, or it is another document" in check
    result = _section(html, "result")
    assert 'class="card valid"' not in result and "Valid certificate" not in result
    assert "register for this code:" in result


def test_a_pdf_from_before_the_code_in_its_metadata_is_found_by_its_serial(certificate):
    content = _pdf(certificate)
    keywords = re.search(rb"/Keywords \([^)]*\)", content).group(0)
    older = content.replace(keywords, b"/Keywords ()")
    assert code_from_pdf(older) == certificate.verification_code
    html = _upload(older).content.decode()
    assert 'data-result="mismatch"' in html  # another file than the one issued


def test_a_pdf_without_a_code_says_to_type_the_code():
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    canvas.drawString(100, 700, "Attestation de participation")
    canvas.save()
    response = _upload(buffer.getvalue())
    html = response.content.decode()
    assert response.status_code == 400
    card = _section(html, "result")
    assert 'data-status="no-code"' in card and 'class="card unknown"' in card
    assert "No verification code could be read from this file." in card
    assert "under the QR code, in the field above" in card


def test_posting_nothing_says_what_to_send():
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post("/verify/", {})
    assert response.status_code == 400
    assert "Choose the certificate&#x27;s PDF, or type the code printed on it." in (
        response.content.decode()
    )


def test_the_code_is_printed_in_groups_and_carried_in_the_metadata(certificate):
    grouped = codes.display(certificate.verification_code)
    assert GROUPED.match(grouped)
    reader = PdfReader(io.BytesIO(_pdf(certificate)))
    assert reader.metadata["/Keywords"] == f"verification-code:{grouped}"
    text = reader.pages[0].extract_text()
    assert text.count(grouped) >= 2  # in the French and Arabic rows (and under the QR code)
    assert certificate.verification_code not in text.replace(
        f"/verify/{certificate.verification_code}", ""
    )


@pytest.mark.parametrize(
    "typed",
    [
        lambda c: c,
        lambda c: c.lower(),
        lambda c: codes.display(c),
        lambda c: codes.display(c).lower(),
        lambda c: codes.display(c).replace("-", " "),
        lambda c: codes.display(c).replace("-", "\u2013"),  # a word processor's dash
        lambda c: " " + codes.display(c).replace("-", ".") + " ",
    ],
)
def test_a_code_is_accepted_with_or_without_separators_in_any_case(certificate, typed):
    text = typed(certificate.verification_code)
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get("/verify/", {"code": text})
    assert page.status_code == 200
    assert 'data-status="valid"' in page.content.decode()
    assert codes.display(certificate.verification_code) in page.content.decode()
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en").get(f"/api/v1/certificates/verify/{text.strip()}/")
    assert api.status_code == 200 and api.json()["serial"] == certificate.serial


def test_the_trainee_page_shows_the_code_in_groups(certificate):
    from tests.factories import UserFactory

    user = UserFactory(username="amina-trainee")
    certificate.participant.user = user
    certificate.participant.save(update_fields=["user"])
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    html = client.get("/me/").content.decode()
    assert codes.display(certificate.verification_code) in html
