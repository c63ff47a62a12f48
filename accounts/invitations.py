"""Trainee accounts by invitation, and password resets: who gets an e-mail, and sending it.

A manager's request creates the account (no usable password) and one `AccountEmail` row
per person, with its message in the outbox (cohorts.outbox), in the same transaction; the
outbox composes it here (`compose_account_emails`), in the person's language, and sends it
before other kinds (someone is waiting for it). The link in
the e-mail carries a signed token (Django's password-reset machinery): setting the
password changes what the token signs, so a link works once.
"""

import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import PasswordResetTokenGenerator, default_token_generator
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_encode
from django.utils.translation import gettext as _

from accounts.services import naming_consent
from cohorts import roles
from cohorts.models import (
    AccountEmail,
    Cohort,
    Enrolment,
    FunderProfile,
    ManagerProfile,
    Notification,
    Participant,
)
from cohorts.outbox import (
    URGENT,
    Drop,
    OutgoingMessage,
    composes,
    deliver_on_commit,
    outbox_put,
)

logger = logging.getLogger(__name__)

INVITATION_VALID_DAYS = 14
# A second click within this time re-queues the pending e-mail instead of sending another.
PENDING_WINDOW = timedelta(minutes=10)
# Password resets asked for one account in an hour, beyond which the form quietly sends
# nothing more (it says the same either way): the form must not become a mail cannon.
RESETS_PER_HOUR = 3


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    """Reset tokens with their own salt (a reset link is no invitation, nor the reverse)
    and a longer validity: an invitation may wait in an inbox for a fortnight."""

    key_salt = "cohorts.invitations.InvitationTokenGenerator"
    timeout = INVITATION_VALID_DAYS * 24 * 3600

    def check_token(self, user, token) -> bool:
        # Django's check, with our validity instead of PASSWORD_RESET_TIMEOUT.
        if not (user and token):
            return False
        try:
            ts_b36, _hash = token.split("-")
            ts = base36_to_int(ts_b36)
        except ValueError:
            return False
        signed = any(
            constant_time_compare(self._make_token_with_timestamp(user, ts, secret), token)
            for secret in [self.secret, *self.secret_fallbacks]
        )
        return signed and self._num_seconds(self._now()) - ts <= self.timeout


invitation_tokens = InvitationTokenGenerator()


# Who gets an invitation ------------------------------------------------------------------


@dataclass
class InviteResult:
    invited: int = 0
    has_account: int = 0  # already signed in with a password of their own
    no_email: int = 0
    withdrawn: int = 0
    conflict: int = 0  # the address belongs to another account (staff, another person)
    out_of_scope: int = 0


def _conflicting_user(participant: Participant, email: str):
    """The account this participant should use, or why none can be made.

    Returns (user or None, conflict: bool). An existing account is reused only if it is
    plainly a trainee's: never a manager's, a funder's or staff, whose password an
    invitation link could otherwise set.
    """
    User = get_user_model()
    others = User.objects.all()
    if participant.user_id is not None:  # (excluding pk=None would leave out nobody)
        others = others.exclude(pk=participant.user_id)
    same = list(others.filter(email__iexact=email)[:2])
    same += list(others.filter(username__iexact=email).exclude(pk__in=[u.pk for u in same])[:1])
    if participant.user_id is not None:
        # Another account with the same address would make signing in by e-mail ambiguous.
        return participant.user, bool(same)
    if not same:
        return None, False
    if len(same) > 1:
        return None, True
    user = same[0]
    privileged = (
        user.is_staff
        or user.is_superuser
        or ManagerProfile.objects.filter(user=user).exists()
        or FunderProfile.objects.filter(user=user).exists()
        or Participant.objects.filter(user=user).exists()
    )
    return (None, True) if privileged or user.has_usable_password() else (user, False)


