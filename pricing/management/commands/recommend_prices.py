"""``manage.py recommend_prices --as-of YYYY-MM-DD [--export FILE.csv]``: recommend prices from data before a date."""

import csv
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from pricing.services import PricingError, price_recommendations_create, price_response_version_for

EXPORT_COLUMNS = [
    "sku",
    "location",
    "current_price",
    "recommended_price",
    "elasticity",
    "elasticity_low",
    "elasticity_high",
    "expected_units",
    "expected_profit",
    "binding_rule",
    "model_version",
]


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--as-of {value!r} is not a date in the form YYYY-MM-DD") from None


class Command(BaseCommand):
    help = (
        "Recommend a price for every product and location using only data before --as-of: trains the "
        "price-response model as of that date when none exists, writes proposed recommendations, optionally exports CSV."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", required=True, type=_date, help="Only data before this day is used.")
        parser.add_argument("--export", type=Path, help="Write the recommendations to this CSV file.")
        parser.add_argument("--effective-from", type=_date, help="Date the prices take effect (default: --as-of).")
        parser.add_argument("--sku", action="append", help="Only these SKUs (repeatable).")
        parser.add_argument(
            "--no-select", action="store_true", help="Skip the hyper-parameter selection on the inner holdout (faster)."
        )

    def handle(self, *args, as_of: date, export: Path | None, effective_from, sku, no_select: bool, **options):
        try:
            version = price_response_version_for(as_of=as_of, select=not no_select)
            run = price_recommendations_create(as_of=as_of, version=version, effective_from=effective_from, skus=sku)
        except PricingError as error:
            raise CommandError(str(error)) from error
        label = f"{version.registered_model.name}:v{version.version}"
        self.stdout.write(f"{label}: {len(run.created)} recommendations, {len(run.skipped)} skipped")
        for sku_, location, reason in run.skipped[:20]:
            self.stdout.write(f"  skipped {sku_} @ {location}: {reason}")
        if export is not None:
            with export.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(EXPORT_COLUMNS)
                for rec in run.created:
                    writer.writerow(
                        [
                            rec.product.sku,
                            rec.location.code if rec.location else "",
                            f"{rec.current_price:.4f}",
                            f"{rec.recommended_price:.4f}",
                            f"{rec.elasticity:.4f}",
                            f"{rec.elasticity_low:.4f}",
                            f"{rec.elasticity_high:.4f}",
                            f"{rec.expected_units:.3f}",
                            f"{rec.expected_profit:.4f}",
                            rec.binding_rule,
                            label,
                        ]
                    )
            self.stdout.write(f"exported {len(run.created)} rows to {export}")
