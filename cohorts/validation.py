"""Checks that need more than one row, shared by the services and the admin's forms."""

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from cohorts.models import Cohort, Programme


def local_date(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def validate_cohort_year(programme: Programme, year: int) -> None:
    if not programme.start_date.year <= year <= programme.end_date.year:
        raise ValidationError(
            {
                "year": _("The year must fall within the programme (%(start)s–%(end)s).")
                % {"start": programme.start_date.year, "end": programme.end_date.year}
            }
        )


def validate_session_dates(cohort: Cohort, starts_at: datetime, ends_at: datetime) -> None:
    errors: dict[str, str] = {}
    for name, moment in (("starts_at", starts_at), ("ends_at", ends_at)):
        if moment is not None and timezone.is_naive(moment):
            errors[name] = _("Give a date and time with a time zone.")
    if errors:
        raise ValidationError(errors)
    if starts_at and ends_at and ends_at <= starts_at:
        errors["ends_at"] = _("A session must end after it starts.")
    programme = cohort.programme
    for name, moment in (("starts_at", starts_at), ("ends_at", ends_at)):
        if moment and not programme.start_date <= local_date(moment) <= programme.end_date:
            errors.setdefault(
                name,
                _("The session must fall within the programme's dates (%(start)s to %(end)s).")
                % {"start": programme.start_date, "end": programme.end_date},
            )
    if errors:
        raise ValidationError(errors)


def session_minutes(session) -> int:
    """The session's length in whole minutes: the most minutes anyone can attend."""
    return int((session.ends_at - session.starts_at).total_seconds() // 60)


def minutes_attended_error(minutes: int, longest: int) -> str | None:
    """What is wrong with a number of minutes attended, if anything (one message, used by
    the service, the sheet, the admin and the API)."""
    if minutes < 0:
        return _("Minutes attended cannot be negative.")
    if minutes > longest:
        return _("%(minutes)s minutes is longer than the session (%(max)s min).") % {
            "minutes": minutes,
            "max": longest,
        }
    return None


def enrolment_date_error(cohort: Cohort, enrolled_on: date) -> str | None:
    """What is wrong with an enrolment's date for this cohort, if anything: it must fall
    within the cohort's dates (those set)."""
    if cohort.starts_on and enrolled_on < cohort.starts_on:
        return _("Enrolled on %(date)s, before the cohort starts (%(start)s).") % {
            "date": enrolled_on.isoformat(),
            "start": cohort.starts_on.isoformat(),
        }
    if cohort.ends_on and enrolled_on > cohort.ends_on:
        return _("Enrolled on %(date)s, after the cohort ends (%(end)s).") % {
            "date": enrolled_on.isoformat(),
            "end": cohort.ends_on.isoformat(),
        }
    return None
