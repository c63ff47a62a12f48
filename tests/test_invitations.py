"""Trainee accounts by invitation, and password resets: the account, the e-mail (once, in
the person's language, through the worker), the one-time links, the managers' pages."""

import datetime
import re

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import invitations
from accounts.tasks import send_account_email
from cohorts import services
from cohorts.models import AccountEmail, Participant
from messaging.outbox import deliver
from tests.factories import (
    CohortFactory,
    EnrolmentFactory,
    ParticipantFactory,
    UserFactory,
    manager,
    region,
)

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Une-phrase-de-passe-2021"
LINK = re.compile(r"https?://[^\s\"<]+/accounts/(?:set-password|reset)/[^\s\"<]+/")


@pytest.fixture
def rsk():
    return manager("manager-rsk", regions=["MA-04"])


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run on-commit callbacks (the queued tasks) as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _invite(people, by, on_commit):
    ids = [p.pk for p in people]
    with on_commit():
        return invitations.invite_participants(Participant.objects.filter(pk__in=ids), by=by)


def _link(message) -> str:
    return LINK.search(message.body).group(0)


def _path(link: str) -> str:
    return re.sub(r"^https?://[^/]+", "", link)


def _set_password(client, link: str, password: str = NEW_PASSWORD):
    """Open the link (it redirects to a token-less URL) and post the new password."""
    response = client.get(_path(link), follow=True)
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else _path(link)
    return client.post(
        form_url, {"new_password1": password, "new_password2": password}, follow=False
    )


# The invitation ------------------------------------------------------------------------------


def test_invitation_creates_the_account_and_sends_one_email_in_french(rsk, on_commit):
    person = ParticipantFactory(
        first_name="Karim", last_name="Alaoui", email="Karim.Alaoui@Example.org"
    )
    result = _invite([person], rsk, on_commit)
    assert (result.invited, result.has_account, result.no_email) == (1, 0, 0)
    person.refresh_from_db()
    user = person.user
    assert user.username == "karim.alaoui@example.org"
    assert user.email == "karim.alaoui@example.org"
    assert (user.first_name, user.last_name) == ("Karim", "Alaoui")
    assert not user.has_usable_password() and user.is_active
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["karim.alaoui@example.org"]
    assert "Bonjour Karim ALAOUI," in message.body  # French, whatever the page's language
    assert "karim.alaoui@example.org" in message.body  # the user name to sign in with
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and 'lang="fr" dir="ltr"' in html
    assert _link(message).startswith(f"{settings.SITE_URL}/accounts/set-password/")
    row = AccountEmail.objects.get()
    assert (row.kind, row.status, row.requested_by) == ("invitation", "sent", rsk)


def test_invitation_in_arabic_is_right_to_left(rsk, on_commit):
    person = ParticipantFactory(preferred_language="ar", first_name="Fatima", last_name="Idrissi")
    _invite([person], rsk, on_commit)
    message = mail.outbox[0]
    assert "السلام عليكم Fatima IDRISSI" in message.body
    html, _mimetype = message.alternatives[0]
    assert 'lang="ar" dir="rtl"' in html and "direction: rtl" in html
    assert re.search(r"[\u0600-\u06FF]", html)


def test_invitation_link_sets_the_password_once_and_signs_in(client, rsk, on_commit):
    person = ParticipantFactory()
    _invite([person], rsk, on_commit)
    link = _link(mail.outbox[0])
    response = _set_password(client, link)
    assert response.status_code == 302 and response.url == reverse("web:home")
    person.refresh_from_db()
    assert person.user.check_password(NEW_PASSWORD)
    assert client.get(reverse("web:home")).url == reverse("web:trainee-home")
    # The same link again: refused, with the way to a fresh one.
    client.logout()
    response = client.get(_path(link), follow=True)
    assert response.status_code == 200
    assert b'id="link-invalid"' in response.content
    assert reverse("web:password-reset").encode() in response.content
    # And signing in works with the e-mail address.
    assert client.login(username=person.email.upper(), password=NEW_PASSWORD)


