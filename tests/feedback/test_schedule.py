"""The queue re-prioritisation runs on a periodic beat schedule created by a data migration."""

import pytest


@pytest.mark.django_db
def test_queue_refresh_is_scheduled_every_15_minutes_and_points_at_a_registered_task():
    from django_celery_beat.models import PeriodicTask

    from ecomops.celery import app

    task = PeriodicTask.objects.select_related("crontab").get(task="feedback.tasks.queue_refresh_priorities_task")
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("*/15", "*", "*")
    assert task.enabled
    import feedback.tasks  # noqa: F401 - registers the task

    assert "feedback.tasks.queue_refresh_priorities_task" in app.tasks
