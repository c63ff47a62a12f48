import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from certificates.codes import display
from certificates.rules import ExcusedPolicy, Rule
from cohorts.models import Cohort, Programme


class CompletionRule(models.Model):
    """The programme's default rule (cohort empty) or one cohort's own rule."""

    class Excused(models.TextChoices):
        EXCLUDE = ExcusedPolicy.EXCLUDE.value, _("Removed from the count")
        ATTENDED = ExcusedPolicy.ATTENDED.value, _("Counted as attended")
        ABSENT = ExcusedPolicy.ABSENT.value, _("Counted as absent")

    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.CASCADE, related_name="rules"
    )
    cohort = models.OneToOneField(
        Cohort,
        verbose_name=_("cohort"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="completion_rule",
        help_text=_("Empty: the programme's default rule."),
    )
    min_attendance_percent = models.PositiveSmallIntegerField(
        _("minimum attendance (%)"),
        default=80,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    late_counts_as_present = models.BooleanField(_("late counts as present"), default=True)
    excused_policy = models.CharField(
        _("excused absences"), max_length=10, choices=Excused.choices, default=Excused.EXCLUDE
    )
    min_hours = models.DecimalField(
        _("minimum hours attended"), max_digits=6, decimal_places=2, null=True, blank=True
    )

    class Meta:
        verbose_name = _("completion rule")
        verbose_name_plural = _("completion rules")
        constraints = [
            models.UniqueConstraint(
                fields=["programme"],
                condition=Q(cohort__isnull=True),
                name="completion_rule_one_default_per_programme",
                violation_error_message=_("The programme already has a default rule."),
            ),
            models.CheckConstraint(
                condition=Q(min_attendance_percent__lte=100),
                name="completion_rule_percent_max_100",
            ),
        ]

    def __str__(self) -> str:
        scope = self.cohort or _("default")
        return f"{scope}: {self.min_attendance_percent} %"

    def as_rule(self) -> Rule:
        return Rule(
            min_attendance_percent=self.min_attendance_percent,
            late_counts_as_present=self.late_counts_as_present,
            excused_policy=ExcusedPolicy(self.excused_policy),
            min_hours=self.min_hours,
        )


class CohortProgress(Cohort):
    """The cohorts seen from completion: a read-only admin page per cohort."""

    class Meta:
        proxy = True
        verbose_name = _("cohort progress")
        verbose_name_plural = _("cohorts' progress")


class Certificate(models.Model):
    """One completion certificate per (participant, cohort)."""

    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        REVOKED = "revoked", _("Revoked")

    participant = models.ForeignKey(
        "cohorts.Participant",
        verbose_name=_("participant"),
        on_delete=models.PROTECT,
        related_name="certificates",
    )
    cohort = models.ForeignKey(
        Cohort, verbose_name=_("cohort"), on_delete=models.PROTECT, related_name="certificates"
    )
    serial = models.CharField(_("serial number"), max_length=40, unique=True)
    verification_code = models.CharField(_("verification code"), max_length=40, unique=True)
    issued_on = models.DateField(_("issued on"))
    hours_attended = models.DecimalField(_("hours attended"), max_digits=7, decimal_places=2)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ISSUED
    )
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    pdf = models.FileField(_("PDF"), upload_to="certificates/", blank=True)
    sha256 = models.CharField(_("SHA-256 of the PDF"), max_length=64, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revocation_reason = models.CharField(_("revocation reason"), max_length=300, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "cohort"],
                name="certificate_one_per_participant_and_cohort",
                violation_error_message=_(
                    "This participant already has a certificate for this cohort."
                ),
            ),
            models.CheckConstraint(
                condition=Q(status="issued", revoked_at__isnull=True)
                | Q(status="revoked", revoked_at__isnull=False),
                name="certificate_revoked_has_date",
            ),
        ]
        indexes = [models.Index(fields=["cohort", "status", "participant"])]

    def __str__(self) -> str:
        return self.serial

    @property
    def code_display(self) -> str:
        """The verification code in groups, as printed on the certificate."""
        return display(self.verification_code)


