"""A session's roster: read it, or record it whole in one request (upsert, all or nothing)."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers as drf
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import IsManager
from api.serializers import AttendanceSerializer, MarkInputSerializer, roster_input
from cohorts import roles, services
from cohorts.errors import LineError, LineErrors
from cohorts.models import TrainingSession
from cohorts.selectors import cohort_roster


class RosterLineSerializer(drf.Serializer):
    participant = drf.IntegerField()
    name = drf.CharField()
    enrolment_status = drf.CharField()
    mark = AttendanceSerializer(allow_null=True)


class SessionAttendance(APIView):
    permission_classes = [IsManager]

    def _session(self, request, pk) -> TrainingSession:
        sessions = roles.scope_sessions(TrainingSession.objects.all(), request.user)
        return get_object_or_404(sessions, pk=pk)

    def _roster(self, request, session):
        return [
            {
                "participant": enrolment.participant_id,
                "name": enrolment.participant.full_name,
                "enrolment_status": enrolment.status,
                "mark": AttendanceSerializer(mark).data if mark else None,
            }
            for enrolment, mark in cohort_roster(session, request.user)
        ]

    @extend_schema(responses={200: RosterLineSerializer(many=True)}, summary="A session's roster")
    def get(self, request, pk):
        session = self._session(request, pk)
        return Response(self._roster(request, session))

    @extend_schema(
        request=MarkInputSerializer(many=True),
        responses={200: RosterLineSerializer(many=True)},
        summary="Record a whole roster (upsert, all or nothing)",
        examples=[
            OpenApiExample(
                "Three marks",
                value=[
                    {"participant": 17, "status": "present"},
                    {"participant": 18, "status": "late", "note": "Train en retard"},
                    {"participant": 19, "status": "excused", "note": "Certificat médical"},
                ],
                request_only=True,
            )
        ],
    )
    def put(self, request, pk):
        session = self._session(request, pk)
        lines = roster_input(request.data)
        lines.is_valid(raise_exception=True)
        scope = roles.region_scope(request.user)
        everyone = {
            e.participant_id: e.participant.region_id for e, _mark in cohort_roster(session)
        }
        in_scope = {pid for pid, code in everyone.items() if scope is None or code in scope}
        errors = [
            LineError(number, "participant", _("This person is outside the regions you manage."))
            for number, line in enumerate(lines.validated_data, start=1)
            if line["participant"] in everyone and line["participant"] not in in_scope
        ]
        if errors:
            raise LineErrors(errors)
        services.attendance_roster_record(
            session=session,
            marks=[
                services.Mark(
                    line["participant"], line["status"], line["note"], line["minutes_attended"]
                )
                for line in lines.validated_data
            ],
            recorded_by=request.user,
        )
        return Response(self._roster(request, session))
