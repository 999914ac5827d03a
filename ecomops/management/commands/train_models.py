"""``manage.py train_models [--only KIND ...] [--as-of YYYY-MM-DD] [--wait]``: train every model kind (or some).

On the embedded default (no ``REDIS_URL``: Celery eager) the jobs run here, one after another, printing
their progress, and the follow-up jobs they ask for (re-scoring the stored reviews when a sentiment or topic
version is activated) start once after the last; with workers they are queued (``--wait`` follows them until
they finish), and a follow-up that is still queued is not asked for twice.
"""

from __future__ import annotations

import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from ecomops.celery import app as celery_app
from ecomops.jobs import job_create, job_run, job_start, jobs_follow_ups_deferred, model_kinds
from ecomops.models import JobRun


class Command(BaseCommand):
    help = "Train every registered model kind (train:<kind> jobs), or only the named ones."

    def add_arguments(self, parser):
        parser.add_argument(
            "--only", nargs="+", metavar="KIND", help="model kinds to train, e.g. demand delivery (default: all)"
        )
        parser.add_argument("--as-of", metavar="YYYY-MM-DD", help="train only on data strictly before this date")
        parser.add_argument("--wait", action="store_true", help="with workers: follow the jobs until they finish")

    def handle(self, *args, only=None, as_of=None, wait=False, **options):
        known = model_kinds("train")
        kinds = known
        if only:
            kinds = [k.removeprefix("train:") for k in only]
            unknown = [k for k in kinds if k not in known]
            if unknown:
                raise CommandError(
                    f"unknown model kind{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                    f"known: {', '.join(known) or 'none registered'}"
                )
        if not kinds:
            raise CommandError("no model kinds are registered (no train:<kind> job handlers)")
        parameters = {}
        if as_of:
            try:
                parameters["as_of"] = date.fromisoformat(as_of).isoformat()
            except ValueError:
                raise CommandError(f"--as-of must be a date as YYYY-MM-DD, not {as_of!r}") from None

        if celery_app.conf.task_always_eager:
            # follow-ups the trainings ask for (re-scoring stored reviews after sentiment, again after topics)
            # start once, after the last training, not in the background while the next one trains
            with jobs_follow_ups_deferred():
                jobs = [self._run_here(kind, parameters) for kind in kinds]
        else:
            jobs = [job_start(kind=f"train:{k}", parameters=parameters, requested_via="command") for k in kinds]
            for job in jobs:
                self.stdout.write(f"queued {job.kind} as job {job.pk} on queue {job.queue}")
            if not wait:
                return
            jobs = self._follow(jobs)
        self._summarise(jobs)

    def _run_here(self, kind: str, parameters: dict) -> JobRun:
        job = job_create(kind=f"train:{kind}", parameters=parameters, requested_via="command")
        self.stdout.write(f"== {job.kind} (job {job.pk})")
        return job_run(job_id=job.pk, echo=lambda line: self.stdout.write(f"[{kind}] {line}"))

    def _follow(self, jobs: list[JobRun]) -> list[JobRun]:
        seen: dict[int, tuple] = {}
        pending = {job.pk for job in jobs}
        while pending:
            for job in JobRun.objects.filter(pk__in=pending):
                state = (job.state, job.progress, job.progress_message)
                if seen.get(job.pk) != state:
                    seen[job.pk] = state
                    self.stdout.write(f"[{job.kind}] {job.state} {job.progress}% {job.progress_message}")
                if job.is_finished:
                    pending.discard(job.pk)
            time.sleep(1)
        return list(JobRun.objects.filter(pk__in=[job.pk for job in jobs]).order_by("pk"))

    def _summarise(self, jobs: list[JobRun]) -> None:
        failed = [job for job in jobs if job.state != JobRun.State.SUCCEEDED]
        for job in jobs:
            self.stdout.write(f"{job.kind}: {job.state} {job.result or job.error}")
        if failed:
            names = ", ".join(f"{job.kind} (job {job.pk}, {job.state})" for job in failed)
            raise CommandError(f"{len(failed)} of {len(jobs)} training job(s) did not succeed: {names}")
