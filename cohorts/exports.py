"""The participants and enrolments lists as tables, with the import's columns."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from cohorts.imports import COLUMNS
from cohorts.models import Enrolment, Participant

_ENROLMENT_KEYS = {"cohort", "enrolled_on", "cohort_name_ar", "cohort_name_en"}
_PARTICIPANT_KEYS = [c.key for c in COLUMNS if c.key not in _ENROLMENT_KEYS]


def _participant_cells(p: Participant) -> list:
    return [p.region_id if key == "region" else getattr(p, key) for key in _PARTICIPANT_KEYS]


def participants_table(participants: QuerySet[Participant]) -> tuple[list[str], list[list]]:
    """One row per participant; the header is the import's, so an export can be re-imported."""
    header = [str(c.label) for c in COLUMNS if c.key in _PARTICIPANT_KEYS]
    rows = [_participant_cells(p) for p in participants.order_by("last_name", "first_name", "pk")]
    return header, rows


def enrolments_table(enrolments: QuerySet[Enrolment]) -> tuple[list[str], list[list]]:
    """One row per enrolment: the participant's columns, the cohort, and the enrolment's state."""
    header = [str(c.label) for c in COLUMNS] + [_("status"), _("withdrawn on"), _("year")]
    rows = [
        [
            *_participant_cells(e.participant),
            e.cohort.code,
            e.enrolled_on,
            e.cohort.name_ar,
            e.cohort.name_en,
            e.get_status_display(),
            e.withdrawn_on,
            e.cohort.year,
        ]
        for e in enrolments.select_related("participant", "cohort").order_by(
            "cohort__year", "cohort__code", "participant__last_name", "pk"
        )
    ]
    return header, rows
