"""Accounts in a real browser: a manager invites a trainee, who opens the link from the
e-mail, chooses a password and lands on their own page; the link then no longer works."""

import re

from django.core import mail
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from cohorts.models import Participant
from tests.browser.conftest import sign_in

NEW_PASSWORD = "Une-phrase-de-passe-2021"
LINK = re.compile(r"https?://[^\s\"<]+(/accounts/set-password/[^\s\"<]+/)")


def _invite_as_manager(participant) -> str:
    """The manager's click (a POST as the cohort page sends it); the worker runs inline and
    the e-mail lands in the test outbox. Returns the link's path."""
    client = Client()
    client.login(username="manager-rsk", password="pass-w0rd-for-tests")
    response = client.post(
        reverse("web:invite-participant", args=[participant.pk]), {"next": "/manage/"}
    )
    assert response.status_code == 302
    [message] = [m for m in mail.outbox if m.to == [participant.email]]
    return LINK.search(message.body).group(1)


def test_invited_trainee_sets_a_password_and_signs_in_with_their_email(open_page, world):
    mail.outbox = []
    person = world["others"][0]
    # The account adopts the trainee's language once the password is set: English here.
    person.preferred_language = "en"
    person.save()
    link = _invite_as_manager(person)

    page = open_page(locale="en-GB")
    page.goto(link)
    expect(page.locator("h1")).to_have_text("Open your account")
    # The token leaves the address bar (Django swaps it for a session marker).
    assert "set-password/" in page.url and link not in page.url
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    page.click("#set-password-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/me/$"))
    person.refresh_from_db()
    assert person.user.check_password(NEW_PASSWORD)

    # The link again: expired or used, with the way to a fresh one.
    page.goto(link)
    expect(page.locator("#link-invalid")).to_be_visible()
    expect(page.locator("#link-invalid")).to_contain_text("expired or was already used")
    expect(page.locator("main a[href='/accounts/password-reset/']")).to_be_visible()

    # Sign out, then in with the e-mail address and the new password.
    page.click("form.logout button[type=submit]")
    sign_in(page, person.email, NEW_PASSWORD)
    expect(page).to_have_url(re.compile(r"/me/$"))


def test_mismatched_passwords_are_explained_and_change_nothing(open_page, world):
    mail.outbox = []
    person = world["others"][1]
    link = _invite_as_manager(person)
    page = open_page(locale="en-GB", phone=True)
    page.goto(link)
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD + "x")
    page.click("#set-password-form button[type=submit]")
    expect(page.locator("#id_new_password2-errors")).to_contain_text("didn’t match")
    expect(page.locator("#id_new_password2")).to_have_attribute("aria-invalid", "true")
    assert not Participant.objects.get(pk=person.pk).user.has_usable_password()


def test_forgotten_password_page_says_the_same_for_any_address(open_page, world):
    mail.outbox = []
    page = open_page(locale="en-GB")
    page.goto("/login/")
    page.click("a[href='/accounts/password-reset/']")
    page.fill("#id_email", "nobody@example.org")
    page.click("#password-reset-form button[type=submit]")
    expect(page.locator("#reset-requested h1")).to_have_text("Check your e-mail")
    assert mail.outbox == []
    page.goto("/accounts/password-reset/")
    page.fill("#id_email", "amina@example.org")
    page.click("#password-reset-form button[type=submit]")
    expect(page.locator("#reset-requested h1")).to_have_text("Check your e-mail")
    assert [m.to for m in mail.outbox] == [["amina@example.org"]]
