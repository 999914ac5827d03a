"""Default schedules, editable in the admin (Periodic tasks): nightly training, hourly scoring, stuck-job sweep."""

from django.db import migrations

SCHEDULES = [
    # (name, task, crontab minute, hour, description)
    (
        "Nightly retraining of every model",
        "ecomops.tasks.train_all_task",
        "0",
        "2",
        "Starts train:<model> for every kind.",
    ),
    (
        "Hourly scoring with active models",
        "ecomops.tasks.score_all_task",
        "15",
        "*",
        "Starts score:<model> for every kind.",
    ),
    ("Fail jobs stuck past their time limit", "ecomops.tasks.fail_stuck_jobs_task", "*/5", "*", "Every five minutes."),
]


def create_schedules(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, minute, hour, description in SCHEDULES:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
        )
        PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": task, "crontab": crontab, "description": description, "enabled": True}
        )


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, *_ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ecomops", "0002_job_claims_and_fanout"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
