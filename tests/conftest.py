"""Shared fixtures. Tests run on SQLite by default and on Postgres + Redis when DATABASE_URL says so."""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from hypothesis import settings as hypothesis_settings

# Property tests explore the same examples on every run, so CI is reproducible; explore freely locally with
# HYPOTHESIS_PROFILE=explore.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
hypothesis_settings.register_profile("explore", deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

SHARED_DATA = Path(settings.BASE_DIR).parent / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """Path into ../shared/data; the test is skipped with the reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (only in the ecomops workplace)")
    return path


@pytest.fixture
def postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: row locks do nothing on SQLite")


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Django's advice for test suites: a cheap hasher. The production PBKDF2 (1,000,000 rounds) costs 0.3 s per
    user created or logged in, about a minute of each CI pass; what is tested is who may log in, not the hash."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _celery_eager(request):
    """Celery runs tasks in-process in ordinary tests, also when REDIS_URL is set (CI on Postgres + Redis).

    Tests marked ``real_worker`` talk to real worker processes instead (see tests/ecomops/test_real_worker.py).
    """
    if request.node.get_closest_marker("real_worker"):
        yield
        return
    from ecomops.celery import app

    # Jobs run inline so that a test sees their outcome; tests/ecomops/test_jobs_background.py covers the
    # background thread the embedded default uses.
    saved_background = settings.ECOMOPS_EAGER_JOBS_IN_BACKGROUND
    settings.ECOMOPS_EAGER_JOBS_IN_BACKGROUND = False

    saved = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, False
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved
    settings.ECOMOPS_EAGER_JOBS_IN_BACKGROUND = saved_background


@pytest.fixture
def operator_user(db, django_user_model):
    """A staff user in the operator group with every model permission, as a daily admin user has."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user(username="operator", password="operator-pass-123", is_staff=True)
    user.user_permissions.set(Permission.objects.all())
    return user


@pytest.fixture
def api_client(operator_user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(operator_user)
    return client
