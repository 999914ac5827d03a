"""``manage.py run_job KIND [--param key=value ...]`` or ``run_job --id N``: run one job here, printing its progress."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from ecomops.jobs import job_create, job_handlers, job_run
from ecomops.models import JobRun


class Command(BaseCommand):
    help = "Run one job in this process (any registered kind), or an existing queued job by id."

    def add_arguments(self, parser):
        parser.add_argument("kind", nargs="?", help="e.g. train:demand; omit with --id")
        parser.add_argument("--id", type=int, dest="job_id", help="run this existing JobRun")
        parser.add_argument(
            "--param", action="append", default=[], metavar="KEY=VALUE", help="a parameter (JSON value or text)"
        )

    def handle(self, *args, kind=None, job_id=None, param=(), **options):
        if (kind is None) == (job_id is None):
            raise CommandError("give a job kind or --id, not both")
        if job_id is not None:
            if not JobRun.objects.filter(pk=job_id).exists():
                raise CommandError(f"no job {job_id}")
        else:
            if kind not in job_handlers():
                raise CommandError(f"unknown job kind {kind!r}; known: {', '.join(job_handlers()) or 'none'}")
            parameters = {}
            for item in param:
                key, sep, value = item.partition("=")
                if not sep or not key:
                    raise CommandError(f"--param must look like key=value, not {item!r}")
                try:
                    parameters[key] = json.loads(value)
                except json.JSONDecodeError:
                    parameters[key] = value
            try:
                job_id = job_create(kind=kind, parameters=parameters, requested_via="command").pk
            except ValueError as exc:
                raise CommandError(str(exc)) from None
        job = job_run(job_id=job_id, echo=lambda line: self.stdout.write(line))
        self.stdout.write(f"job {job.pk} {job.kind}: {job.state}")
        if job.state != JobRun.State.SUCCEEDED:
            raise CommandError(job.error or f"job {job.pk} is {job.state}")
