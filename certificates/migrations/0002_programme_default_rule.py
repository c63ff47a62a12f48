from django.db import migrations


def create(apps, schema_editor):
    Programme = apps.get_model("cohorts", "Programme")
    CompletionRule = apps.get_model("certificates", "CompletionRule")
    for programme in Programme.objects.all():
        CompletionRule.objects.get_or_create(programme=programme, cohort=None)


def remove(apps, schema_editor):
    CompletionRule = apps.get_model("certificates", "CompletionRule")
    CompletionRule.objects.filter(cohort=None).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("certificates", "0001_initial"),
        ("cohorts", "0003_programme_and_partners"),
    ]
    operations = [migrations.RunPython(create, remove)]
