"""Read-only resources, each filtered by the caller's role and scope before anything else."""

from django.db.models import Exists, OuterRef, QuerySet
from rest_framework import generics

from api import serializers
from api.filters import CountryFilter, DateTimeFilter, FilterSet, IdFilter, RegionFilter, YearFilter
from api.permissions import HasAnyRole, IsManager
from cohorts import roles
from cohorts.models import (
    Attendance,
    Cohort,
    Enrolment,
    Organisation,
    Participant,
    Region,
    TrainingSession,
)


def _trainee_cohorts(user) -> QuerySet[Cohort]:
    return Cohort.objects.filter(enrolments__participant__user=user)


def cohorts_visible_to(user) -> QuerySet[Cohort]:
    """Managers: their regions' cohorts; trainees: their own; funders: all (no personal data)."""
    role = roles.user_role(user)
    if role == "manager":
        return roles.scope_cohorts(Cohort.objects.all(), user)
    if role == "trainee":
        return Cohort.objects.filter(pk__in=_trainee_cohorts(user).values("pk"))
    if role == "funder":
        return Cohort.objects.all()
    return Cohort.objects.none()


def sessions_visible_to(user) -> QuerySet[TrainingSession]:
    role = roles.user_role(user)
    if role == "manager":
        return roles.scope_sessions(TrainingSession.objects.all(), user)
    if role in {"trainee", "funder"}:
        return TrainingSession.objects.filter(cohort__in=cohorts_visible_to(user))
    return TrainingSession.objects.none()


def participants_visible_to(user) -> QuerySet[Participant]:
    """Personal data: managers only (the views check the role), within their regions."""
    return roles.scope_participants(Participant.objects.select_related("region"), user)


class RegionList(generics.ListAPIView):
    permission_classes = [HasAnyRole]
    serializer_class = serializers.RegionSerializer
    queryset = Region.objects.all()
    pagination_class = None
    filter_backends = []


class OrganisationFilter(FilterSet):
    country = CountryFilter()

    class Meta:
        model = Organisation
        fields = ["kind", "country"]


class OrganisationList(generics.ListAPIView):
    permission_classes = [HasAnyRole]
    serializer_class = serializers.OrganisationSerializer
    queryset = Organisation.objects.all()
    filterset_class = OrganisationFilter
    ordering_fields = ["short_name", "name"]


class CohortFilter(FilterSet):
    region = RegionFilter(method="filter_region")
    year = YearFilter()

    class Meta:
        model = Cohort
        fields = ["year", "region", "programme"]

    def filter_region(self, queryset, name, value):
        covers = Cohort.regions.through.objects.filter(cohort_id=OuterRef("pk"), region_id=value)
        return queryset.filter(Exists(covers))


class CohortList(generics.ListAPIView):
    permission_classes = [HasAnyRole]
    serializer_class = serializers.CohortSerializer
    filterset_class = CohortFilter
    ordering_fields = ["year", "name", "code"]
    ordering = ["year", "name"]

    def get_queryset(self):
        return cohorts_visible_to(self.request.user).prefetch_related("regions")


class CohortDetail(generics.RetrieveAPIView):
    permission_classes = [HasAnyRole]
    serializer_class = serializers.CohortSerializer

    def get_queryset(self):
        return cohorts_visible_to(self.request.user).prefetch_related("regions")


class SessionFilter(FilterSet):
    region = RegionFilter(method="filter_region")
    year = YearFilter(field_name="cohort__year")
    starts_after = DateTimeFilter(field_name="starts_at", lookup_expr="gte")
    starts_before = DateTimeFilter(field_name="starts_at", lookup_expr="lt")

    class Meta:
        model = TrainingSession
        fields = ["cohort", "modality", "region", "year", "starts_after", "starts_before"]

    def filter_region(self, queryset, name, value):
        covers = Cohort.regions.through.objects.filter(
            cohort_id=OuterRef("cohort_id"), region_id=value
        )
        return queryset.filter(Exists(covers))


class SessionList(generics.ListAPIView):
    permission_classes = [HasAnyRole]
    serializer_class = serializers.SessionSerializer
    filterset_class = SessionFilter
    ordering_fields = ["starts_at", "title"]
    ordering = ["starts_at", "id"]

    def get_queryset(self):
        return sessions_visible_to(self.request.user)


class SessionDetail(generics.RetrieveAPIView):
    permission_classes = [HasAnyRole]
    serializer_class = serializers.SessionSerializer

    def get_queryset(self):
        return sessions_visible_to(self.request.user)


class ParticipantFilter(FilterSet):
    cohort = IdFilter(field_name="enrolments__cohort", distinct=True)

    class Meta:
        model = Participant
        fields = ["region", "sex", "role", "preferred_language", "cohort"]


class ParticipantList(generics.ListAPIView):
    """Managers only, within their regions: personal data."""

    permission_classes = [IsManager]
    serializer_class = serializers.ParticipantSerializer
    filterset_class = ParticipantFilter
    ordering_fields = ["last_name", "first_name", "region"]
    ordering = ["last_name", "first_name", "id"]

    def get_queryset(self):
        return participants_visible_to(self.request.user)


class ParticipantDetail(generics.RetrieveAPIView):
    permission_classes = [IsManager]
    serializer_class = serializers.ParticipantSerializer

    def get_queryset(self):
        return participants_visible_to(self.request.user)


class EnrolmentList(generics.ListAPIView):
    permission_classes = [IsManager]
    serializer_class = serializers.EnrolmentSerializer
    filterset_fields = ["cohort", "status", "participant", "participant__region"]
    ordering_fields = ["enrolled_on", "id"]
    ordering = ["cohort", "id"]

    def get_queryset(self):
        return roles.scope_enrolments(Enrolment.objects.all(), self.request.user)


class AttendanceFilter(FilterSet):
    cohort = IdFilter(field_name="session__cohort")

    class Meta:
        model = Attendance
        fields = ["session", "participant", "status", "cohort"]


class AttendanceList(generics.ListAPIView):
    permission_classes = [IsManager]
    serializer_class = serializers.AttendanceSerializer
    filterset_class = AttendanceFilter
    ordering_fields = ["recorded_at", "id"]
    ordering = ["session", "participant"]

    def get_queryset(self):
        qs = Attendance.objects.select_related("recorded_by")
        return roles.scope_attendance(qs, self.request.user)
