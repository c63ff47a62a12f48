"""What the tracker keeps about a person's rights over their data: corrections of their
identity (who, when, before and after), their choices about being named, and when their
details were removed under the retention rule (accounts.retention)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# The identity fields a manager may correct, each kept in history when it changes.
IDENTITY_FIELDS = (
    "first_name",
    "last_name",
    "first_name_ar",
    "last_name_ar",
    "email",
    "sex",
    "role",
)


class IdentityChange(models.Model):
    """One correction of a person's identity: the fields that changed, before and after."""

    participant = models.ForeignKey(
        "cohorts.Participant",
        verbose_name=_("participant"),
        on_delete=models.CASCADE,
        related_name="identity_changes",
    )
    before = models.JSONField(_("before"))
    after = models.JSONField(_("after"))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)

    class Meta:
        verbose_name = _("identity correction")
        verbose_name_plural = _("identity corrections")
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.participant_id} {self.changed_at:%Y-%m-%d %H:%M}"


class NamingConsent(models.Model):
    """A person's choice about being named, one row per choice (the latest holds).

    Without any row the person is named, as before the choice existed: a certificate is
    issued to be shown, and the e-mails are addressed to the person themselves.
    """

    participant = models.ForeignKey(
        "cohorts.Participant",
        verbose_name=_("participant"),
        on_delete=models.CASCADE,
        related_name="naming_consents",
    )
    on_verification = models.BooleanField(
        _("named on the public verification of my certificates"), default=True
    )
    in_emails = models.BooleanField(_("named in the e-mails I receive"), default=True)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("consent to being named")
        verbose_name_plural = _("consents to being named")
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["participant", "-recorded_at"])]

    def __str__(self) -> str:
        return f"{self.participant_id} {self.recorded_at:%Y-%m-%d}"


class Anonymisation(models.Model):
    """The person's name and contact details were removed under the retention rule."""

    participant = models.OneToOneField(
        "cohorts.Participant",
        verbose_name=_("participant"),
        on_delete=models.CASCADE,
        related_name="anonymisation",
    )
    last_cohort_ended = models.DateField(_("last cohort ended"))
    anonymised_at = models.DateTimeField(_("anonymised at"), default=timezone.now)

    class Meta:
        verbose_name = _("anonymisation")
        verbose_name_plural = _("anonymisations")

    def __str__(self) -> str:
        return f"{self.participant_id} {self.anonymised_at:%Y-%m-%d}"
