"""Integrations that exist before notifications do start reading at their latest event: people are
told about what happens from now on, not about every set-up and sync of the past."""

from django.db import migrations


def start_at_the_latest_event(apps, schema_editor):
    Integration = apps.get_model("integrations", "Integration")
    EventCursor = apps.get_model("notifications", "EventCursor")
    EventCursor.objects.bulk_create(
        [
            EventCursor(integration_id=pk, seq=last_seq, health=health)
            for pk, last_seq, health in Integration.objects.values_list("pk", "last_seq", "health").iterator()
        ],
        batch_size=1000,
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]

    operations = [migrations.RunPython(start_at_the_latest_event, migrations.RunPython.noop)]
