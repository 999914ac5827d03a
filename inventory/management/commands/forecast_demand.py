"""``manage.py forecast_demand --as-of YYYY-MM-DD --horizon N [--export FILE.csv]``.

Trains the demand model on sales strictly before the as-of date (the prices and promotions in force over the
horizon, PriceHistory and Promotion rows, are used as the plan; nothing sold on or after as-of influences anything),
forecasts N periods from as-of (days for order-line series; for point-of-sale series the N weeks of the data's
weekly grid that start on or after as-of), writes the forecast rows, and optionally exports
``sku, location, period_start, p10, p50, p90, model_version`` (model_version = the version number).
Runs in this process as a ``train:demand`` JobRun, so it shows in the admin like any other job.
"""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from ecomops.jobs import job_create, job_run
from ecomops.models import JobRun, ModelVersion


class Command(BaseCommand):
    help = "Train the demand model on data before --as-of, forecast --horizon periods, write rows, export CSV."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", required=True, metavar="YYYY-MM-DD", help="train on sales strictly before")
        parser.add_argument("--horizon", required=True, type=int, metavar="N", help="periods to forecast")
        parser.add_argument("--export", metavar="FILE.csv", help="write the forecast rows to this CSV file")

    def handle(self, *args, as_of: str, horizon: int, export: str | None = None, **options):
        try:
            as_of_date = date.fromisoformat(as_of)
        except ValueError:
            raise CommandError(f"--as-of must be a date as YYYY-MM-DD, not {as_of!r}") from None
        if not 1 <= horizon <= 366:
            raise CommandError(f"--horizon must be between 1 and 366 periods, not {horizon}")
        job = job_create(
            kind="train:demand",
            parameters={"as_of": as_of_date.isoformat(), "horizon": horizon},
            requested_via="command",
        )
        job = job_run(job_id=job.pk, echo=lambda line: self.stdout.write(line))
        if job.state != JobRun.State.SUCCEEDED:
            raise CommandError(f"forecast failed: {job.error or job.state}")
        result = job.result
        version = ModelVersion.objects.get(registered_model__name="demand", version=result["version"])
        self.stdout.write(
            self.style.SUCCESS(
                f"demand v{version.version}: {result['rows']} rows for {result['series']} series, "
                f"backtest MASE {result['metrics'].get('mase')}, "
                f"{'promoted to active' if result['promoted'] else 'kept as candidate'}"
            )
        )
        if export:
            from inventory.forecasting import forecast_export_csv

            try:
                with open(export, "w", newline="", encoding="utf-8") as handle:
                    count = forecast_export_csv(version=version, handle=handle)
            except OSError as exc:
                raise CommandError(f"--export: cannot write {export}: {exc}") from None
            self.stdout.write(f"exported {count} rows to {export}")
