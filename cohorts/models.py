"""The programme's domain: regions, organisations, participants, cohorts, sessions,
enrolments and attendance. Writes go through `cohorts.services`."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Language(models.TextChoices):
    FRENCH = "fr", _("French")
    ARABIC = "ar", _("Arabic")
    ENGLISH = "en", _("English")


def in_language(language: str | None, *, fr: str, ar: str = "", en: str = "") -> str:
    """The text for a reader of language (fr, ar, en or a variant), French when it is missing."""
    chosen = {"ar": ar, "en": en}.get((language or "fr")[:2], "")
    return chosen or fr


class TitledInLanguages:
    """A cohort's name or a session's title in the reader's language (French the fallback)."""

    TITLE_FIELDS: tuple[str, str, str]  # the French, Arabic and English fields

    def title_in(self, language: str | None) -> str:
        fr, ar, en = (getattr(self, field) for field in self.TITLE_FIELDS)
        return in_language(language, fr=fr, ar=ar, en=en)

    @property
    def display_title(self) -> str:
        """title_in the active language (for templates)."""
        from django.utils import translation

        return self.title_in(translation.get_language())


class Programme(models.Model):
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    # Annotated: django-stubs cannot infer the types of an M2M to a model named by string
    # (declared below); the through model is Django's auto-created one.
    partners: "models.ManyToManyField[Organisation, models.Model]" = models.ManyToManyField(
        "Organisation", verbose_name=_("partners"), blank=True, related_name="programmes"
    )

    class Meta:
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")),
                name="programme_ends_after_start",
                violation_error_message=_("The programme must end after it starts."),
            )
        ]

    def __str__(self) -> str:
        return self.name


class Signatory(models.Model):
    """Who signs the programme's certificates, on the left or the right signature line."""

    class Line(models.IntegerChoices):
        LEFT = 1, _("Left")
        RIGHT = 2, _("Right")

    programme = models.ForeignKey(
        Programme,
        verbose_name=_("programme"),
        on_delete=models.CASCADE,
        related_name="signatories",
    )
    line = models.PositiveSmallIntegerField(_("signature line"), choices=Line.choices)
    name_fr = models.CharField(_("name"), max_length=150)
    title_fr = models.CharField(_("title"), max_length=200, help_text=_("In French."))
    name_ar = models.CharField(_("name (Arabic)"), max_length=150, blank=True)
    title_ar = models.CharField(_("title (Arabic)"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("signatory")
        verbose_name_plural = _("signatories")
        ordering = ["programme", "line"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "line"], name="one_signatory_per_line")
        ]

    def __str__(self) -> str:
        return f"{self.name_fr} — {self.title_fr}"


class Region(models.Model):
    """One of Morocco's 12 regions (2015 division), keyed by its ISO 3166-2 code."""

    code = models.CharField(_("ISO code"), max_length=5, primary_key=True)
    name_fr = models.CharField(_("name (French)"), max_length=100, unique=True)
    name_ar = models.CharField(_("name (Arabic)"), max_length=100, unique=True)
    capital = models.CharField(_("capital"), max_length=100)

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name_fr}"


class Organisation(models.Model):
    class Kind(models.TextChoices):
        PILOT = "pilot", _("Pilot")
        PARTNER = "partner", _("Partner")
        FUNDER = "funder", _("Funder")
        MINISTRY = "ministry", _("Supporting ministry")

    short_name = models.CharField(_("short name"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    country = models.CharField(_("country"), max_length=2, help_text=_("ISO 3166-1 code"))

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["short_name"]

    def __str__(self) -> str:
        return self.short_name


class Participant(models.Model):
    """A trainee. No political affiliation is stored (sensitive data, law 09-08)."""

    class Sex(models.TextChoices):
        FEMALE = "F", _("Female")
        MALE = "M", _("Male")

    class Role(models.TextChoices):
        ELECTED = "elu", _("Elected official")
        STAFF = "cadre", _("Staff")

    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    first_name_ar = models.CharField(_("first name (Arabic)"), max_length=100, blank=True)
    last_name_ar = models.CharField(_("last name (Arabic)"), max_length=100, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    role = models.CharField(_("role"), max_length=5, choices=Role.choices)
    position = models.CharField(_("position"), max_length=200, blank=True)
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="participants"
    )
    email = models.EmailField(_("e-mail"), null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=2, choices=Language.choices, default=Language.FRENCH
    )
    consent_date = models.DateField(_("consent date"), null=True, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="participant",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                condition=Q(email__isnull=False),
                name="participant_email_unique",
                violation_error_message=_("Another participant already has this e-mail."),
            ),
            models.CheckConstraint(condition=Q(sex__in=["F", "M"]), name="participant_sex_valid"),
            models.CheckConstraint(
                condition=Q(role__in=["elu", "cadre"]), name="participant_role_valid"
            ),
            models.CheckConstraint(condition=~Q(email=""), name="participant_email_null_not_blank"),
        ]
        indexes = [models.Index(fields=["region", "sex", "role"])]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name.upper()}"

    @property
    def full_name_ar(self) -> str:
        return f"{self.first_name_ar} {self.last_name_ar}".strip()


