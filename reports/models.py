"""Programme targets: what was promised per programme year and region, with their history.

A target with no region is the whole programme's for that year. Each figure is optional
(a target may promise people trained and say nothing of certificates). Every change is
kept in `TargetRevision` (who, when, the values before and after), written by `save()`
and `delete()` themselves so that the admin, a shell or a data migration through the
model all leave a trace; pass `changed_by` to say who. Queryset `update()` and `delete()`
bypass it: nothing here uses them.

The read side for reports is `reports.targets`.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cohorts.models import ChangeAction, HistoryEntry, Region

# A sanity range; clean() checks the programme's own years.
FIRST_YEAR, LAST_YEAR = 2000, 2100

# The figures a target may promise, in the order the admin and the history show them.
FIGURES = ("people_trained", "women_share_percent", "completion_rate_percent", "certificates")


def _percent_validators() -> list:
    message = _("Enter a percentage between 0 and 100.")
    return [
        MinValueValidator(Decimal(0), message=message),
        MaxValueValidator(Decimal(100), message=message),
    ]


def _count_validators() -> list:
    return [MinValueValidator(0, message=_("Enter a number of people of zero or more."))]


class Target(models.Model):
    year = models.PositiveSmallIntegerField(
        _("programme year"),
        validators=[MinValueValidator(FIRST_YEAR), MaxValueValidator(LAST_YEAR)],
    )
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Leave empty for the whole programme's target for that year."),
    )
    # Plain integers with a validator (and a check below): a positive integer field's form
    # would say "greater than or equal to 0" before ours.
    people_trained = models.IntegerField(
        _("people trained"), null=True, blank=True, validators=_count_validators()
    )
    women_share_percent = models.DecimalField(
        _("share of women (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=_percent_validators(),
    )
    completion_rate_percent = models.DecimalField(
        _("completion rate (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=_percent_validators(),
    )
    certificates = models.IntegerField(
        _("certificates"), null=True, blank=True, validators=_count_validators()
    )

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        ordering = ["year", "region_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["year", "region"],
                name="target_one_per_year_and_region",
                violation_error_message=_("There is already a target for this year and region."),
            ),
            # NULLs are distinct in a unique index: the whole programme's row needs its own.
            models.UniqueConstraint(
                fields=["year"],
                condition=Q(region__isnull=True),
                name="target_one_per_year_for_the_programme",
                violation_error_message=_(
                    "There is already a target for this year and the whole programme."
                ),
            ),
            models.CheckConstraint(
                condition=Q(people_trained__gte=0) | Q(people_trained__isnull=True),
                name="target_people_trained_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(certificates__gte=0) | Q(certificates__isnull=True),
                name="target_certificates_not_negative",
            ),
            # A constraint rather than clean(): a form checks it only when the figures
            # themselves are valid, so a bad figure is not also reported as missing.
            models.CheckConstraint(
                condition=Q(people_trained__isnull=False)
                | Q(women_share_percent__isnull=False)
                | Q(completion_rate_percent__isnull=False)
                | Q(certificates__isnull=False),
                name="target_has_a_figure",
                violation_error_message=_("Enter at least one figure to aim for."),
            ),
            models.CheckConstraint(
                condition=Q(women_share_percent__gte=0, women_share_percent__lte=100)
                | Q(women_share_percent__isnull=True),
                name="target_women_share_is_a_percentage",
            ),
            models.CheckConstraint(
                condition=Q(completion_rate_percent__gte=0, completion_rate_percent__lte=100)
                | Q(completion_rate_percent__isnull=True),
                name="target_completion_rate_is_a_percentage",
            ),
        ]

    def __str__(self) -> str:
        where = self.region_id or _("whole programme")
        return f"{self.year} — {where}"

    def save(self, *args, changed_by=None, **kwargs) -> None:
        with transaction.atomic():
            before = None
            if self.pk is not None:
                old = Target.objects.select_for_update().filter(pk=self.pk).first()
                before = old.snapshot() if old is not None else None
            super().save(*args, **kwargs)
            # Read back, so that the history holds what is stored (decimals rounded).
            self.refresh_from_db(fields=[*FIGURES, "year", "region"])
            after = self.snapshot()
            if before != after:
                TargetRevision.objects.create(
                    target=self,
                    year=self.year,
                    region_id=self.region_id,
                    action=ChangeAction.CREATED if before is None else ChangeAction.UPDATED,
                    before=before,
                    after=after,
                    changed_by=changed_by,
                    changed_at=timezone.now(),
                )

    def delete(self, *args, changed_by=None, **kwargs):
        with transaction.atomic():
            TargetRevision.objects.create(
                target=self,
                year=self.year,
                region_id=self.region_id,
                action=ChangeAction.DELETED,
                before=self.snapshot(),
                after=None,
                changed_by=changed_by,
                changed_at=timezone.now(),
            )
            return super().delete(*args, **kwargs)

    def snapshot(self) -> dict:
        """The row's values as JSON: decimals as strings, the region as its code."""
        values: dict = {"year": self.year, "region": self.region_id}
        for name in FIGURES:
            value = getattr(self, name)
            values[name] = str(value) if isinstance(value, Decimal) else value
        return values

    def clean(self) -> None:
        super().clean()
        from cohorts.models import Programme

        span = Programme.objects.aggregate(
            first=models.Min("start_date"), last=models.Max("end_date")
        )
        if self.year is not None and span["first"] and span["last"]:
            first, last = span["first"].year, span["last"].year
            if not first <= self.year <= last:
                raise ValidationError(
                    {
                        "year": _("The programme runs from %(first)s to %(last)s.")
                        % {"first": first, "last": last}
                    }
                )


class TargetRevision(HistoryEntry):
    """One change to a target. Kept when the target is deleted (the year and region say
    which it was)."""

    target = models.ForeignKey(
        Target,
        verbose_name=_("target"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="revisions",
    )
    year = models.PositiveSmallIntegerField(_("programme year"))
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta(HistoryEntry.Meta):
        verbose_name = _("target change")
        verbose_name_plural = _("target history")
