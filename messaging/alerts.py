"""Low-attendance alerts and the managers' weekly digest.

Both are derived from the database by a periodic sweep (and, for alerts, right after
attendance is recorded), and both are put in the outbox once, in the transaction that
records them: an alert is raised once per crossing of the threshold (one message to the
trainee, one to each manager of the cohort), a digest once per manager and week. The
outbox sends them (messaging.outbox); what they say is composed then.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from certificates.models import AttendanceAlert, ManagerDigest
from certificates.selectors import enrolments_progress
from cohorts.models import Cohort, Enrolment, ManagerProfile, Notification
from cohorts.outbox import Drop, OutgoingMessage, composes, outbox_put
from cohorts.roles import scope_cohorts
from cohorts.selectors import sessions_to_record
from messaging.failures import failures_this_week
from messaging.naming import email_name, tidy, unnamed_in_emails

Kind = AttendanceAlert.Kind


@dataclass(frozen=True)
class SweepResult:
    raised: list[int]
    cleared: int


@transaction.atomic
def alerts_sweep(*, cohort_ids: list[int] | None = None, now=None) -> SweepResult:
    """Raise an alert for each new crossing, close the alerts no longer true."""
    now = now or timezone.now()
    running = Cohort.objects.annotate(last=Max("sessions__ends_at")).filter(last__gt=now)
    if cohort_ids is not None:
        running = running.filter(pk__in=cohort_ids)
    enrolments = Enrolment.objects.filter(
        cohort__in=running.values("pk"), status=Enrolment.Status.ACTIVE
    )
    rows = enrolments_progress(enrolments, now=now)
    open_alerts = {
        (a.enrolment_id, a.kind): a
        for a in AttendanceAlert.objects.filter(enrolment__in=enrolments, cleared_at__isnull=True)
    }
    raised, to_clear = [], []
    for row in rows:
        progress = row.progress
        # On the sessions recorded only: a session the managers have not recorded yet must
        # not tell a trainee their attendance is low.
        recorded = progress.recorded_rate
        counted = recorded.denominator >= settings.ALERT_MIN_SESSIONS
        conditions = {
            Kind.BELOW_THRESHOLD: counted and not recorded.meets(progress.threshold_percent),
            Kind.UNREACHABLE: not progress.reachable,
        }
        for kind, holds in conditions.items():
            alert = open_alerts.get((row.enrolment.pk, kind))
            if holds and alert is None:
                raised.append(
                    AttendanceAlert(
                        enrolment=row.enrolment,
                        kind=kind,
                        rate_numerator=recorded.numerator,
                        rate_denominator=recorded.denominator,
                        raised_at=now,
                    )
                )
            elif not holds and alert is not None:
                to_clear.append(alert.pk)
    AttendanceAlert.objects.filter(pk__in=to_clear).update(cleared_at=now)
    created = AttendanceAlert.objects.bulk_create(raised)
    alerts_put(created, now=now)
    return SweepResult(raised=[a.pk for a in created], cleared=len(to_clear))


def managers_of(cohort: Cohort) -> list:
    """Active managers whose scope covers the cohort, with an e-mail address."""
    regions = cohort.regions.values("code")
    profiles = ManagerProfile.objects.filter(
        Q(all_regions=True) | Q(regions__in=regions), user__is_active=True
    ).exclude(user__email="")
    return list({p.user_id: p.user for p in profiles.select_related("user")}.values())


def alerts_put(alerts: list[AttendanceAlert], *, now=None) -> int:
    """Put each alert's messages in the outbox (the trainee's, each manager's) and mark
    it notified, in the caller's transaction; again for an alert, nothing more."""
    now = now or timezone.now()
    messages = []
    for alert in alerts:
        enrolment = alert.enrolment
        if enrolment.participant.email:
            messages.append(
                Notification(
                    key=f"alert:{alert.pk}:trainee", kind=Notification.Kind.ALERT, ref=alert.pk,
                    participant_id=enrolment.participant_id,
                )
            )  # fmt: skip
        messages += [
            Notification(
                key=f"alert:{alert.pk}:manager:{user.pk}", kind=Notification.Kind.ALERT_MANAGER,
                ref=alert.pk, user=user, participant_id=enrolment.participant_id,
            )
            for user in managers_of(enrolment.cohort)
        ]  # fmt: skip
    AttendanceAlert.objects.filter(pk__in=[a.pk for a in alerts], notified_at__isnull=True).update(
        notified_at=now
    )
    return outbox_put(messages)


