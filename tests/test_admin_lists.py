"""The admin's lists a manager reads on a phone: sessions newest first with the sheet in
the first column, and every column header translated."""

import datetime
import re

import pytest
from django.contrib import admin
from django.contrib.admin.utils import label_for_field
from django.urls import reverse
from django.utils import translation

from tests.factories import CohortFactory, SessionFactory, manager

pytestmark = pytest.mark.django_db
CASABLANCA = datetime.timezone(datetime.timedelta(hours=1))


def test_the_session_list_is_newest_first_with_the_sheet_in_the_first_column(client):
    cohort = CohortFactory(year=2019)
    sessions = [
        SessionFactory(
            cohort=cohort,
            title=f"Module {month}",
            starts_at=datetime.datetime(2019, month, 12, 9, tzinfo=CASABLANCA),
        )
        for month in (3, 5, 4)
    ]
    client.force_login(manager("mgr"))
    response = client.get(
        reverse("admin:cohorts_trainingsession_changelist"), HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert response.status_code == 200
    html = response.content.decode()
    rows = re.findall(r"<tr>.*?</tr>", html[html.index('id="result_list"') :], re.S)
    assert len(rows) == 4  # the header and three sessions
    titles = [re.search(r"Module \d", row).group(0) for row in rows[1:]]
    assert titles == ["Module 5", "Module 4", "Module 3"]
    newest = next(s for s in sessions if s.title == "Module 5")
    first_cell = re.search(r"<t[dh][^>]*>(.*?)</t[dh]>", rows[1], re.S).group(1)
    assert reverse("admin:cohorts_trainingsession_roster", args=[newest.pk]) in first_cell
    assert "Feuille de présence" in first_cell


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_every_admin_column_header_is_translated(language):
    """A header equal to its English one is untranslated, except words French shares."""
    same_in_french = {"code", "participant", "programme", "version", "action", "session"}
    untranslated = []
    for model, model_admin in admin.site._registry.items():
        for name in model_admin.list_display:
            if name == "__str__":
                continue
            with translation.override("en"):
                english = str(label_for_field(name, model, model_admin))
            with translation.override(language):
                label = str(label_for_field(name, model, model_admin))
            if label == english and not (language == "fr" and english in same_in_french):
                untranslated.append(f"{model.__name__}.{name}: {label}")
    assert untranslated == []
