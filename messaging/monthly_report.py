"""The monthly report to funders: on the 1st, one message per funder contact into the outbox.

Who gets it: every funder account (`FunderProfile`) with the monthly report on (the
default; the funder turns it off on their settings page or from the link in the e-mail)
whose user is active and has an e-mail address. One message per contact and month (its
key), so a second run of the task, or a beat firing twice, puts nothing more.

What the message says and the PDF it carries are the reports room's: it registers the
composer of these messages (reports.monthly_report), which the sender calls when it sends
them; this room, beside reports and not above it, only decides who is due one.
"""

import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from cohorts.models import FunderProfile, Notification
from cohorts.outbox import outbox_put


def report_month(today: datetime.date | None = None) -> datetime.date:
    """The month a run on `today` reports on (its first day): the month before."""
    today = today or timezone.localdate()
    return (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def month_ref(month: datetime.date) -> int:
    """The month as the messages' `ref` (202611): no row of its own to point at."""
    return month.year * 100 + month.month


def monthly_report_recipients() -> QuerySet[FunderProfile]:
    """Funder contacts who get the report: subscribed, active, with an address."""
    return (
        FunderProfile.objects.filter(monthly_report=True, user__is_active=True)
        .exclude(user__email="")
        .select_related("user")
    )


def monthly_reports_put(*, month: datetime.date) -> int:
    """Put the report for `month` to each recipient in the outbox; return how many were
    added (none for a contact who has it already, whatever its status)."""
    messages = [
        Notification(
            key=f"monthly-report:{month:%Y-%m}:{profile.user_id}",
            kind=Notification.Kind.MONTHLY_REPORT,
            user_id=profile.user_id,
            ref=month_ref(month),
        )
        for profile in monthly_report_recipients().order_by("pk")
    ]
    with transaction.atomic():
        return outbox_put(messages)