class Cohort(TitledInLanguages, models.Model):
    """A group trained together within one programme year, covering one or more regions."""

    TITLE_FIELDS = ("name", "name_ar", "name_en")

    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.PROTECT, related_name="cohorts"
    )
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200, help_text=_("In French."))
    name_ar = models.CharField(
        _("name (Arabic)"), max_length=200, blank=True, help_text=_("Empty: the French name.")
    )
    name_en = models.CharField(
        _("name (English)"), max_length=200, blank=True, help_text=_("Empty: the French name.")
    )
    year = models.PositiveSmallIntegerField(_("programme year"))
    regions = models.ManyToManyField(Region, verbose_name=_("regions"), related_name="cohorts")
    # The days enrolments may be dated within (recruitment opens, the cohort closes);
    # unset: not checked on that side.
    starts_on = models.DateField(
        _("starts on"),
        null=True,
        blank=True,
        help_text=_("The first day an enrolment may be dated (recruitment opens)."),
    )
    ends_on = models.DateField(
        _("ends on"),
        null=True,
        blank=True,
        help_text=_("The last day an enrolment may be dated (the cohort closes)."),
    )

    class Meta:
        verbose_name = _("cohort")
        verbose_name_plural = _("cohorts")
        ordering = ["year", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(year__gte=2000, year__lte=2100), name="cohort_year_plausible"
            ),
            models.CheckConstraint(
                condition=Q(starts_on__isnull=True)
                | Q(ends_on__isnull=True)
                | Q(ends_on__gte=models.F("starts_on")),
                name="cohort_ends_after_start",
                violation_error_message=_("A cohort must end after it starts."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TrainingSession(TitledInLanguages, models.Model):
    TITLE_FIELDS = ("title", "title_ar", "title_en")

    class Modality(models.TextChoices):
        IN_PERSON = "in_person", _("In person")
        REMOTE = "remote", _("Remote")
        HYBRID = "hybrid", _("Hybrid")

    cohort = models.ForeignKey(
        Cohort, verbose_name=_("cohort"), on_delete=models.PROTECT, related_name="sessions"
    )
    title = models.CharField(_("title"), max_length=200, help_text=_("In French."))
    title_ar = models.CharField(
        _("title (Arabic)"), max_length=200, blank=True, help_text=_("Empty: the French title.")
    )
    title_en = models.CharField(
        _("title (English)"), max_length=200, blank=True, help_text=_("Empty: the French title.")
    )
    theme = models.CharField(_("theme"), max_length=200, blank=True)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    city = models.CharField(_("city"), max_length=100, blank=True)
    venue = models.CharField(_("venue"), max_length=200, blank=True)
    online_url = models.URLField(_("online link"), blank=True)
    modality = models.CharField(
        _("modality"), max_length=10, choices=Modality.choices, default=Modality.IN_PERSON
    )
    planned_hours = models.DecimalField(
        _("planned hours"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(0)],
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("training session")
        verbose_name_plural = _("training sessions")
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="session_ends_after_start",
                violation_error_message=_("A session must end after it starts."),
            ),
            models.CheckConstraint(
                condition=Q(planned_hours__gte=0), name="session_planned_hours_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["cohort", "starts_at"]),
            # The sessions held per cohort (every progress report counts them) from the
            # index alone: no visit to the table, no sort (3 ms instead of 15 at national
            # scale, bench/report.py).
            models.Index(
                fields=["cohort", "starts_at"],
                condition=Q(cancelled_at__isnull=True),
                name="session_not_cancelled",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.starts_at:%Y-%m-%d})"


class Enrolment(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    participant = models.ForeignKey(
        Participant,
        verbose_name=_("participant"),
        on_delete=models.PROTECT,
        related_name="enrolments",
    )
    cohort = models.ForeignKey(
        Cohort, verbose_name=_("cohort"), on_delete=models.PROTECT, related_name="enrolments"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    enrolled_on = models.DateField(_("enrolled on"))
    withdrawn_on = models.DateField(_("withdrawn on"), null=True, blank=True)
    withdrawal_reason = models.CharField(_("withdrawal reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        ordering = ["cohort", "participant"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "cohort"],
                name="enrolment_unique_per_cohort",
                violation_error_message=_("This participant is already enrolled in this cohort."),
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="active", withdrawn_on__isnull=True)
                    | Q(status="withdrawn", withdrawn_on__isnull=False)
                ),
                name="enrolment_withdrawn_has_date",
                violation_error_message=_("A withdrawal needs a date, and only a withdrawal."),
            ),
            models.CheckConstraint(
                condition=Q(withdrawn_on__isnull=True)
                | Q(withdrawn_on__gte=models.F("enrolled_on")),
                name="enrolment_withdrawn_after_enrolled",
                violation_error_message=_("A withdrawal cannot precede the enrolment."),
            ),
        ]
        indexes = [models.Index(fields=["cohort", "status", "participant"])]

    def __str__(self) -> str:
        return f"{self.participant} — {self.cohort}"


class Attendance(models.Model):
    """One mark per (participant, session). The database also refuses a mark for a
    participant who is not enrolled in the session's cohort (a trigger, see migrations)."""

    class Status(models.TextChoices):
        PRESENT = "present", _("Present")
        LATE = "late", _("Late")
        EXCUSED = "excused", _("Excused")
        ABSENT = "absent", _("Absent")

    participant = models.ForeignKey(
        Participant,
        verbose_name=_("participant"),
        on_delete=models.PROTECT,
        related_name="attendances",
    )
    session = models.ForeignKey(
        TrainingSession,
        verbose_name=_("session"),
        on_delete=models.PROTECT,
        related_name="attendances",
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    minutes_attended = models.PositiveIntegerField(_("minutes attended"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("attendance mark")
        verbose_name_plural = _("attendance marks")
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "session"],
                name="attendance_unique_per_session",
                violation_error_message=_("This participant already has a mark for this session."),
            ),
            models.CheckConstraint(
                condition=Q(status__in=["present", "late", "excused", "absent"]),
                name="attendance_status_valid",
            ),
        ]
        # The reports count marks per session and status; the covering index lets
        # PostgreSQL answer from the index alone.
        indexes = [models.Index(fields=["session", "status", "participant"])]

    def __str__(self) -> str:
        return f"{self.participant} @ {self.session}: {self.get_status_display()}"


class ProgressSummary(models.Model):
    """One row per enrolment: its marks counted as the completion rule counts them, kept
    up to date in the same transaction as every write that changes them (cohorts.progress).

    What it holds does not depend on the time of day: the marks on the sessions that count
    for the enrolment (its cohort's, not cancelled, between `counts_from` and
    `counts_until`), and where those sessions sit among the cohort's sessions in order of
    start: `sessions_before` start before `counts_from`, `sessions_until` before
    `counts_until`. The sessions held by now are a prefix of that order, so a report
    counts those held in the window from the cohort's number held (H) alone:
    max(0, min(H, sessions_until) - sessions_before). The summary never goes stale as time
    passes, and the reports aggregate these rows instead of the million marks.
    """

    enrolment = models.OneToOneField(
        Enrolment, on_delete=models.CASCADE, primary_key=True, related_name="progress_summary"
    )
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="+")
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="+")
    # Copies of the report keys (the participant's region, sex and role, the cohort's
    # year), refreshed when those change, so a report reads this table alone.
    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="+")
    sex = models.CharField(max_length=1)
    role = models.CharField(max_length=5)
    year = models.PositiveSmallIntegerField()
    # Whether this is the person's first enrolment (smallest id), and their first in the
    # cohort's year: a report counts distinct people by adding these up instead of
    # sorting every participant id (COUNT DISTINCT), see reports.selectors.
    first_of_person = models.BooleanField(default=True)
    first_of_person_in_year = models.BooleanField(default=True)
    # Which groups this is its cohort's first enrolment in (smallest id), one bit per
    # subset of the participant's keys (cohorts.progress.COHORT_FIRST_KEYS): bit m is set
    # when no enrolment of the same cohort with a smaller id has the same values of the
    # keys in subset m (bit 1: its cohort's first; bit 2: first of its region; ...). A
    # report counts each cohort's sessions once per group by adding up the rows with the
    # group's bit, instead of finding the distinct (group, cohort) pairs; see
    # reports.selectors. Recomputed for the whole cohort whenever a summary is written.
    cohort_firsts = models.PositiveSmallIntegerField(default=0)
    withdrawn = models.BooleanField(default=False)
    # Whether the person holds an issued certificate for the cohort. Kept by the certificates
    # app (certificates.signals, after every certificate write and every summary written),
    # since this app knows nothing of certificates; the reports then need no join.
    certified = models.BooleanField(default=False)
    # The sessions that count start at or after `counts_from` and before `counts_until`
    # (the local day of enrolment, and the day after withdrawal or a far-off date).
    counts_from = models.DateTimeField()
    counts_until = models.DateTimeField()
    sessions_before = models.PositiveIntegerField(default=0)
    sessions_until = models.PositiveIntegerField(default=0)
    n_present = models.PositiveIntegerField(default=0)
    n_late = models.PositiveIntegerField(default=0)
    n_excused = models.PositiveIntegerField(default=0)
    n_absent = models.PositiveIntegerField(default=0)
    # Present and late marks' time, in hundredths of a minute (an hour is 6000): minutes
    # recorded, else the session's planned hours. Integers add up exactly in SQL.
    centiminutes_attended = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("progress summary")
        verbose_name_plural = _("progress summaries")

    def __str__(self) -> str:
        return f"summary of enrolment {self.pk}"


