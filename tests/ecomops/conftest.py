import pytest


@pytest.fixture
def toy_kinds():
    """Registers the test-only model kinds train:toy, score:toy and train:toyfan for one test."""
    from . import toy_jobs

    toy_jobs.register()
    yield toy_jobs
    toy_jobs.unregister()


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Runs the on-commit callbacks (queued tasks) of the block, as a real commit would."""

    def runner():
        return django_capture_on_commit_callbacks(execute=True)

    return runner
