"""Native thread pools per worker process: each process's share of the cores, an operator's setting wins."""

import pytest
import torch
from threadpoolctl import threadpool_info, threadpool_limits

from ecomops.celery import _limit_native_threads, _plan_native_threads
from ecomops.threads import THREADS_ENV, limit_native_threads, plan_worker_threads, threads_per_process


@pytest.mark.parametrize(
    ("concurrency", "cpus", "expected"), [(2, 2, 1), (1, 8, 8), (3, 8, 2), (16, 4, 1), (None, 4, 4), (0, 4, 4)]
)
def test_threads_per_process_is_the_share_of_the_cores(concurrency, cpus, expected):
    assert threads_per_process(concurrency=concurrency, cpus=cpus) == expected


def test_the_plan_keeps_an_operators_setting():
    environ = {THREADS_ENV: "3"}
    assert plan_worker_threads(concurrency=8, environ=environ) == 3
    environ = {}
    assert plan_worker_threads(concurrency=10**6, environ=environ) == 1
    assert environ == {THREADS_ENV: "1"}


@pytest.fixture
def torch_threads():
    """torch's intra-op pool is not threadpoolctl's to restore: put this test process's size back."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_worker_signals_plan_from_the_command_line_concurrency_and_limit_the_process(monkeypatch, torch_threads):
    for name in (THREADS_ENV, "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(name, "")  # recorded, so that teardown restores what the process had
        monkeypatch.delenv(name)
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    _plan_native_threads(options={"concurrency": 4})
    import os

    assert os.environ[THREADS_ENV] == "1"
    with threadpool_limits():  # restores this test process's pools afterwards
        _limit_native_threads()
        pools = threadpool_info()
        assert pools and {pool["num_threads"] for pool in pools} == {1}
        assert torch.get_num_threads() == 1
    assert os.environ["OMP_NUM_THREADS"] == "1"


def test_limit_sets_library_variables_only_where_the_operator_did_not(torch_threads):
    environ = {"OMP_NUM_THREADS": "6"}
    with threadpool_limits():
        limit_native_threads(2, environ=environ)
    assert environ == {"OMP_NUM_THREADS": "6", "OPENBLAS_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}