class ProgressYear(models.Model):
    """An enrolment's marks in one calendar year (local time), kept with its progress
    summary (cohorts.progress): every mark on its cohort's sessions not cancelled, whatever
    the counting window, as the timeline counts them. The timeline by year adds these up
    (about one row per enrolment) instead of reading the million marks; rows exist only
    for years with marks."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    n_marked = models.PositiveIntegerField(default=0)
    n_present = models.PositiveIntegerField(default=0)
    n_late = models.PositiveIntegerField(default=0)
    n_excused = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("marks of a year")
        verbose_name_plural = _("marks per year")
        constraints = [
            models.UniqueConstraint(fields=["enrolment", "year"], name="progressyear_unique")
        ]

    def __str__(self) -> str:
        return f"marks of enrolment {self.enrolment_id} in {self.year}"


class ChangeAction(models.TextChoices):
    CREATED = "created", _("Created")
    UPDATED = "updated", _("Updated")
    DELETED = "deleted", _("Deleted")


class HistoryEntry(models.Model):
    """Who changed a row, when, and what it was before and after (JSON snapshots)."""

    action = models.CharField(_("action"), max_length=10, choices=ChangeAction.choices)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        abstract = True
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.changed_at:%Y-%m-%d %H:%M}"


class AttendanceHistory(HistoryEntry):
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="+")
    session = models.ForeignKey(TrainingSession, on_delete=models.CASCADE, related_name="+")

    class Meta(HistoryEntry.Meta):
        verbose_name = _("attendance change")
        verbose_name_plural = _("attendance history")
        indexes = [models.Index(fields=["session", "participant"])]


class EnrolmentHistory(HistoryEntry):
    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="history")

    class Meta(HistoryEntry.Meta):
        verbose_name = _("enrolment change")
        verbose_name_plural = _("enrolment history")


class Notification(models.Model):
    """The outbox: one row per outgoing message, whatever its kind, sent at most once per
    crash (see messaging.outbox).

    The `key` names the message (its kind, its subject and its recipient; a reminder also
    carries the session's start, so a moved session gets fresh reminders): whoever puts a
    message in the outbox twice, it is there once. A sender claims a few due rows with a
    lease, sends each and marks it sent as soon as the mail server has accepted it, so a
    sender that dies repeats at most the message that was on the wire; a lease that
    expires hands the rest back to the next sender. What the message says is composed when
    it is sent (`ref` points at the alert, certificate, account e-mail or digest it is
    about), in the recipient's language.
    """

    class Kind(models.TextChoices):
        REMINDER = "reminder", _("Session reminder")
        CHANGED = "changed", _("Session changed")
        CANCELLED = "cancelled", _("Session cancelled")
        ALERT = "alert", _("Attendance alert to the trainee")
        ALERT_MANAGER = "alert_manager", _("Attendance alert to a manager")
        DIGEST = "digest", _("Weekly digest")
        CERTIFICATE = "certificate", _("Certificate")
        INVITATION = "invitation", _("Account invitation")
        RESET = "reset", _("Password reset")
        MONTHLY_REPORT = "monthly_report", _("Monthly report to a funder")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        # No longer to be sent: the session moved again, the person withdrew, the
        # certificate was revoked, the invitation was accepted meanwhile.
        DROPPED = "dropped", _("Not needed any more")

    key = models.CharField(_("key"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    participant = models.ForeignKey(
        Participant,
        verbose_name=_("participant"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    # The recipient's account when it is one (a manager, an account e-mail's user).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user account"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    session = models.ForeignKey(
        TrainingSession,
        verbose_name=_("session"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    # The row the message is about, for the kinds that have one (alert, certificate,
    # account e-mail, digest), by id: those tables sit in other apps.
    ref = models.PositiveBigIntegerField(_("about"), null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=20, default="email")
    # Lower goes first: someone waiting for a password reset before a batch of reminders.
    priority = models.PositiveSmallIntegerField(_("priority"), default=5)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # Not before this moment (a retry's backoff); none: at once.
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    claim = models.CharField(_("claim"), max_length=32, blank=True)  # the sender holding it
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    address = models.CharField(_("address"), max_length=254, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("outbox")
        indexes = [
            models.Index(fields=["session", "kind", "participant"]),
            # The senders' and the sweep's question, "what is due?", reads only the rows
            # still to send: a small index however long the log grows.
            models.Index(
                fields=["priority", "id"],
                name="outbox_unsent",
                condition=Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["ref", "kind"], name="outbox_ref"),
            # The failed ones, for the sweep's count and the managers' lists: as small.
            models.Index(
                fields=["-created_at"], name="outbox_failed", condition=Q(status="failed")
            ),
        ]

    def __str__(self) -> str:
        return self.key


class ManagerProfile(models.Model):
    """A programme manager's scope: every region, or only the regions listed."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="manager_profile"
    )
    all_regions = models.BooleanField(_("all regions"), default=False)
    regions = models.ManyToManyField(Region, verbose_name=_("regions"), blank=True)

    class Meta:
        verbose_name = _("manager scope")
        verbose_name_plural = _("manager scopes")

    def __str__(self) -> str:
        return str(self.user)