def test_expired_invitation_is_refused(client, rsk, on_commit):
    person = ParticipantFactory()
    with time_machine.travel(timezone.now(), tick=False):
        _invite([person], rsk, on_commit)
    link = _link(mail.outbox[0])
    later = timezone.now() + datetime.timedelta(days=invitations.INVITATION_VALID_DAYS + 2)
    with time_machine.travel(later, tick=False):
        response = client.get(_path(link), follow=True)
        assert b'id="link-invalid"' in response.content
        response = client.post(
            _path(link), {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        )
    person.refresh_from_db()
    assert not person.user.has_usable_password()


def test_invitation_is_still_valid_after_a_week(client, rsk, on_commit):
    person = ParticipantFactory()
    _invite([person], rsk, on_commit)
    link = _link(mail.outbox[0])
    with time_machine.travel(timezone.now() + datetime.timedelta(days=7)):
        response = _set_password(client, link)
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.user.check_password(NEW_PASSWORD)


def test_an_invitation_token_is_no_reset_token(rsk, on_commit):
    from django.contrib.auth.tokens import default_token_generator

    person = ParticipantFactory()
    _invite([person], rsk, on_commit)
    person.refresh_from_db()
    token = invitations.invitation_tokens.make_token(person.user)
    assert invitations.invitation_tokens.check_token(person.user, token)
    assert not default_token_generator.check_token(person.user, token)


def test_without_email_counted_and_nothing_sent(rsk, on_commit):
    person = ParticipantFactory(email=None)
    result = _invite([person], rsk, on_commit)
    assert (result.invited, result.no_email) == (0, 1)
    assert mail.outbox == []
    person.refresh_from_db()
    assert person.user is None


def test_someone_with_an_account_is_left_alone(rsk, on_commit):
    user = UserFactory(username="amina")
    person = ParticipantFactory(user=user)
    result = _invite([person], rsk, on_commit)
    assert (result.invited, result.has_account) == (0, 1)
    assert mail.outbox == []


def test_an_address_of_a_staff_account_is_never_taken_over(rsk, on_commit):
    staff = UserFactory(username="boss", email="boss@example.org", is_staff=True)
    person = ParticipantFactory(email="boss@example.org")
    result = _invite([person], rsk, on_commit)
    assert (result.invited, result.conflict) == (0, 1)
    assert mail.outbox == []
    person.refresh_from_db()
    assert person.user is None
    staff.refresh_from_db()
    assert staff.check_password("pass-w0rd-for-tests")


def test_reinviting_later_sends_a_fresh_email_to_the_same_account(rsk, on_commit):
    person = ParticipantFactory()
    _invite([person], rsk, on_commit)
    with time_machine.travel(timezone.now() + datetime.timedelta(days=20)):
        result = _invite([person], rsk, on_commit)
    assert result.invited == 1
    assert len(mail.outbox) == 2
    assert _link(mail.outbox[0]) != _link(mail.outbox[1])
    assert get_user_model().objects.filter(email=person.email).count() == 1
    assert AccountEmail.objects.filter(status="sent").count() == 2


def test_a_duplicate_task_sends_once(rsk, on_commit):
    person = ParticipantFactory()
    _invite([person], rsk, on_commit)
    row = AccountEmail.objects.get()
    assert send_account_email.delay(row.pk).get() is False
    assert send_account_email.delay(row.pk).get() is False
    assert len(mail.outbox) == 1


def test_a_double_click_queues_one_email(rsk, on_commit, django_capture_on_commit_callbacks):
    person = ParticipantFactory()
    qs = Participant.objects.filter(pk=person.pk)
    with django_capture_on_commit_callbacks(execute=False):  # the worker has not run yet
        invitations.invite_participants(qs, by=rsk)
        invitations.invite_participants(qs, by=rsk)
    assert AccountEmail.objects.count() == 1


def test_an_invitation_accepted_meanwhile_is_not_sent(rsk, django_capture_on_commit_callbacks):
    person = ParticipantFactory()
    with django_capture_on_commit_callbacks(execute=False):
        invitations.invite_participants(Participant.objects.filter(pk=person.pk), by=rsk)
    person.refresh_from_db()
    person.user.set_password(NEW_PASSWORD)
    person.user.save()
    assert deliver().dropped == 1
    assert mail.outbox == []
    assert AccountEmail.objects.get().status == "cancelled"


def test_participants_outside_the_managers_regions_are_refused(rsk, on_commit):
    inside = ParticipantFactory()
    outside = ParticipantFactory(region=region("MA-01"))
    result = _invite([inside, outside], rsk, on_commit)
    assert (result.invited, result.out_of_scope) == (1, 1)
    outside.refresh_from_db()
    assert outside.user is None
    assert [m.to for m in mail.outbox] == [[inside.email]]


def test_cohort_invitation_skips_withdrawn_trainees(rsk, on_commit):
    cohort = CohortFactory()
    active = EnrolmentFactory(cohort=cohort)
    withdrawn = EnrolmentFactory(cohort=cohort)
    services.enrolment_withdraw(enrolment=withdrawn, withdrawn_on=datetime.date(2019, 6, 1))
    with on_commit():
        result = invitations.invite_cohort(cohort, by=rsk)
    assert (result.invited, result.withdrawn) == (1, 1)
    assert [m.to for m in mail.outbox] == [[active.participant.email]]


# The managers' pages -----------------------------------------------------------------------


def test_manager_invites_a_cohort_and_reads_the_counts(client, rsk, on_commit):
    cohort = CohortFactory()
    EnrolmentFactory(cohort=cohort)
    EnrolmentFactory(cohort=cohort, participant=ParticipantFactory(email=None))
    client.force_login(rsk)
    with on_commit():
        response = client.post(
            reverse("web:invite-cohort", args=[cohort.pk]),
            {"next": "/manage/"},
            follow=True,
            headers={"accept-language": "en"},
        )
    assert response.status_code == 200
    text = " ".join(str(m) for m in response.context["messages"])
    assert "Invitations sent: 1." in text and "No e-mail address: 1." in text
    assert len(mail.outbox) == 1


def test_manager_invites_one_participant(client, rsk, on_commit):
    person = ParticipantFactory()
    client.force_login(rsk)
    with on_commit():
        response = client.post(reverse("web:invite-participant", args=[person.pk]))
    assert response.status_code == 302
    assert len(mail.outbox) == 1


def test_an_outside_next_is_not_followed(client, rsk, on_commit):
    person = ParticipantFactory()
    client.force_login(rsk)
    response = client.post(
        reverse("web:invite-participant", args=[person.pk]), {"next": "https://evil.example/"}
    )
    assert response.url == reverse("web:manager-home")


def test_manager_of_another_region_gets_404(client, on_commit):
    other = manager("manager-tta", regions=["MA-01"])
    cohort = CohortFactory()
    person = EnrolmentFactory(cohort=cohort).participant
    client.force_login(other)
    assert client.post(reverse("web:invite-cohort", args=[cohort.pk])).status_code == 404
    assert client.post(reverse("web:invite-participant", args=[person.pk])).status_code == 404
    assert mail.outbox == [] and AccountEmail.objects.count() == 0


def test_get_on_invite_is_405(client, rsk):
    person = ParticipantFactory()
    cohort = CohortFactory()
    client.force_login(rsk)
    assert client.get(reverse("web:invite-participant", args=[person.pk])).status_code == 405
    assert client.get(reverse("web:invite-cohort", args=[cohort.pk])).status_code == 405


def test_anonymous_is_sent_to_login_and_trainee_refused(client):
    person = ParticipantFactory(user=UserFactory(username="trainee"))
    url = reverse("web:invite-participant", args=[person.pk])
    response = client.post(url)
    assert response.status_code == 302 and response.url.startswith(reverse("web:login"))
    client.force_login(person.user)
    assert client.post(url).status_code == 403


# Password reset ------------------------------------------------------------------------------


def test_password_reset_sends_one_email_in_the_trainees_language(client, on_commit):
    user = UserFactory(username="samira", email="samira@example.org")
    ParticipantFactory(user=user, preferred_language="ar", email="samira@example.org")
    with on_commit():
        response = client.post(
            reverse("web:password-reset"),
            {"email": "Samira@Example.org"},
            HTTP_ACCEPT_LANGUAGE="fr",
        )
    assert response.status_code == 302 and response.url == reverse("web:password-reset-done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert "السلام عليكم" in message.body
    assert 'dir="rtl"' in message.alternatives[0][0]
    link = _link(message)
    assert "/accounts/reset/" in link
    response = _set_password(client, link)
    assert response.status_code == 302
    assert response.url == reverse("web:password-reset-complete")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    # One use only.
    client.logout()
    assert b'id="link-invalid"' in client.get(_path(link), follow=True).content


def test_password_reset_uses_the_pages_language_for_non_trainees(client, on_commit):
    UserFactory(username="someone", email="someone@example.org")
    with on_commit():
        client.post(
            reverse("web:password-reset"),
            {"email": "someone@example.org"},
            HTTP_ACCEPT_LANGUAGE="fr",
        )
    assert AccountEmail.objects.get().language == "fr"
    assert mail.outbox[0].body.startswith("Bonjour")


def test_unknown_address_gets_the_same_answer_and_no_mail(client, on_commit):
    UserFactory(username="known", email="known@example.org")
    with on_commit():
        unknown = client.post(reverse("web:password-reset"), {"email": "nobody@example.org"})
        known = client.post(reverse("web:password-reset"), {"email": "known@example.org"})
    assert unknown.status_code == known.status_code == 302
    assert unknown.url == known.url
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["known@example.org"]


def test_an_invited_trainee_whose_link_expired_can_ask_for_a_new_one(client, rsk, on_commit):
    person = ParticipantFactory()
    _invite([person], rsk, on_commit)
    with on_commit():
        client.post(reverse("web:password-reset"), {"email": person.email})
    assert len(mail.outbox) == 2
    assert _set_password(client, _link(mail.outbox[1])).status_code == 302


def test_reset_requests_are_limited_per_hour(client, on_commit):
    UserFactory(username="known", email="known@example.org")
    with on_commit():
        for _ in range(invitations.RESETS_PER_HOUR + 2):
            response = client.post(reverse("web:password-reset"), {"email": "known@example.org"})
            assert response.status_code == 302
    assert len(mail.outbox) == invitations.RESETS_PER_HOUR


def test_a_weak_password_is_refused_and_changes_nothing(client, rsk, on_commit):
    person = ParticipantFactory()
    _invite([person], rsk, on_commit)
    response = _set_password(client, _link(mail.outbox[0]), password="123")
    assert response.status_code == 200
    assert b'aria-invalid="true"' in response.content
    person.refresh_from_db()
    assert not person.user.has_usable_password()


def test_admin_action_invites_the_selection(client, rsk, on_commit):
    person = ParticipantFactory()
    client.force_login(rsk)
    with on_commit():
        response = client.post(
            reverse("admin:cohorts_participant_changelist"),
            {"action": "invite", "_selected_action": [person.pk]},
            follow=True,
        )
    assert response.status_code == 200
    assert len(mail.outbox) == 1


def test_a_switched_off_account_cannot_use_its_link(client, rsk, on_commit):
    person = ParticipantFactory()
    _invite([person], rsk, on_commit)
    person.refresh_from_db()
    get_user_model().objects.filter(pk=person.user_id).update(is_active=False)
    response = _set_password(client, _link(mail.outbox[0]))
    assert b'id="link-invalid"' in response.content
    person.user.refresh_from_db()
    assert not person.user.has_usable_password()
