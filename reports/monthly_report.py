"""The monthly report e-mailed to funders: its PDF, what the e-mail says, how to stop it.

On the 1st of each month, messaging.tasks.send_monthly_reports puts one message per
subscribed funder contact in the outbox (messaging.monthly_report decides who). The sender
composes each one here when it sends it (`compose_monthly_reports`, registered with the
outbox from ReportsConfig.ready), in the contact's language (`FunderProfile.language`),
with the report attached, and drops it if the contact turned the report off or their
account was closed meanwhile.

The attachment is /dashboard/report.pdf as a funder gets it with no filters: the whole
programme, published figures only (small groups withheld), built by the same
`build_dashboard` and `render_dashboard_pdf` as the page. It is built once per month and
language, not per recipient, and stored in the media storage (`report_path`): the first
message of the month in a language builds it, every other one, a retry hours later
included, attaches the stored file, so every contact gets the same figures. Measured on
the demo data (PostgreSQL, this 2-core machine at load 8-9, medians of 9): one build takes
1.0-1.3 s, of which ReportLab's rendering 1.2 s and the figures 0.08 s from the reports'
cache (0.23 s without; about 3 s at national scale, README); reading the stored file back
0.1 ms. Per recipient, that second would be paid by every message; here it is paid at most
three times a month (fr, ar, en), in the sender (one at a time, so one build per file),
well inside its lease, and a retry days later still sends the figures of the 1st.

Unsubscribing: every e-mail carries a link with a token signed by Django's signing module
(the account's id, under a salt of its own, no expiry: last year's e-mail still stops the
next one) that opens a page turning the report off without signing in. The page asks for
one click (a POST): mail scanners open the links of the messages they check, and must not
unsubscribe anyone. The funder turns it on again on their settings page.
"""

import datetime

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, translation
from django.utils.translation import gettext as _

from cohorts import roles
from cohorts.models import FunderProfile, Language, Notification
from cohorts.outbox import Drop, OutgoingMessage, composes
from reports.dashboard import build_dashboard
from reports.pdf import render_dashboard_pdf

_SALT = "reports.monthly_report.unsubscribe"


# The report ----------------------------------------------------------------------------


def report_path(month: datetime.date, language: str) -> str:
    """Where the month's report in `language` is kept in the media storage."""
    return f"reports/monthly/{month:%Y-%m}/progress-report-{month:%Y-%m}-{language}.pdf"


def published_report_pdf(language: str) -> bytes:
    """/dashboard/report.pdf as a funder gets it with no filters, in `language`.

    The dashboard is built for a user; what a funder sees depends only on being a funder
    (reports.caller: the role and every region, the same cache entries for all of them),
    so any funder account gives every funder's figures. One that is a funder and nothing
    else: a funder who is also a manager would see exact figures.
    """
    viewer = _a_funder()
    with translation.override(language):
        return render_dashboard_pdf(build_dashboard(viewer))


def _a_funder():
    candidates = FunderProfile.objects.filter(
        user__is_active=True, user__is_superuser=False, user__manager_profile__isnull=True
    ).select_related("user")
    for profile in candidates.order_by("pk")[:5]:
        if roles.user_role(profile.user) == "funder":
            return profile.user
    raise LookupError("no funder account to build the published report as")


def report_pdf(month: datetime.date, language: str) -> bytes:
    """The month's report in `language`: the stored file, else built now and stored."""
    name = report_path(month, language)
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as handle:
            pdf = handle.read()
        if _whole(pdf):
            return pdf
        # Cut short (the process died while writing it): built again below.
        default_storage.delete(name)
    pdf = published_report_pdf(language)
    # One sender at a time (messaging.sender_lock), so nobody else writes this name now.
    default_storage.save(name, ContentFile(pdf))
    return pdf


def _whole(pdf: bytes) -> bool:
    return pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-64:]


# The e-mail ----------------------------------------------------------------------------


def _month_of(row: Notification) -> datetime.date:
    # messaging.monthly_report.month_ref: the month as 202611.
    year, month = divmod(row.ref or 0, 100)
    return datetime.date(year, month, 1)