@transaction.atomic
def invite_participants(participants: QuerySet, *, by) -> InviteResult:
    """Give each participant an account and queue their invitation e-mail.

    Participants outside `by`'s regions are refused (counted, untouched). Someone with an
    account of their own is left alone; someone invited before who never set a password
    gets a fresh invitation (the earlier link may have expired).
    """
    result = InviteResult()
    queued: list[int] = []
    allowed = roles.scope_participants(participants, by)
    result.out_of_scope = participants.count() - allowed.count()
    for participant in allowed.select_related("user").order_by("pk"):
        if not participant.email:
            result.no_email += 1
            continue
        user = participant.user
        if user is not None and (user.has_usable_password() or not user.is_active):
            # A deactivated account stays so: reactivating is a decision, not a side effect.
            result.has_account += 1
            continue
        try:
            with transaction.atomic():  # a savepoint: a lost race undoes only this one
                row = _invite_one(participant, participant.email, by)
        except IntegrityError:  # someone took the user name meanwhile
            row = None
        if row is None:
            result.conflict += 1
            continue
        queued.append(row.pk)
        result.invited += 1
    account_emails_put(queued)
    return result


def _invite_one(participant: Participant, email: str, by) -> AccountEmail | None:
    """`email` is the participant's address (those without one are skipped before)."""
    User = get_user_model()
    user, conflict = _conflicting_user(participant, email)
    if conflict:
        return None
    if user is None:
        user = User(username=email.lower())
        user.set_unusable_password()
    user.email = email.lower()
    user.first_name = participant.first_name[:150]
    user.last_name = participant.last_name[:150]
    user.save()
    if participant.user_id != user.pk:
        Participant.objects.filter(pk=participant.pk).update(user=user)
    pending = AccountEmail.objects.filter(
        kind=AccountEmail.Kind.INVITATION,
        user=user,
        status=AccountEmail.Status.QUEUED,
        created_at__gte=timezone.now() - PENDING_WINDOW,
    ).first()
    if pending is None:
        pending = AccountEmail.objects.create(
            kind=AccountEmail.Kind.INVITATION,
            user=user,
            participant=participant,
            language=participant.preferred_language or settings.LANGUAGE_CODE,
            requested_by=by,
        )
    return pending


def invite_cohort(cohort: Cohort, *, by) -> InviteResult:
    """Invite the cohort's active trainees; withdrawn ones are counted and left alone."""
    enrolments = Enrolment.objects.filter(cohort=cohort)
    active = Participant.objects.filter(
        enrolments__cohort=cohort, enrolments__status=Enrolment.Status.ACTIVE
    )
    result = invite_participants(active, by=by)
    result.withdrawn = (
        roles.scope_enrolments(enrolments, by).filter(status=Enrolment.Status.WITHDRAWN).count()
    )
    return result


def account_emails_put(ids: list[int]) -> int:
    """Put the account e-mails in the outbox (a row already there stays as it is: a second
    click within PENDING_WINDOW reuses the pending invitation and only wakes a sender)."""
    rows = AccountEmail.objects.filter(pk__in=ids).only("pk", "kind", "user_id", "participant_id")
    added = outbox_put(
        Notification(
            key=f"account:{row.pk}", kind=row.kind, ref=row.pk, user_id=row.user_id,
            participant_id=row.participant_id, priority=URGENT,
        )
        for row in rows
    )  # fmt: skip
    if not added and ids:
        deliver_on_commit()
    return added


# Password reset ---------------------------------------------------------------------------


@transaction.atomic
def request_password_reset(user, *, language: str) -> AccountEmail | None:
    """Queue a reset e-mail for `user` in their language (a trainee's own, else the page's).

    Returns None when the hourly limit is reached; the caller says the same thing anyway.
    """
    recent = AccountEmail.objects.filter(
        kind=AccountEmail.Kind.RESET, user=user, created_at__gte=timezone.now() - timedelta(hours=1)
    )
    if recent.count() >= RESETS_PER_HOUR:
        logger.info("password reset for user %s not sent: hourly limit", user.pk)
        return None
    participant = Participant.objects.filter(user=user).first()
    if participant is not None and participant.preferred_language:
        language = participant.preferred_language
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    row = AccountEmail.objects.create(
        kind=AccountEmail.Kind.RESET, user=user, participant=participant, language=language
    )
    account_emails_put([row.pk])
    return row


# Sending ------------------------------------------------------------------------------------


def _link(name: str, user, tokens) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    path = reverse(name, kwargs={"uidb64": uid, "token": tokens.make_token(user)})
    return f"{settings.SITE_URL}{path}"


