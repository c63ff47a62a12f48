"""After five failed sign-ins the lockout says when to try again: on the page and in the API."""

import datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from tests.factories import manager

pytestmark = pytest.mark.django_db

# 10:00 UTC is 11:00 in Casablanca in December (UTC+1).
LOCKED_AT = datetime.datetime(2026, 12, 3, 10, 0, tzinfo=datetime.UTC)

MESSAGES = {
    "en": ("Too many failed sign-ins. Try again in 15 minutes, at 11:15.",
           "Too many failed sign-ins. Try again in 9 minutes, at 11:15."),
    "fr": ("Trop de tentatives de connexion échouées. Réessayez dans 15 minutes, à 11:15.",
           "Trop de tentatives de connexion échouées. Réessayez dans 9 minutes, à 11:15."),
    "ar": ("محاولات دخول فاشلة كثيرة. أعيدوا المحاولة بعد 15 دقيقة، على الساعة 11:15.",
           "محاولات دخول فاشلة كثيرة. أعيدوا المحاولة بعد 9 دقائق، على الساعة 11:15."),
}  # fmt: skip


def _sign_in_page(client: Client, language: str, password: str):
    return client.post(
        reverse("web:login"),
        {"username": "national", "password": password},
        HTTP_ACCEPT_LANGUAGE=language,
    )


@pytest.mark.parametrize("language", ["fr", "ar", "en"])
def test_the_login_page_says_how_long_to_wait(language):
    manager("national")
    client = Client()
    with time_machine.travel(LOCKED_AT - datetime.timedelta(minutes=3), tick=False):
        for _ in range(4):
            assert "Try again" not in _sign_in_page(client, "en", "guess").content.decode()
    with time_machine.travel(LOCKED_AT, tick=False):
        _sign_in_page(client, "en", "guess")  # the fifth: locked for 15 minutes from now
        page = _sign_in_page(client, language, "pass-w0rd-for-tests").content.decode()
        assert MESSAGES[language][0] in page
    with time_machine.travel(LOCKED_AT + datetime.timedelta(minutes=6, seconds=30), tick=False):
        page = _sign_in_page(client, language, "pass-w0rd-for-tests").content.decode()
        assert MESSAGES[language][1] in page
        assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("language", ["fr", "ar", "en"])
def test_the_api_says_how_long_to_wait(language):
    manager("national")
    client = Client()
    url = "/api/v1/auth/token/"
    with time_machine.travel(LOCKED_AT, tick=False):
        for _ in range(5):
            client.post(url, {"username": "national", "password": "guess"})
        response = client.post(
            url,
            {"username": "national", "password": "pass-w0rd-for-tests"},
            HTTP_ACCEPT_LANGUAGE=language,
        )
    assert response.status_code == 429
    assert response.json() == {
        "error": {"code": "throttled", "message": MESSAGES[language][0], "fields": {}}
    }
    assert response["Retry-After"] == "900"


def test_a_successful_sign_in_clears_the_count():
    manager("national")
    client = Client()
    for _ in range(4):
        _sign_in_page(client, "en", "guess")
    assert _sign_in_page(client, "en", "pass-w0rd-for-tests").status_code == 302
    client.logout()
    for _ in range(4):
        assert "Try again" not in _sign_in_page(client, "en", "guess").content.decode()