def monthly_report_message(
    profile: FunderProfile, *, month: datetime.date, pdf: bytes
) -> OutgoingMessage:
    user = profile.user
    language = profile.language or settings.LANGUAGE_CODE
    with translation.override(language):
        month_label = formats.date_format(month, "F Y")
        subject = _("Région 2021 study cycle: progress report for %(month)s") % {
            "month": month_label
        }
        context = {
            "name": user.get_full_name() or user.get_username(),
            "month": month_label,
            "organisation": profile.organisation.name,
            "threshold": settings.REPORT_SUPPRESSION_THRESHOLD,
            "dashboard_url": f"{settings.SITE_URL}{reverse('web:funder-dashboard')}",
            "settings_url": f"{settings.SITE_URL}{reverse('web:funder-settings')}",
            "unsubscribe_url": unsubscribe_link(user),
            "site_url": settings.SITE_URL,
            "rtl": translation.get_language_bidi(),
            "language": language,
        }
        text = render_to_string("reports/email/monthly_report.txt", context)
        html = render_to_string("reports/email/monthly_report.html", context)
    return OutgoingMessage(
        to=user.email,
        subject=subject,
        text=text,
        html=html,
        attachments=[(f"progress-report-{month:%Y-%m}-{language}.pdf", pdf, "application/pdf")],
    )


@composes(Notification.Kind.MONTHLY_REPORT)
def compose_monthly_reports(rows: list[Notification]) -> dict[int, OutgoingMessage | Drop]:
    profiles = FunderProfile.objects.select_related("user", "organisation").in_bulk(
        [r.user_id for r in rows], field_name="user_id"
    )
    pdfs: dict[tuple[datetime.date, str], bytes] = {}
    composed: dict[int, OutgoingMessage | Drop] = {}
    for row in rows:
        profile = profiles.get(row.user_id)
        if profile is None:
            composed[row.pk] = Drop("no longer a funder account")
        elif not profile.monthly_report:
            composed[row.pk] = Drop("the funder turned the monthly report off")
        elif not profile.user.is_active or not profile.user.email:
            composed[row.pk] = Drop("the account is closed or has no address")
        else:
            month = _month_of(row)
            language = profile.language or settings.LANGUAGE_CODE
            if (month, language) not in pdfs:
                pdfs[month, language] = report_pdf(month, language)
            composed[row.pk] = monthly_report_message(
                profile, month=month, pdf=pdfs[month, language]
            )
    return composed


# Subscribing and unsubscribing ---------------------------------------------------------


def unsubscribe_token(user) -> str:
    return signing.dumps(user.pk, salt=_SALT)


def unsubscribe_link(user) -> str:
    path = reverse("web:monthly-report-unsubscribe", kwargs={"token": unsubscribe_token(user)})
    return f"{settings.SITE_URL}{path}"


def profile_for_token(token: str) -> FunderProfile:
    """The funder account an unsubscribe token names; raises signing.BadSignature for a
    token this site did not sign (tampered, cut), FunderProfile.DoesNotExist for an
    account that is gone."""
    user_id = signing.loads(token, salt=_SALT)
    return FunderProfile.objects.select_related("user", "organisation").get(user_id=user_id)


@transaction.atomic
def monthly_report_unsubscribe(*, token: str) -> FunderProfile:
    """Turn the monthly report off for the account the token names."""
    profile = profile_for_token(token)
    FunderProfile.objects.filter(pk=profile.pk).update(monthly_report=False)
    profile.monthly_report = False
    return profile


@transaction.atomic
def funder_settings_save(
    *, profile: FunderProfile, monthly_report: bool, language: str
) -> FunderProfile:
    """Save a funder's choices: the monthly report on or off, the e-mails' language."""
    if language not in Language.values:
        raise ValueError(f"unknown language {language!r}")
    profile.monthly_report = monthly_report
    profile.language = language
    profile.save(update_fields=["monthly_report", "language"])
    return profile
