"""In the database: an attendance mark only for a participant enrolled in the session's cohort.

A check constraint cannot look at other tables, so a trigger does, on both engines we
support. The services check the same thing first to give a clear message; the trigger
is the safety net for anything that bypasses them.
"""

from django.db import migrations

MESSAGE = "attendance_requires_enrolment: participant is not enrolled in the cohort of the session"

POSTGRES_FORWARD = f"""
CREATE OR REPLACE FUNCTION cohorts_attendance_requires_enrolment() RETURNS trigger AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM cohorts_enrolment e
        JOIN cohorts_trainingsession s ON s.cohort_id = e.cohort_id
        WHERE s.id = NEW.session_id AND e.participant_id = NEW.participant_id
    ) THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER attendance_requires_enrolment
    BEFORE INSERT OR UPDATE OF participant_id, session_id ON cohorts_attendance
    FOR EACH ROW EXECUTE FUNCTION cohorts_attendance_requires_enrolment();
"""
POSTGRES_BACKWARD = """
DROP TRIGGER IF EXISTS attendance_requires_enrolment ON cohorts_attendance;
DROP FUNCTION IF EXISTS cohorts_attendance_requires_enrolment();
"""

_SQLITE_CHECK = """
    WHEN NOT EXISTS (
        SELECT 1 FROM cohorts_enrolment e
        JOIN cohorts_trainingsession s ON s.cohort_id = e.cohort_id
        WHERE s.id = NEW.session_id AND e.participant_id = NEW.participant_id
    )
    BEGIN SELECT RAISE(ABORT, '{message}'); END;
"""
SQLITE_FORWARD = [
    "CREATE TRIGGER IF NOT EXISTS attendance_requires_enrolment_insert "
    "BEFORE INSERT ON cohorts_attendance" + _SQLITE_CHECK.format(message=MESSAGE),
    "CREATE TRIGGER IF NOT EXISTS attendance_requires_enrolment_update "
    "BEFORE UPDATE OF participant_id, session_id ON cohorts_attendance"
    + _SQLITE_CHECK.format(message=MESSAGE),
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS attendance_requires_enrolment_insert",
    "DROP TRIGGER IF EXISTS attendance_requires_enrolment_update",
]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD)
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACKWARD)
    elif vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("cohorts", "0003_programme_and_partners")]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
