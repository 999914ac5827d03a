import io

import pytest
from django.core.management import CommandError, call_command

from ecomops.models import JobRun, ModelVersion

pytestmark = pytest.mark.django_db


def test_train_models_runs_in_process_with_progress_and_as_of(toy_kinds, monkeypatch):
    import ecomops.jobs

    toy_only = {k: h for k, h in ecomops.jobs._HANDLERS.items() if k in toy_kinds.KINDS}
    monkeypatch.setattr(ecomops.jobs, "_HANDLERS", toy_only)
    out = io.StringIO()
    call_command("train_models", "--as-of", "2018-03-01", stdout=out)
    lines = out.getvalue().splitlines()
    job = JobRun.objects.get(kind="train:toy")
    assert lines[0] == f"== train:toy (job {job.pk})"
    assert "[toy] [ 22%] step 2/4" in lines
    assert "[toy] succeeded" in lines
    assert any(line.startswith("train:toyfan: succeeded") for line in lines)
    assert job.parameters == {"as_of": "2018-03-01"}
    assert job.requested_via == "command"
    assert ModelVersion.objects.get(registered_model__name="toy").as_of.isoformat() == "2018-03-01"


def test_train_models_only_named_kinds_and_unknown_kind_error(toy_kinds):
    out = io.StringIO()
    call_command("train_models", "--only", "toy", stdout=out)
    assert list(JobRun.objects.values_list("kind", "state")) == [("train:toy", "succeeded")]
    with pytest.raises(CommandError, match=r"unknown model kind nope; known: .*toy"):
        call_command("train_models", "--only", "nope", "toy")
    with pytest.raises(CommandError, match="--as-of must be a date as YYYY-MM-DD, not '1/2/2018'"):
        call_command("train_models", "--only", "toy", "--as-of", "1/2/2018")
    assert JobRun.objects.count() == 1


def test_train_models_fails_loudly_when_a_job_fails(toy_kinds):
    from ecomops.jobs import _HANDLERS, job_handler

    original = _HANDLERS["train:toy"]
    job_handler("train:toy", queue="ml")(lambda ctx, params: 1 / 0)
    try:
        with pytest.raises(
            CommandError, match=r"1 of 1 training job\(s\) did not succeed: train:toy \(job \d+, failed\)"
        ):
            call_command("train_models", "--only", "toy", stdout=io.StringIO())
    finally:
        _HANDLERS["train:toy"] = original


def test_run_job_runs_one_kind_with_parameters(toy_kinds):
    out = io.StringIO()
    call_command("run_job", "score:toy", "--param", "rows=7", stdout=out)
    job = JobRun.objects.get()
    assert (job.state, job.result, job.parameters) == ("succeeded", {"rows": 7}, {"rows": 7})
    assert out.getvalue().splitlines()[-1] == f"job {job.pk} score:toy: succeeded"
    with pytest.raises(CommandError, match="--param must look like key=value, not 'rows'"):
        call_command("run_job", "score:toy", "--param", "rows")