def account_message(row: AccountEmail) -> OutgoingMessage:
    """The e-mail for one row, in its language; the link is made now, so its validity
    runs from the moment it is sent."""
    user, participant = row.user, row.participant
    with translation.override(row.language):
        if row.kind == AccountEmail.Kind.INVITATION:
            template = "accounts/email/invitation"
            subject = _("Your account for the Région 2021 study cycle")
            link = _link("web:set-password", user, invitation_tokens)
        else:
            template = "accounts/email/password_reset"
            subject = _("Choose a new password for the Région 2021 study cycle")
            link = _link("web:password-reset-confirm", user, default_token_generator)
        inviter = row.requested_by
        context = {
            "name": _greeting_name(participant, user),
            "inviter": (inviter.get_full_name() or inviter.username) if inviter else "",
            "username": user.get_username(),
            "link": link,
            "days": INVITATION_VALID_DAYS,
            "reset_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
            "site_url": settings.SITE_URL,
            "rtl": translation.get_language_bidi(),
            "language": row.language,
        }
        text = _tidy(render_to_string(f"{template}.txt", context))
        html = _tidy(render_to_string(f"{template}.html", context))
    return OutgoingMessage(to=user.email, subject=subject, text=text, html=html)


# As messaging.naming does for its messages (a room beside this one): the name left out,
# with the space before it, when the person asked not to be named in e-mails.
_GAP = "\x00"
_GAP_SPACE = re.compile("[ \t\u00a0]*\x00")


def _greeting_name(participant, user) -> str:
    if participant is None:
        return user.get_full_name()
    return participant.full_name if naming_consent(participant).in_emails else _GAP


def _tidy(text: str) -> str:
    return _GAP_SPACE.sub("", text)


def _account_emails_sent(rows: list[Notification], now) -> None:
    AccountEmail.objects.filter(
        pk__in=[r.ref for r in rows], status=AccountEmail.Status.QUEUED
    ).update(status=AccountEmail.Status.SENT, sent_at=now)


@composes(Notification.Kind.INVITATION, Notification.Kind.RESET, on_sent=_account_emails_sent)
def compose_account_emails(rows: list[Notification]) -> dict[int, OutgoingMessage | Drop]:
    """Each queued account e-mail, or dropped (and cancelled) if it no longer applies."""
    emails = AccountEmail.objects.select_related("user", "participant", "requested_by").in_bulk(
        [r.ref for r in rows]
    )
    composed: dict[int, OutgoingMessage | Drop] = {}
    for row in rows:
        email = emails.get(row.ref or 0)
        if email is None or email.status != AccountEmail.Status.QUEUED:
            composed[row.pk] = Drop("the request is gone or was cancelled")
            continue
        user = email.user
        stale_invitation = email.kind == AccountEmail.Kind.INVITATION and user.has_usable_password()
        if stale_invitation or not user.is_active or not user.email:
            # Accepted an earlier invitation meanwhile, or switched off: nothing to send.
            AccountEmail.objects.filter(pk=email.pk).update(status=AccountEmail.Status.CANCELLED)
            composed[row.pk] = Drop("accepted meanwhile, or the account is closed")
            continue
        composed[row.pk] = account_message(email)
    return composed


def account_emails_waiting(*, now=None) -> list[int]:
    """Account e-mails still queued after PENDING_WINDOW with no message in the outbox (put
    before the outbox existed): putting them there again is safe (once per key)."""
    now = now or timezone.now()
    queued = AccountEmail.objects.filter(
        status=AccountEmail.Status.QUEUED, created_at__lte=now - PENDING_WINDOW
    ).order_by("pk")
    in_outbox = set(
        Notification.objects.filter(
            kind__in=[Notification.Kind.INVITATION, Notification.Kind.RESET],
            ref__in=queued.values("pk"),
        ).values_list("ref", flat=True)
    )
    return [pk for pk in queued.values_list("pk", flat=True) if pk not in in_outbox]


def summary(result: InviteResult) -> str:
    """The manager's one-line account of what happened, in the page's language."""
    parts = [_("Invitations sent: %(n)s.") % {"n": result.invited}]
    labels = [
        (result.has_account, _("Already have an account: %(n)s.")),
        (result.no_email, _("No e-mail address: %(n)s.")),
        (result.withdrawn, _("Withdrawn, not invited: %(n)s.")),
        (result.conflict, _("Address used by another account: %(n)s.")),
        (result.out_of_scope, _("Outside your regions: %(n)s.")),
    ]
    parts += [label % {"n": count} for count, label in labels if count]
    return " ".join(parts)
