"""Create the "Région 2021" programme and its partner organisations (reference data)."""

import datetime

from django.db import migrations

ORGANISATIONS = [
    ("Occitanie", "Région Occitanie / Pyrénées-Méditerranée", "pilot", "FR"),
    ("ARM", "Association des Régions du Maroc", "partner", "MA"),
    ("RdF", "Régions de France", "partner", "FR"),
    ("AFD", "Agence française de développement", "funder", "FR"),
    ("DGCL", "Direction générale des Collectivités locales (ministère de l'Intérieur)",
     "ministry", "MA"),
]


def create(apps, schema_editor):
    Organisation = apps.get_model("cohorts", "Organisation")
    Programme = apps.get_model("cohorts", "Programme")
    partners = []
    for short_name, name, kind, country in ORGANISATIONS:
        organisation, _ = Organisation.objects.get_or_create(
            short_name=short_name, defaults={"name": name, "kind": kind, "country": country}
        )
        partners.append(organisation)
    programme, _ = Programme.objects.get_or_create(
        code="R2021",
        defaults={
            "name": "Cycle d'études Région 2021",
            "start_date": datetime.date(2018, 1, 1),
            "end_date": datetime.date(2021, 12, 31),
        },
    )
    programme.partners.add(*partners)


def remove(apps, schema_editor):
    Programme = apps.get_model("cohorts", "Programme")
    Organisation = apps.get_model("cohorts", "Organisation")
    Programme.objects.filter(code="R2021", cohorts__isnull=True).delete()
    Organisation.objects.filter(
        short_name__in=[o[0] for o in ORGANISATIONS], programmes__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("cohorts", "0002_load_regions")]
    operations = [migrations.RunPython(create, remove)]