@composes(Notification.Kind.ALERT, Notification.Kind.ALERT_MANAGER)
def compose_alerts(rows: list[Notification]) -> dict[int, OutgoingMessage | Drop]:
    alerts = AttendanceAlert.objects.select_related(
        "enrolment__participant", "enrolment__cohort"
    ).in_bulk([r.ref for r in rows])
    unnamed = unnamed_in_emails(
        a.enrolment.participant_id
        for r in rows
        if r.kind == Notification.Kind.ALERT and (a := alerts.get(r.ref or 0)) is not None
    )
    composed: dict[int, OutgoingMessage | Drop] = {}
    for row in rows:
        alert = alerts.get(row.ref or 0)
        if alert is None:
            composed[row.pk] = Drop("the alert is gone")
        elif alert.cleared_at is not None:
            composed[row.pk] = Drop("attendance is back above the line")
        elif row.kind == Notification.Kind.ALERT:
            composed[row.pk] = _trainee_alert(alert, unnamed)
        elif row.user is None or not row.user.is_active or not row.user.email:
            composed[row.pk] = Drop("the manager's account is closed or has no address")
        else:
            composed[row.pk] = _manager_alert(alert, row.user.email)
    return composed


def _trainee_alert(
    alert: AttendanceAlert, unnamed: set[int] | None = None
) -> OutgoingMessage | Drop:
    participant, cohort = alert.enrolment.participant, alert.enrolment.cohort
    if not participant.email:
        return Drop("no e-mail address")
    rate = f"{alert.rate_numerator}/{alert.rate_denominator}"
    with translation.override(participant.preferred_language or settings.LANGUAGE_CODE):
        if alert.kind == Kind.BELOW_THRESHOLD:
            subject = _("Your attendance in %(cohort)s") % {"cohort": cohort.display_title}
            text = _(
                "Hello %(name)s,\n\nYour attendance in %(cohort)s is now %(rate)s, below "
                "what the certificate requires. The next sessions can still change that.\n"
            ) % {"name": email_name(participant, unnamed), "cohort": cohort.name, "rate": rate}
        else:
            subject = _("Your certificate for %(cohort)s") % {"cohort": cohort.display_title}
            text = _(
                "Hello %(name)s,\n\nWith the sessions left, the attendance the certificate "
                "of %(cohort)s requires can no longer be reached. Your programme manager "
                "can tell you more.\n"
            ) % {"name": email_name(participant, unnamed), "cohort": cohort.display_title}
    return OutgoingMessage(to=participant.email, subject=subject, text=tidy(text))


def _manager_alert(alert: AttendanceAlert, address: str) -> OutgoingMessage:
    participant, cohort = alert.enrolment.participant, alert.enrolment.cohort
    rate = f"{alert.rate_numerator}/{alert.rate_denominator}"
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Attendance alert: %(name)s (%(cohort)s)") % {
            "name": participant.full_name, "cohort": cohort.name,
        }  # fmt: skip
        text = _("%(name)s (%(region)s), %(cohort)s: %(kind)s — attendance %(rate)s.\n") % {
            "name": participant.full_name, "region": participant.region_id,
            "cohort": cohort.name, "kind": alert.get_kind_display(), "rate": rate,
        }  # fmt: skip
    return OutgoingMessage(to=address, subject=subject, text=text)


