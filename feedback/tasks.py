"""Celery entry points of feedback: take ids, call a service."""

from celery import shared_task

from .services import NoActiveModel, reviews_analyze
from .services_queue import queue_refresh_priorities


@shared_task(queue="ml", acks_late=True, soft_time_limit=1800, ignore_result=True)
def reviews_analyze_task(review_ids: list[int]) -> int:
    """Score newly arrived reviews (queued after the import/API transaction commits)."""
    try:
        return reviews_analyze(review_ids=review_ids)
    except NoActiveModel:
        return 0  # nothing to score with yet; the first activation re-scores everything


@shared_task(queue="default", ignore_result=True, soft_time_limit=600)
def queue_refresh_priorities_task() -> int:
    """Periodic: priorities grow with waiting time."""
    return queue_refresh_priorities()
