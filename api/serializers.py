"""Output serializers (what each role reads) and input serializers (what writes accept)."""

from typing import cast

from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from cohorts.models import (
    Attendance,
    Cohort,
    Enrolment,
    Organisation,
    Participant,
    Region,
    TrainingSession,
)

# Output ---------------------------------------------------------------------------------


class RegionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["code", "name_fr", "name_ar", "capital"]


class OrganisationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "short_name", "name", "kind", "country"]


class CohortSerializer(serializers.ModelSerializer):
    regions: serializers.SlugRelatedField[Region] = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True
    )

    class Meta:
        model = Cohort
        # name is the French one; name_ar and name_en empty when not given (French then).
        fields = ["id", "code", "name", "name_ar", "name_en", "year", "regions"]


class SessionSerializer(serializers.ModelSerializer):
    # Empty when in person: a plain string, not "either empty or a URL" (oneOf).
    online_url = serializers.CharField(read_only=True)

    class Meta:
        model = TrainingSession
        fields = [
            "id", "cohort", "title", "title_ar", "title_en", "theme", "starts_at", "ends_at",
            "city", "venue", "online_url", "modality", "planned_hours",
        ]  # fmt: skip


class ParticipantSerializer(serializers.ModelSerializer):
    region: serializers.SlugRelatedField[Region] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )

    class Meta:
        model = Participant
        fields = [
            "id", "first_name", "last_name", "first_name_ar", "last_name_ar", "sex", "role",
            "position", "region", "email", "phone", "preferred_language", "consent_date",
        ]  # fmt: skip


class EnrolmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Enrolment
        fields = [
            "id", "participant", "cohort", "status", "enrolled_on", "withdrawn_on",
            "withdrawal_reason",
        ]  # fmt: skip


class AttendanceSerializer(serializers.ModelSerializer):
    recorded_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Attendance
        fields = [
            "id", "participant", "session", "status", "minutes_attended", "note", "recorded_by",
            "recorded_at",
        ]  # fmt: skip


class RateSerializer(serializers.Serializer):
    value = serializers.FloatField(allow_null=True)
    numerator = serializers.IntegerField()
    denominator = serializers.IntegerField()


# Input ----------------------------------------------------------------------------------


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class MarkInputSerializer(serializers.Serializer):
    participant = serializers.IntegerField(min_value=1)
    status = serializers.ChoiceField(choices=Attendance.Status.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    minutes_attended = serializers.IntegerField(
        min_value=0,
        required=False,
        allow_null=True,
        default=None,
        # The same words as the sheet's and the service's (cohorts.validation).
        error_messages={"min_value": gettext_lazy("Minutes attended cannot be negative.")},
    )


def roster_input(data) -> serializers.ListSerializer:
    """A roster: a non-empty list of marks."""
    # What `MarkInputSerializer(data=data, many=True, ...)` calls; called directly because
    # the stubs know neither `max_length` nor that `many=True` makes a ListSerializer.
    return cast(
        serializers.ListSerializer,
        MarkInputSerializer.many_init(data=data, allow_empty=False, max_length=1000),
    )
