"""predict_delivery --as-of YYYY-MM-DD [--export FILE.csv]: train as of a date, predict the orders after it."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from logistics.services import delivery_model_label, delivery_predict_as_of, delivery_predictions_export


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--as-of: {value!r} is not a date in the form YYYY-MM-DD")


class Command(BaseCommand):
    help = (
        "Train the delivery model on orders delivered before --as-of (nothing known on/after it is used) and "
        "predict ETA, promise date and late risk of every order purchased on or after it and not yet delivered."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", required=True, help="YYYY-MM-DD")
        parser.add_argument(
            "--export",
            help="write order_id, purchased_at, eta_date, promise_date, late_risk, model_version to this CSV file",
        )
        parser.add_argument(
            "--target-late-share",
            type=float,
            default=None,
            help=(
                "accepted share of late deliveries (default: the store's delivery settings in the admin, "
                "else LOGISTICS_TARGET_LATE_SHARE, else 0.04)"
            ),
        )

    def handle(self, *args, **options):
        as_of = _date(options["as_of"])
        try:
            run = delivery_predict_as_of(as_of=as_of, target_late_share=options["target_late_share"])
        except ValueError as exc:
            raise CommandError(str(exc))
        self.stdout.write(
            f"{delivery_model_label(run.version)} trained as of {as_of}; {len(run.predictions)} orders predicted"
        )
        if options["export"]:
            with open(options["export"], "w", newline="", encoding="utf-8") as stream:
                rows = delivery_predictions_export(predictions=run.predictions, stream=stream)
            self.stdout.write(f"exported {rows} rows to {options['export']}")
