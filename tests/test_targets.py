"""Programme targets: kept in the admin with their history, read by the reports."""

import re
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from cohorts.models import FunderProfile, Organisation
from reports.models import Target, TargetRevision
from reports.targets import TargetValues, combined, targets
from tests.factories import UserFactory, manager, region

pytestmark = pytest.mark.django_db

ADD = reverse("admin:reports_target_add")


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def _form(**values) -> dict:
    data = {
        "year": "2019",
        "region": "MA-04",
        "people_trained": "",
        "women_share_percent": "",
        "completion_rate_percent": "",
        "certificates": "",
        "revisions-TOTAL_FORMS": "0",
        "revisions-INITIAL_FORMS": "0",
    }
    return data | {name: str(value) for name, value in values.items()}


# The admin ---------------------------------------------------------------------------------


def test_a_manager_adds_a_target_and_a_change_is_recorded_with_old_and_new_values():
    user = manager("planner")
    client = _client(user)
    response = client.post(ADD, _form(people_trained=450, women_share_percent="40"))
    assert response.status_code == 302, response.content.decode()[:3000]
    target = Target.objects.get(year=2019, region="MA-04")
    assert (target.people_trained, target.women_share_percent) == (450, Decimal("40.00"))

    change = reverse("admin:reports_target_change", args=[target.pk])
    response = client.post(
        change, _form(people_trained=480, women_share_percent="40", certificates=300)
    )
    assert response.status_code == 302, response.content.decode()[:3000]

    created, updated = TargetRevision.objects.filter(target=target).order_by("changed_at", "id")
    assert created.action == "created" and created.before is None
    assert created.after["people_trained"] == 450
    assert updated.action == "updated"
    assert updated.changed_by == user
    assert updated.before["people_trained"] == 450 and updated.after["people_trained"] == 480
    assert updated.before["certificates"] is None and updated.after["certificates"] == 300
    assert updated.after["women_share_percent"] == "40.00"

    # The change page shows the history, read-only: who, and old → new.
    html = client.get(change).content.decode()
    assert "History of this target" in html
    assert "people trained: 450 → 480" in html
    assert "certificates: — → 300" in html
    # Nothing editable in the history (only the inline's hidden row ids).
    assert not re.search(
        r'<(input|select|textarea)(?![^>]*type="hidden")[^>]*name="revisions-', html
    )


def test_saving_without_a_change_records_nothing():
    target = Target(year=2019, people_trained=10)
    target.save()
    target.save()
    assert TargetRevision.objects.filter(target=target).count() == 1


def test_a_deleted_target_keeps_its_history():
    target = Target.objects.create(year=2020, region=region("MA-01"), certificates=12)
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    target.delete(changed_by=admin)
    deleted = TargetRevision.objects.get(action="deleted")
    assert deleted.target is None
    assert (deleted.year, deleted.region_id, deleted.changed_by) == (2020, "MA-01", admin)
    assert deleted.before["certificates"] == 12


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"women_share_percent": "140"}, "women_share_percent", "between 0 and 100"),
        ({"completion_rate_percent": "-5"}, "completion_rate_percent", "between 0 and 100"),
        ({"people_trained": "-3"}, "people_trained", "zero or more"),
        ({"year": "2031", "people_trained": "10"}, "year", "The programme runs from 2018 to 2021"),
        ({}, None, "Enter at least one figure to aim for"),
    ],
)
def test_the_admin_explains_a_bad_value_and_saves_nothing(values, field, message):
    response = _client(manager("planner")).post(ADD, _form(**values))
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    if field:
        assert f'id="id_{field}"' in html and "errorlist" in html
    assert not Target.objects.exists()
    assert not TargetRevision.objects.exists()