class CertificateFile(models.Model):
    """Every PDF ever issued for a certificate: the current one, and superseded ones whose
    hash must stay verifiable (a re-issue after a correction keeps the serial)."""

    certificate = models.ForeignKey(Certificate, on_delete=models.CASCADE, related_name="files")
    version = models.PositiveSmallIntegerField(_("version"))
    pdf = models.FileField(_("PDF"), upload_to="certificates/")
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    created_at = models.DateTimeField(_("created at"))
    superseded_at = models.DateTimeField(_("superseded at"), null=True, blank=True)
    reason = models.CharField(_("reason for re-issue"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("certificate file")
        verbose_name_plural = _("certificate files")
        ordering = ["certificate", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["certificate", "version"], name="certificate_file_one_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.certificate} v{self.version}"


class CertificateBatch(models.Model):
    """Issuing a cohort's certificates in the background, with its progress."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")

    cohort = models.ForeignKey(
        Cohort, verbose_name=_("cohort"), on_delete=models.CASCADE, related_name="batches"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    total = models.PositiveIntegerField(_("to issue"), default=0)
    done = models.PositiveIntegerField(_("issued"), default=0)
    created_at = models.DateTimeField(_("created at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # The run's sign of life (each certificate issued), or when it was last queued: a
    # batch unfinished and silent for a while lost its run (a killed worker, Redis'
    # data), and the sweep queues it again.
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)

    class Meta:
        verbose_name = _("certificate batch")
        verbose_name_plural = _("certificate batches")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.cohort}: {self.done}/{self.total}"


class AttendanceAlert(models.Model):
    """A participant crossed below the cohort's threshold, or can no longer complete.

    One open alert per (enrolment, kind): it is raised once when the line is crossed,
    closed when the participant is back above it, and a later crossing raises a new one.
    Trainee and managers are told once per alert (`notified_at` is claimed before sending).
    """

    class Kind(models.TextChoices):
        BELOW_THRESHOLD = "below", _("Attendance below the threshold")
        UNREACHABLE = "unreachable", _("Completion no longer reachable")

    enrolment = models.ForeignKey(
        "cohorts.Enrolment", on_delete=models.CASCADE, related_name="alerts"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    rate_numerator = models.PositiveIntegerField()
    rate_denominator = models.PositiveIntegerField()
    raised_at = models.DateTimeField(_("raised at"))
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    notified_at = models.DateTimeField(_("notified at"), null=True, blank=True)

    class Meta:
        verbose_name = _("attendance alert")
        verbose_name_plural = _("attendance alerts")
        constraints = [
            models.UniqueConstraint(
                fields=["enrolment", "kind"],
                condition=Q(cleared_at__isnull=True),
                name="attendance_alert_one_open_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.enrolment}: {self.get_kind_display()}"


class ManagerDigest(models.Model):
    """The weekly digest sent to a manager: one per manager and ISO week."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    week = models.CharField(_("ISO week"), max_length=8)  # e.g. 2019-W42
    sessions = models.PositiveIntegerField(_("sessions without attendance"))
    sent_at = models.DateTimeField(_("sent at"))

    class Meta:
        verbose_name = _("manager digest")
        verbose_name_plural = _("manager digests")
        constraints = [
            models.UniqueConstraint(fields=["user", "week"], name="digest_once_per_week")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.week}"


class Credential(models.Model):
    """The Open Badges credential signed for one version of a certificate.

    Its status index (its bit in the published revocation list) is its id. A re-issue or
    a revocation sets `revoked_at`, which sets the bit; the signed JWT never changes.
    """

    class Revocation(models.TextChoices):
        REVOKED = "revoked", _("Revoked")
        SUPERSEDED = "superseded", _("Superseded by a re-issue")

    uid = models.UUIDField(_("identifier"), unique=True, default=uuid.uuid4, editable=False)
    certificate = models.ForeignKey(
        Certificate,
        verbose_name=_("certificate"),
        on_delete=models.CASCADE,
        related_name="credentials",
    )
    version = models.PositiveSmallIntegerField(_("version"))
    salt = models.CharField(_("salt of the identity hash"), max_length=64)
    kid = models.CharField(_("signing key"), max_length=100, blank=True)
    token = models.TextField(_("signed credential (JWT)"), blank=True)
    issued_at = models.DateTimeField(_("issued at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revocation = models.CharField(
        _("revocation"), max_length=10, choices=Revocation.choices, blank=True
    )

    class Meta:
        verbose_name = _("digital credential")
        verbose_name_plural = _("digital credentials")
        constraints = [
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True, revocation="")
                | Q(revoked_at__isnull=False, revocation__in=["revoked", "superseded"]),
                name="credential_revoked_has_date_and_kind",
            )
        ]
        indexes = [models.Index(fields=["certificate", "version"])]

    def __str__(self) -> str:
        return f"{self.certificate} v{self.version} ({self.uid})"

    @property
    def status_index(self) -> int:
        return self.pk
