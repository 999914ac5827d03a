"""allocate_orders: assign approved orders without a reservation to the nearest location with stock."""

from django.core.management.base import BaseCommand

from inventory.allocation import orders_allocate_pending


class Command(BaseCommand):
    help = "Allocate approved orders (nearest location with stock, reserved through the ledger), oldest first."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500)

    def handle(self, *args, **options):
        counts = orders_allocate_pending(limit=options["limit"])
        self.stdout.write(f"{counts['allocated']} orders allocated, {counts['failed']} could not be (see the log)")