class FunderProfile(models.Model):
    """A funder or partner user: sees aggregates only, on behalf of an organisation."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="funder_profile"
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.PROTECT
    )
    # The monthly report e-mailed on the 1st (reports.monthly_report): on unless the funder
    # turns it off, on their settings page or from the link in the e-mail.
    monthly_report = models.BooleanField(
        _("monthly report by e-mail"),
        default=True,
        help_text=_("The programme's progress report, e-mailed on the 1st of each month."),
    )
    language = models.CharField(
        _("language of e-mails"), max_length=2, choices=Language.choices, default=Language.FRENCH
    )

    class Meta:
        verbose_name = _("funder account")
        verbose_name_plural = _("funder accounts")

    def __str__(self) -> str:
        return f"{self.user} ({self.organisation})"


class AccountEmail(models.Model):
    """The sent-log of account e-mails (invitations and password resets): one row per
    request, so a duplicate task sends it once and a later request sends a fresh one.

    The sending task locks the row and records `sent_at` in the same transaction as the
    send (as for certificates), so a retried or duplicated task finds it already sent.
    """

    class Kind(models.TextChoices):
        INVITATION = "invitation", _("Account invitation")
        RESET = "reset", _("Password reset")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        CANCELLED = "cancelled", _("Cancelled")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user account"),
        on_delete=models.CASCADE,
        related_name="account_emails",
    )
    participant = models.ForeignKey(
        Participant,
        verbose_name=_("participant"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="account_emails",
    )
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("account e-mail")
        verbose_name_plural = _("account e-mails")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "kind", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.user} ({self.get_status_display()})"
