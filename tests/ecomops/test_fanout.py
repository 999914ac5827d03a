import pytest

from ecomops.fanout import job_fanout
from ecomops.jobs import JobContext, job_claim, job_start
from ecomops.models import JobRun, ModelVersion

pytestmark = pytest.mark.django_db


def test_fanout_runs_every_chunk_and_gathers_one_version(toy_kinds, run_on_commit):
    with run_on_commit():
        job = job_start(kind="train:toyfan", parameters={"items": [1, 2, 3, 4, 5, 6, 7], "chunk_size": 3})
    job.refresh_from_db()
    assert (job.state, job.progress, job.chunks_total, job.chunks_done) == ("succeeded", 100, 3, 3)
    assert job.result == {"version": 1, "n": 7, "sum_sq": 140, "chunks": 3}
    assert [line.split(" ", 2)[2] for line in job.log.splitlines() if "[chunk" in line] == [
        "[chunk 1/3] 3 items",
        "[chunk 2/3] 3 items",
        "[chunk 3/3] 1 items",
    ]
    version = ModelVersion.objects.get()
    assert (version.registered_model.name, version.status, version.trained_by_job_id) == ("toyfan", "active", job.pk)


def test_a_failing_chunk_fails_the_job_and_nothing_is_gathered(toy_kinds, run_on_commit):
    with run_on_commit():
        job = job_start(kind="train:toyfan", parameters={"items": [1, 2, 3, 4, 5], "chunk_size": 2, "fail_on": 3})
    job.refresh_from_db()
    assert (job.state, job.error) == ("failed", "chunk 2/3 failed: ValueError: item 3 is poison")
    assert job.chunks_done == 1  # chunk 1 finished; chunk 3 found the job failed and did nothing
    assert ModelVersion.objects.count() == 0


def test_empty_fanout_gathers_at_once(toy_kinds, run_on_commit):
    with run_on_commit():
        job = job_start(kind="train:toyfan", parameters={"items": [5], "chunk_size": 4})
    job.refresh_from_db()
    assert job.result == {"version": 1, "n": 1, "sum_sq": 25, "chunks": 1}
    empty = job_start(kind="train:toyfan", parameters={"items": []})
    ctx = JobContext(JobRun.objects.get(pk=empty.pk), claim_token=job_claim(job_id=empty.pk).token)
    with pytest.raises(ZeroDivisionError):  # the toy gather divides by the item count
        job_fanout(ctx, items=[], chunk_size=2, chunk="toyfan:sum", gather="toyfan:sum")


def test_unregistered_steps_and_bad_chunk_size_are_refused(toy_kinds):
    job = job_start(kind="train:toyfan")
    ctx = JobContext(JobRun.objects.get(pk=job.pk), claim_token=job_claim(job_id=job.pk).token)
    with pytest.raises(ValueError, match="chunk 'nope' is not registered with @fanout_chunk"):
        job_fanout(ctx, items=[1], chunk_size=1, chunk="nope", gather="toyfan:sum")
    with pytest.raises(ValueError, match="chunk_size must be at least 1"):
        job_fanout(ctx, items=[1], chunk_size=0, chunk="toyfan:sum", gather="toyfan:sum")
