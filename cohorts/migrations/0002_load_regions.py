"""Load the 12 regions (2015 division) from the reference file shipped with the app."""

import csv
from pathlib import Path

from django.db import migrations

REGIONS_CSV = Path(__file__).resolve().parent.parent / "reference" / "regions.csv"


def load_regions(apps, schema_editor):
    Region = apps.get_model("cohorts", "Region")
    with REGIONS_CSV.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            Region.objects.update_or_create(
                code=row["iso_code"],
                defaults={
                    "name_fr": row["name_fr"],
                    "name_ar": row["name_ar"],
                    "capital": row["capital_fr"],
                },
            )


def unload_regions(apps, schema_editor):
    Region = apps.get_model("cohorts", "Region")
    Region.objects.filter(participants__isnull=True, cohorts__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("cohorts", "0001_initial")]
    operations = [migrations.RunPython(load_regions, unload_regions)]