def alert_notify(alert_id: int) -> bool:
    """Put an alert's messages in the outbox if they are not there yet (an alert raised
    before the outbox existed); True if any was added."""
    alert = (
        AttendanceAlert.objects.select_related("enrolment__participant", "enrolment__cohort")
        .filter(pk=alert_id, cleared_at__isnull=True)
        .first()
    )
    return alert is not None and alerts_put([alert]) > 0


def digests_send(now=None) -> int:
    """Put each manager's weekly digest in the outbox, once per week; return how many.

    A manager gets one when ended sessions in their scope still lack attendance, or when
    messages to their people could not be delivered this week; the lists are composed when
    the digest is sent, so they are the ones of that moment.
    """
    now = now or timezone.now()
    year, week, _day = timezone.localtime(now).isocalendar()
    label = f"{year}-W{week:02d}"
    put = 0
    profiles = ManagerProfile.objects.filter(user__is_active=True).exclude(user__email="")
    for profile in profiles.select_related("user"):
        user = profile.user
        count = _sessions_to_record(user, now).count()
        if not count and not failures_this_week(user, now):
            continue
        with transaction.atomic():
            digest, created = ManagerDigest.objects.get_or_create(
                user=user, week=label, defaults={"sessions": count, "sent_at": now}
            )
            put += outbox_put(
                [
                    Notification(
                        key=f"digest:{user.pk}:{label}", kind=Notification.Kind.DIGEST,
                        ref=digest.pk, user=user,
                    )
                ]
            )  # fmt: skip
    return put


def _sessions_to_record(user, now):
    return sessions_to_record(scope_cohorts(Cohort.objects.all(), user), now=now)


@composes(Notification.Kind.DIGEST)
def compose_digests(rows: list[Notification]) -> dict[int, OutgoingMessage | Drop]:
    composed: dict[int, OutgoingMessage | Drop] = {}
    now = timezone.now()
    for row in rows:
        user = row.user
        if user is None or not user.is_active or not user.email:
            composed[row.pk] = Drop("the manager's account is closed or has no address")
            continue
        sessions = list(_sessions_to_record(user, now).order_by("starts_at"))
        failures = failures_this_week(user, now)
        if not sessions and not failures:
            composed[row.pk] = Drop("every session has been recorded since")
            continue
        composed[row.pk] = _digest(user.email, sessions, failures)
    return composed


def _digest(address: str, sessions: list, failures: list[Notification]) -> OutgoingMessage:
    with translation.override(settings.LANGUAGE_CODE):
        if sessions:
            subject = _("Attendance to record: %(n)s session(s)") % {"n": len(sessions)}
        else:
            subject = _("Messages not delivered: %(n)s") % {"n": len(failures)}
        parts = []
        if sessions:
            lines = [
                f"- {timezone.localtime(s.starts_at):%Y-%m-%d %H:%M} {s.title} "
                f"({s.cohort.name}): "
                + _("%(missing)s of %(expected)s not recorded")
                % {
                    "missing": s.n_expected - s.n_marked,
                    "expected": s.n_expected,
                }
                for s in sessions
            ]
            parts.append(
                _(
                    "Sessions that have ended with attendance not recorded for everyone. "
                    "Until they are, the people concerned cannot obtain their certificate:"
                )
                + "\n"
                + "\n".join(lines)
                + "\n\n"
                # The managers' page of sessions to record (web's URL; messaging knows
                # no interface, hence the path written out).
                + _("Record them from your phone: %(url)s")
                % {"url": f"{settings.SITE_URL}/manage/sessions/"}
            )
        if failures:
            lines = [
                f"- {timezone.localtime(f.created_at):%Y-%m-%d} "
                f"{f.participant.full_name if f.participant else f.address}: "
                f"{f.get_kind_display()} → {f.address or '—'} ({f.last_error})"
                for f in failures
            ]
            parts.append(
                _(
                    "Messages that could not be delivered this week (check the address, "
                    "then try again from the administration):"
                )
                + "\n"
                + "\n".join(lines)
            )
        text = "\n\n".join(parts)
    return OutgoingMessage(to=address, subject=subject, text=text)
