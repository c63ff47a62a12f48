from django.urls import path

from api.views import (
    attendance,
    auth,
    certificates,
    credentials,
    iati,
    me,
    personal_data,
    reports,
    resources,
)

app_name = "api"

urlpatterns = [
    path("auth/token/", auth.TokenView.as_view(), name="token"),
    path("me/", me.Me.as_view(), name="me"),
    path("me/export/", personal_data.MeExport.as_view(), name="me-export"),
    path("me/naming/", personal_data.MeNaming.as_view(), name="me-naming"),
    path("regions/", resources.RegionList.as_view(), name="regions"),
    path("organisations/", resources.OrganisationList.as_view(), name="organisations"),
    path("cohorts/", resources.CohortList.as_view(), name="cohorts"),
    path("cohorts/<int:pk>/", resources.CohortDetail.as_view(), name="cohort"),
    path("sessions/", resources.SessionList.as_view(), name="sessions"),
    path("sessions/<int:pk>/", resources.SessionDetail.as_view(), name="session"),
    path(
        "sessions/<int:pk>/attendance/",
        attendance.SessionAttendance.as_view(),
        name="session-attendance",
    ),
    path("participants/", resources.ParticipantList.as_view(), name="participants"),
    path("participants/<int:pk>/", resources.ParticipantDetail.as_view(), name="participant"),
    path("enrolments/", resources.EnrolmentList.as_view(), name="enrolments"),
    path("attendance/", resources.AttendanceList.as_view(), name="attendance"),
    path("credentials/verify", credentials.CredentialVerify.as_view(), name="credential-verify"),
    path("certificates/", certificates.CertificateList.as_view(), name="certificates"),
    path(
        "certificates/verify/<str:code>/",
        certificates.CertificateVerify.as_view(),
        name="certificate-verify",
    ),
    path(
        "certificates/verify/<str:code>/file/",
        certificates.CertificateVerifyFile.as_view(),
        name="certificate-verify-file",
    ),
    path(
        "certificates/<int:pk>/reissue/",
        certificates.CertificateReissue.as_view(),
        name="certificate-reissue",
    ),
    path(
        "certificates/<int:pk>/revoke/",
        certificates.CertificateRevoke.as_view(),
        name="certificate-revoke",
    ),
    path(
        "certificates/<int:pk>/pdf/", certificates.CertificatePdf.as_view(), name="certificate-pdf"
    ),
    path(
        "cohorts/<int:pk>/certificates.zip",
        certificates.CohortCertificatesZip.as_view(),
        name="cohort-certificates-zip",
    ),
    path(
        "cohorts/<int:pk>/certificates/issue/",
        certificates.CohortCertificateBatch.as_view(),
        name="cohort-certificates-issue",
    ),
    path("certificate-batches/<int:pk>/", certificates.BatchDetail.as_view(), name="batch"),
    path("reports/progress/", reports.ProgressReport.as_view(), name="report-progress"),
    path("reports/timeline/", reports.TimelineReport.as_view(), name="report-timeline"),
    path("reports/iati.xml", iati.IatiActivityFile.as_view(), name="report-iati"),
]