def test_one_target_per_year_and_region_and_one_for_the_whole_programme():
    client = _client(manager("planner"))
    assert client.post(ADD, _form(people_trained=10)).status_code == 302
    response = client.post(ADD, _form(people_trained=20))
    assert "There is already a target for this year and region." in response.content.decode()
    assert client.post(ADD, _form(region="", people_trained=100)).status_code == 302
    response = client.post(ADD, _form(region="", people_trained=200))
    assert "for this year and the whole programme" in response.content.decode()
    assert Target.objects.count() == 2
    # The database holds the same rule, whatever writes.
    with pytest.raises(IntegrityError), transaction.atomic():
        Target.objects.create(year=2019, people_trained=300)


def test_managers_may_edit_targets_and_funders_may_not():
    scoped = manager("rsk", regions=["MA-04"])
    assert _client(scoped).get(ADD).status_code == 200
    assert scoped.has_perms(["reports.add_target", "reports.change_target", "reports.view_target"])
    funder = UserFactory(username="afd", is_staff=False)
    FunderProfile.objects.create(
        user=funder, organisation=Organisation.objects.get(short_name="AFD")
    )
    response = _client(funder).get(ADD)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not funder.has_perm("reports.view_target")


# The read side -----------------------------------------------------------------------------


def test_targets_reads_shares_as_rates_by_year_and_region():
    Target.objects.create(
        year=2019,
        region=region("MA-04"),
        people_trained=450,
        women_share_percent=Decimal("40"),
        completion_rate_percent=Decimal("75.5"),
    )
    Target.objects.create(year=2019, certificates=900)
    assert targets() == {
        (2019, "MA-04"): TargetValues(450, 0.4, 0.755, None),
        (2019, None): TargetValues(None, None, None, 900),
    }


def test_combined_targets_sum_counts_and_weigh_shares_only_when_every_part_has_them():
    a = TargetValues(100, 0.5, 0.8, 80)
    b = TargetValues(300, 0.3, None, 200)
    both = combined([a, b])
    assert both.people_trained == 400 and both.certificates == 280
    assert both.women_share == pytest.approx((50 + 90) / 400)
    assert both.completion_rate is None
    assert combined([a, None]) == TargetValues(None, None, None, None)
    assert combined([a]) == a


# Demo data ---------------------------------------------------------------------------------


def test_the_demo_has_plausible_targets_for_every_year_and_region_and_keeps_them(settings):
    from io import StringIO

    from django.core.management import call_command

    from cohorts.models import Region

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    out = StringIO()
    call_command("seed_demo", "--no-certificates", stdout=out, stderr=StringIO())
    assert "Targets set:" in out.getvalue()
    found = targets()
    regions = set(Region.objects.values_list("code", flat=True))
    for year in (2018, 2019, 2020, 2021):
        assert {r for y, r in found if y == year} == regions | {None}
        whole = found[(year, None)]
        parts = [found[(year, r)] for r in regions]
        assert whole.people_trained == sum(p.people_trained for p in parts)
        for part in [whole, *parts]:
            assert 0.3 <= part.women_share <= 0.4
            assert 0.75 <= part.completion_rate <= 0.8
            assert 0 < part.certificates < part.people_trained
    revisions = TargetRevision.objects.count()
    # A second run keeps them as they are (a manager's edits too).
    Target.objects.filter(year=2019, region=None).get().save()
    call_command("seed_demo", "--no-certificates", stdout=StringIO(), stderr=StringIO())
    assert targets() == found
    assert TargetRevision.objects.count() == revisions


# On the dashboard --------------------------------------------------------------------------


def _people(code: str, year: int, n: int, women: int = 0) -> None:
    from tests.factories import CohortFactory, EnrolmentFactory, ParticipantFactory

    cohort = CohortFactory(regions=[region(code)], year=year)
    for i in range(n):
        person = ParticipantFactory(region=region(code), sex="F" if i < women else "M")
        EnrolmentFactory(cohort=cohort, participant=person)


