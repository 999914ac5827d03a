"""``manage.py setup_demo``: demo data (real when ../shared/data exists, else synthetic), operator, training."""

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ingest.demo import DemoSpec
from ingest.services import DEMO_BUDGET_SECONDS, demo_setup


class Command(BaseCommand):
    help = (
        "Load the demo data (imports ../shared/data when present, else a seeded synthetic store), create the demo "
        "operator login and train the models. Idempotent: re-running changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--data-dir", type=Path, help="Folder with olist/ and dominicks_oj/ (default ../shared/data)"
        )
        parser.add_argument("--synthetic", action="store_true", help="Use the synthetic store even if real data exists")
        parser.add_argument("--seed", type=int, default=DemoSpec.seed, help="Seed of the synthetic store")
        parser.add_argument("--end", type=date.fromisoformat, help="Last order day of the synthetic store (YYYY-MM-DD)")
        parser.add_argument("--days", type=int, default=DemoSpec.days, help="Days of synthetic orders")
        parser.add_argument("--no-train", action="store_true", help="Do not run train_models")
        parser.add_argument(
            "--allow-without-debug",
            action="store_true",
            help="Run even with DEBUG off (the demo login has a published password)",
        )
        parser.add_argument(
            "--train-budget",
            type=float,
            default=DEMO_BUDGET_SECONDS,
            help="Seconds (from the start of setup_demo) to wait for train_models; after that it trains on in "
            "the background",
        )

    def handle(
        self,
        *args,
        data_dir=None,
        synthetic=False,
        seed=None,
        end=None,
        days=None,
        no_train=False,
        train_budget=None,
        allow_without_debug=False,
        **options,
    ):
        from django.conf import settings

        if not settings.DEBUG and not allow_without_debug:
            raise CommandError(
                "setup_demo creates a login whose password is published in the README; it refuses to run with "
                "DEBUG off (a production settings file). Pass --allow-without-debug for a demo server."
            )
        spec = None
        if end is not None or seed != DemoSpec.seed or days != DemoSpec.days:
            if days < 28:
                raise CommandError("--days must be at least 28")
            from django.utils import timezone

            spec = DemoSpec(seed=seed, end=end or timezone.localdate(), days=days)
        outcome = demo_setup(
            data_dir=data_dir,
            synthetic=synthetic,
            spec=spec,
            train=not no_train,
            train_budget_seconds=train_budget,
            write=self.stdout.write,
        )
        failed = [error for report in outcome.reports for error in report.errors]
        if failed:
            raise CommandError("demo data incomplete: " + "; ".join(failed))
        self.stdout.write(self.style.SUCCESS(f"Demo ready: {outcome.mode}."))
