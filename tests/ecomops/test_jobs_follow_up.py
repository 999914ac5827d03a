"""Follow-up jobs (re-scoring after an activation) are not queued twice, and train_models starts them once."""

import pytest

from ecomops.jobs import job_handler, job_handler_unregister, job_start_follow_up, jobs_follow_ups_deferred
from ecomops.models import JobRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def follow_up_kind():
    @job_handler("test:follow-up", queue="default", time_limit=60)
    def follow_up(ctx, params):
        return {}

    yield "test:follow-up"
    job_handler_unregister("test:follow-up")


def test_a_follow_up_still_queued_is_not_asked_for_twice(follow_up_kind):
    first = job_start_follow_up(kind=follow_up_kind, parameters={"all": True}, requested_via="activation")
    again = job_start_follow_up(kind=follow_up_kind, parameters={"all": True}, requested_via="activation")
    other = job_start_follow_up(kind=follow_up_kind, parameters={"all": False}, requested_via="activation")

    assert again.pk == first.pk
    assert other.pk != first.pk
    assert JobRun.objects.filter(kind=follow_up_kind).count() == 2


def test_once_the_queued_one_has_started_a_new_one_is_queued(follow_up_kind):
    """A running re-scoring may have read the reviews before the newest activation: it does not count."""
    from django.utils import timezone

    first = job_start_follow_up(kind=follow_up_kind, parameters={"all": True})
    JobRun.objects.filter(pk=first.pk).update(state=JobRun.State.RUNNING, started_at=timezone.now())

    second = job_start_follow_up(kind=follow_up_kind, parameters={"all": True})

    assert second.pk != first.pk
    assert JobRun.objects.get(pk=second.pk).state == JobRun.State.QUEUED


def test_inside_a_deferring_block_each_distinct_follow_up_starts_once_at_its_end(follow_up_kind):
    with jobs_follow_ups_deferred():
        assert job_start_follow_up(kind=follow_up_kind, parameters={"all": True}) is None
        with jobs_follow_ups_deferred():  # nested: the outer block starts them
            assert job_start_follow_up(kind=follow_up_kind, parameters={"all": True}) is None
        assert job_start_follow_up(kind=follow_up_kind, parameters={"all": False}) is None
        assert not JobRun.objects.filter(kind=follow_up_kind).exists()

    assert sorted(JobRun.objects.filter(kind=follow_up_kind).values_list("parameters__all", flat=True)) == [False, True]


def test_an_unknown_follow_up_kind_fails_where_it_is_asked_for():
    with jobs_follow_ups_deferred(), pytest.raises(ValueError, match="no-such-kind"):
        job_start_follow_up(kind="test:no-such-kind")