def _cells(html: str, table_id: str, key: str) -> dict[str, tuple[str, str]]:
    """{measure: (data-value, shown text)} of one row of a dashboard table."""
    table = html[html.index(f'<table id="{table_id}"') :]
    table = table[: table.index("</table>")]
    row = re.search(rf'<tr data-key="{re.escape(key)}"[^>]*>(.*?)</tr>', table, re.S)
    assert row, key
    return {
        measure: (value, re.sub(r"<[^>]+>", "", text).strip())
        for measure, value, text in re.findall(
            r'data-measure="([^"]+)" data-value="([^"]*)"[^>]*>(.*?)</td>', row.group(1), re.S
        )
    }


def test_targets_entered_in_the_admin_show_as_actual_against_target_on_the_dashboard():
    _people("MA-04", 2019, 12, women=4)
    _people("MA-03", 2019, 10, women=5)
    _people("MA-06", 2019, 20, women=5)
    _people("MA-01", 2019, 3)  # withheld from funders
    planner = manager("planner")
    admin = _client(planner)
    for code, trained, women, certificates in [
        ("MA-04", 15, "40", 10),
        ("MA-01", 6, "", ""),
        ("", 30, "35", 20),
    ]:
        response = admin.post(
            ADD,
            _form(
                region=code,
                people_trained=trained,
                women_share_percent=women,
                certificates=certificates,
            ),
        )
        assert response.status_code == 302, response.content.decode()[:2000]
    # A manager's figures are exact: actual against target, as entered.
    html = _client(planner).get("/dashboard/", {"year": "2019"}).content.decode()

    # Headline: 45 people of the 30 promised for 2019 (the whole programme's target).
    fact = re.search(r'data-measure="people" data-value="45".*?</div>', html, re.S)
    assert fact and 'data-measure="people_target" data-value="30"' in fact.group(0)
    assert "target 30" in fact.group(0) and "150% of the target" in fact.group(0)

    rabat = _cells(html, "by-region", "MA-04")
    assert rabat["people"] == ("12", "12") and rabat["people_target"] == ("15", "15")
    assert rabat["women_share_target"][1] == "40%"
    assert rabat["certificates_issued_target"] == ("10", "10")
    tangier = _cells(html, "by-region", "MA-01")
    assert tangier["people_target"] == ("6", "6")
    assert tangier["women_share_target"] == ("", "no target")
    # The region × year table has them too; the totals row has the programme's target.
    assert _cells(html, "by-region-year", "MA-04/2019")["people_target"] == ("15", "15")
    assert _cells(html, "by-region", "total")["people_target"] == ("30", "30")
    # No target for a sex or a role.
    assert "people_target" not in _cells(html, "by-sex", "total")

    # A funder: the small region's actual is withheld, its target is shown.
    funder = UserFactory(username="afd")
    FunderProfile.objects.create(
        user=funder, organisation=Organisation.objects.get(short_name="AFD")
    )
    html = _client(funder).get("/dashboard/", {"year": "2019"}).content.decode()
    tangier = _cells(html, "by-region", "MA-01")
    assert tangier["people"] == ("", "—not shown")  # a dash, "not shown" to screen readers
    assert tangier["people_target"] == ("6", "6")
    assert _cells(html, "by-region", "total")["people_target"] == ("30", "30")
    assert 'class="fact-target" data-measure="people_target" data-value="30"' in html


def test_a_scoped_manager_sees_their_regions_targets_added_up():
    _people("MA-04", 2019, 6)
    Target.objects.create(year=2019, region=region("MA-04"), people_trained=8)
    Target.objects.create(year=2019, region=region("MA-03"), people_trained=50)
    Target.objects.create(year=2019, people_trained=500)
    html = _client(manager("rsk", regions=["MA-04"])).get("/dashboard/", {"year": "2019"})
    cells = _cells(html.content.decode(), "by-region", "total")
    assert cells["people_target"] == ("8", "8")  # theirs, not the programme's 500
