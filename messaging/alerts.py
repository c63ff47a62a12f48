"""Low-attendance alerts and the managers' weekly digest.

Both are derived from the database by a periodic sweep (and, for alerts, right after
attendance is recorded), and both are sent once: an alert is raised once per crossing of
the threshold, a digest once per manager and week.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from certificates.models import AttendanceAlert, ManagerDigest
from certificates.selectors import enrolments_progress
from cohorts.models import Cohort, Enrolment, ManagerProfile
from cohorts.roles import scope_cohorts
from cohorts.selectors import sessions_to_record
from messaging.channels import EmailChannel, OutgoingMessage

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
    return SweepResult(raised=[a.pk for a in created], cleared=len(to_clear))


def managers_of(cohort: Cohort) -> list:
    """Active managers whose scope covers the cohort, with an e-mail address."""
    regions = cohort.regions.values("code")
    profiles = ManagerProfile.objects.filter(
        Q(all_regions=True) | Q(regions__in=regions), user__is_active=True
    ).exclude(user__email="")
    return list({p.user_id: p.user for p in profiles.select_related("user")}.values())


def _alert_messages(alert: AttendanceAlert) -> list[OutgoingMessage]:
    enrolment = alert.enrolment
    participant, cohort = enrolment.participant, enrolment.cohort
    rate = f"{alert.rate_numerator}/{alert.rate_denominator}"
    messages = []
    if participant.email:
        with translation.override(participant.preferred_language or settings.LANGUAGE_CODE):
            if alert.kind == Kind.BELOW_THRESHOLD:
                subject = _("Your attendance in %(cohort)s") % {"cohort": cohort.name}
                text = _(
                    "Hello %(name)s,\n\nYour attendance in %(cohort)s is now %(rate)s, below "
                    "what the certificate requires. The next sessions can still change that.\n"
                ) % {"name": participant.full_name, "cohort": cohort.name, "rate": rate}
            else:
                subject = _("Your certificate for %(cohort)s") % {"cohort": cohort.name}
                text = _(
                    "Hello %(name)s,\n\nWith the sessions left, the attendance the certificate "
                    "of %(cohort)s requires can no longer be reached. Your programme manager "
                    "can tell you more.\n"
                ) % {"name": participant.full_name, "cohort": cohort.name}
        messages.append(OutgoingMessage(to=participant.email, subject=subject, text=text))
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Attendance alert: %(name)s (%(cohort)s)") % {
            "name": participant.full_name, "cohort": cohort.name,
        }  # fmt: skip
        text = _("%(name)s (%(region)s), %(cohort)s: %(kind)s — attendance %(rate)s.\n") % {
            "name": participant.full_name, "region": participant.region_id,
            "cohort": cohort.name, "kind": alert.get_kind_display(), "rate": rate,
        }  # fmt: skip
    messages += [
        OutgoingMessage(to=u.email, subject=subject, text=text) for u in managers_of(cohort)
    ]
    return messages


def alert_notify(alert_id: int, channel=None) -> bool:
    """Tell the trainee and the cohort's managers, once: claim, send, release on failure."""
    now = timezone.now()
    claimed = AttendanceAlert.objects.filter(pk=alert_id, notified_at__isnull=True).update(
        notified_at=now
    )
    if not claimed:
        return False
    alert = AttendanceAlert.objects.select_related(
        "enrolment__participant", "enrolment__cohort"
    ).get(pk=alert_id)
    try:
        (channel or EmailChannel()).send_batch(_alert_messages(alert))
    except Exception:
        AttendanceAlert.objects.filter(pk=alert_id, notified_at=now).update(notified_at=None)
        raise
    return True


def digests_send(now=None, channel=None) -> int:
    """Each manager's weekly digest of ended sessions still without attendance, once."""
    now = now or timezone.now()
    year, week, _day = timezone.localtime(now).isocalendar()
    label = f"{year}-W{week:02d}"
    sent = 0
    profiles = ManagerProfile.objects.filter(user__is_active=True).exclude(user__email="")
    for profile in profiles.select_related("user"):
        user = profile.user
        sessions = list(
            sessions_to_record(scope_cohorts(Cohort.objects.all(), user), now=now).order_by(
                "starts_at"
            )
        )
        if not sessions:
            continue
        try:
            with transaction.atomic():
                digest = ManagerDigest.objects.create(
                    user=user, week=label, sessions=len(sessions), sent_at=now
                )
        except IntegrityError:
            continue  # already sent this week
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("Attendance to record: %(n)s session(s)") % {"n": len(sessions)}
            lines = [
                f"- {timezone.localtime(s.starts_at):%Y-%m-%d %H:%M} {s.title} ({s.cohort.name}): "
                + _("%(missing)s of %(expected)s not recorded")
                % {
                    "missing": s.n_expected - s.n_marked,  # type: ignore[attr-defined]
                    "expected": s.n_expected,  # type: ignore[attr-defined]
                }
                for s in sessions
            ]
            text = (
                _(
                    "Sessions that have ended with attendance not recorded for everyone. "
                    "Until they are, the people concerned cannot obtain their certificate:"
                )
                + "\n"
                + "\n".join(lines)
            )
        try:
            (channel or EmailChannel()).send_batch(
                [OutgoingMessage(to=user.email, subject=subject, text=text)]
            )
        except Exception:
            digest.delete()  # release: the next run tries again
            raise
        sent += 1
    return sent
