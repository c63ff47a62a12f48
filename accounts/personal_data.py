"""Everything the tracker holds about one person, for them to download (their right of
access, law 09-08 and the GDPR).

Two parts. `records` is complete by construction: every row of every table with a foreign
key to the person or to their account, and the rows hanging off those (an enrolment's
history, a certificate's files), read through Django's model registry, so a table added
later is included without touching this module. The other sections say the same in words
(cohorts by name, sessions by title and date) for the readable PDF.

Nothing about anyone else: keys to other people (who recorded a mark, who changed a row)
stay bare ids, a message about the person sent to a manager keeps no address, and secrets
(password hash, API token) are left out.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import IdentityChange, NamingConsent
from cohorts.models import (
    AccountEmail,
    Attendance,
    AttendanceHistory,
    Enrolment,
    Notification,
    Participant,
)

# Fields never exported: secrets, not data about the person.
SECRET_FIELDS = {
    ("auth", "user", "password"),
    ("authtoken", "token", "key"),
    ("cohorts", "notification", "claim"),
}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return (
            timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.fields.files.FieldFile):
        return value.name or ""
    return value


def _row(obj: models.Model) -> dict:
    opts = obj._meta
    secret_pk = (opts.app_label, opts.model_name, opts.pk.name) in SECRET_FIELDS
    row = {"pk": None if secret_pk else _plain(obj.pk)}
    for field in opts.concrete_fields:
        if (opts.app_label, opts.model_name, field.name) in SECRET_FIELDS:
            continue
        row[field.attname] = _plain(getattr(obj, field.attname))
    return row


def _label(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


def _pointing_at(targets: set[type[models.Model]]):
    """(model, field) for every foreign key or one-to-one field to one of the targets."""
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model in targets:
                yield model, field


def records(participant: Participant) -> dict[str, list[dict]]:
    """Every row about the person, table by table ("app.model"), by primary key."""
    user_model = get_user_model()
    user = participant.user
    found: dict[type[models.Model], dict[Any, models.Model]] = {
        Participant: {participant.pk: participant}
    }
    if user is not None:
        found[user_model] = {user.pk: user}
    roots = {Participant: participant.pk, user_model: user.pk if user else None}
    # The rows pointing at the person or their account...
    for model, field in _pointing_at({Participant, user_model}):
        target = roots.get(field.related_model)
        if target is None:
            continue
        for obj in model._default_manager.filter(**{field.attname: target}):
            found.setdefault(model, {})[obj.pk] = obj
    # ...and the rows hanging off those (one level: a certificate's files, an enrolment's
    # history), never back up to other people's.
    first = {model: set(rows) for model, rows in found.items() if model not in roots}
    for model, field in _pointing_at(set(first)):
        if model in (Participant, user_model):
            continue
        ids = first[field.related_model]
        for obj in model._default_manager.filter(**{f"{field.attname}__in": ids}):
            found.setdefault(model, {})[obj.pk] = obj
    # The admin's log of changes to their record (a generic key: content type and id).
    about = Q(
        content_type=ContentType.objects.get_for_model(Participant), object_id=str(participant.pk)
    )
    if user is not None:
        about |= Q(
            content_type=ContentType.objects.get_for_model(user_model), object_id=str(user.pk)
        )
    for entry in LogEntry.objects.filter(about):
        found.setdefault(LogEntry, {})[entry.pk] = entry
    out: dict[str, list[dict]] = {}
    for model, rows in sorted(found.items(), key=lambda item: _label(item[0])):
        out[_label(model)] = [_redacted(_row(obj), participant) for _, obj in sorted(rows.items())]
    return out


def _redacted(row: dict, participant: Participant) -> dict:
    # A message about the person sent to someone else (an alert to a manager): its row is
    # about them, its address is not theirs.
    if "address" in row and "kind" in row and row.get("user_id") not in (None, participant.user_id):
        row["address"] = ""
        row["last_error"] = ""
    return row


def _profile(participant: Participant) -> dict:
    user = participant.user
    return {
        "first_name": participant.first_name,
        "last_name": participant.last_name,
        "first_name_ar": participant.first_name_ar,
        "last_name_ar": participant.last_name_ar,
        "sex": participant.sex,
        "role": participant.role,
        "position": participant.position,
        "region": participant.region_id,
        "region_name": participant.region.name_fr,
        "region_name_ar": participant.region.name_ar,
        "email": participant.email or "",
        "phone": participant.phone,
        "preferred_language": participant.preferred_language,
        "consent_date": _plain(participant.consent_date),
        "created_at": _plain(participant.created_at),
        "updated_at": _plain(participant.updated_at),
        "account": None
        if user is None
        else {
            "username": user.username,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "is_active": user.is_active,
            "date_joined": _plain(user.date_joined),
            "last_login": _plain(user.last_login),
        },
    }


def personal_data(participant: Participant, *, credentials: list[dict] | None = None) -> dict:
    """Everything held about the person, as plain JSON-ready data.

    `credentials`: their digital credentials, from the room that issues them (certificates,
    above this one), passed in by the page or API that asks; None when there are none to
    give (the key then says so)."""
    participant = Participant.objects.select_related("region", "user").get(pk=participant.pk)
    user = participant.user
    enrolments = Enrolment.objects.filter(participant=participant).select_related("cohort")
    marks = Attendance.objects.filter(participant=participant).select_related("session__cohort")
    mark_history = AttendanceHistory.objects.filter(participant=participant).select_related(
        "session__cohort"
    )
    messages = Notification.objects.filter(participant=participant) | (
        Notification.objects.filter(user=user) if user is not None else Notification.objects.none()
    )
    account_emails = AccountEmail.objects.filter(participant=participant) | (
        AccountEmail.objects.filter(user=user) if user is not None else AccountEmail.objects.none()
    )
    all_records = records(participant)
    certificates = all_records.get("certificates.certificate", [])
    cohort_names = {e.cohort_id: e.cohort.name for e in enrolments}
    return {
        "generated_at": _plain(timezone.now()),
        "profile": _profile(participant),
        "enrolments": [
            {
                "cohort": e.cohort.code,
                "cohort_name": e.cohort.name,
                "year": e.cohort.year,
                "status": e.status,
                "enrolled_on": _plain(e.enrolled_on),
                "withdrawn_on": _plain(e.withdrawn_on),
                "withdrawal_reason": e.withdrawal_reason,
                "history": [
                    {
                        "action": h.action,
                        "changed_at": _plain(h.changed_at),
                        "before": h.before,
                        "after": h.after,
                    }
                    for h in e.history.all()
                ],
            }
            for e in enrolments
        ],
        "attendance": [
            {
                "cohort": m.session.cohort.name,
                "session": m.session.title,
                "starts_at": _plain(m.session.starts_at),
                "status": m.status,
                "minutes_attended": m.minutes_attended,
                "note": m.note,
                "recorded_at": _plain(m.recorded_at),
            }
            for m in marks.order_by("session__starts_at")
        ],
        "attendance_history": [
            {
                "cohort": h.session.cohort.name,
                "session": h.session.title,
                "starts_at": _plain(h.session.starts_at),
                "action": h.action,
                "changed_at": _plain(h.changed_at),
                "before": h.before,
                "after": h.after,
            }
            for h in mark_history
        ],
        "messages": [
            {
                "kind": n.kind,
                "status": n.status,
                "address": n.address if n.user_id in (None, participant.user_id) else "",
                "to_them": n.user_id in (None, participant.user_id),
                "created_at": _plain(n.created_at),
                "sent_at": _plain(n.sent_at),
            }
            for n in messages.distinct().order_by("created_at", "id")
        ],
        "account_emails": [
            {
                "kind": a.kind,
                "status": a.status,
                "language": a.language,
                "created_at": _plain(a.created_at),
                "sent_at": _plain(a.sent_at),
            }
            for a in account_emails.distinct().order_by("created_at", "id")
        ],
        "certificates": [
            {**c, "cohort_name": cohort_names.get(c["cohort_id"], "")} for c in certificates
        ],
        "credentials": credentials,
        "consent": [
            {
                "on_verification": c.on_verification,
                "in_emails": c.in_emails,
                "recorded_at": _plain(c.recorded_at),
            }
            for c in NamingConsent.objects.filter(participant=participant)
        ],
        "identity_history": [
            {"changed_at": _plain(c.changed_at), "before": c.before, "after": c.after}
            for c in IdentityChange.objects.filter(participant=participant)
        ],
        "records": all_records,
    }
