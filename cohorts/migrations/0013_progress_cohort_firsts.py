"""The progress summary says which groups each enrolment is its cohort's first in
(`cohort_firsts`), so that reports count each cohort's sessions once per group by adding
up rows instead of finding distinct (group, cohort) pairs. Existing rows are filled here
(the same rule as cohorts.progress.cohort_firsts, copied so that this migration does not
change when that code does)."""

from django.db import migrations, models

KEYS = 3  # region, sex, role


def fill(apps, schema_editor):
    summary = apps.get_model("cohorts", "ProgressSummary")
    rows = sorted(summary.objects.values_list("pk", "cohort_id", "region_id", "sex", "role"))
    first: dict = {}
    for pk, cohort_id, *values in rows:
        for mask in range(1 << KEYS):
            kept = tuple(v for i, v in enumerate(values) if mask & (1 << i))
            first.setdefault((cohort_id, mask, kept), pk)
    changed = []
    for pk, cohort_id, *values in rows:
        bits = 0
        for mask in range(1 << KEYS):
            kept = tuple(v for i, v in enumerate(values) if mask & (1 << i))
            if first[(cohort_id, mask, kept)] == pk:
                bits |= 1 << mask
        changed.append(summary(pk=pk, cohort_firsts=bits))
    summary.objects.bulk_update(changed, ["cohort_firsts"], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("cohorts", "0012_titles_in_languages_and_signatories"),
    ]

    operations = [
        migrations.AddField(
            model_name="progresssummary",
            name="cohort_firsts",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
