"""score_order_risk: anomaly score (with reasons) for every new order not scored yet."""

from django.core.management.base import BaseCommand

from logistics.services import order_risks_score_new


class Command(BaseCommand):
    help = "Score new (created / approved) orders for anomalies; the admin lists them for review."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=5000)

    def handle(self, *args, **options):
        count = order_risks_score_new(limit=options["limit"])
        self.stdout.write(f"{count} orders scored")
