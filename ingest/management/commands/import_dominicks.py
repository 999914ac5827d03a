"""``manage.py import_dominicks DIR``: import the Dominick's orange juice folder and print the report."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ingest.dominicks import dominicks_import
from ingest.reader import ENCODINGS


class Command(BaseCommand):
    help = "Import Dominick's orange juice data (brands, stores, store-brand-weeks); idempotent. Prints rows read/created/updated/rejected."

    def add_arguments(self, parser):
        parser.add_argument(
            "directory", type=Path, help="Folder with brands.csv, stores.csv and oj_store_brand_week.csv.gz"
        )
        parser.add_argument(
            "--encoding",
            choices=ENCODINGS,
            default="auto",
            help="auto: UTF-8, falling back to latin-1 with a note in the report; utf-8: refuse other bytes",
        )
        parser.add_argument(
            "--max-rejected",
            type=int,
            default=200,
            help="Rejected rows, and rows kept without a bad optional value, to list (0: all)",
        )

    def handle(self, *args, directory: Path, encoding: str, max_rejected: int, **options):
        report = dominicks_import(directory=directory, encoding=encoding)
        self.stdout.write(report.as_text(max_rejected=max_rejected or None))
        if not report.ok:
            raise CommandError(f"{len(report.errors)} file(s) could not be imported: " + "; ".join(report.errors))
