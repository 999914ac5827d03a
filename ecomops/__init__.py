"""ecomops: the project package and the shared platform (jobs, model registry, reports, API plumbing)."""

from .celery import app as celery_app

__all__ = ["celery_app"]
