"""The periodic re-prioritisation of the customer-service queue in the beat schedule (editable in the admin).

Priorities grow with the time an item waits against its topic's SLA, so they are refreshed every 15 minutes."""

from django.db import migrations

TASK_NAME = "feedback: refresh customer-service queue priorities"
TASK = "feedback.tasks.queue_refresh_priorities_task"


def add_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="*/15", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": TASK,
            "crontab": crontab,
            "enabled": True,
            "description": "Every 15 minutes: priorities grow with waiting time against the SLA per topic.",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0002_analysis_queue_replies"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(add_schedule, remove_schedule)]
