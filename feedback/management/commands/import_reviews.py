"""import_reviews FILE --language LANG --text-column C --label-column C: labelled reviews from another channel."""

from django.core.management.base import BaseCommand, CommandError

from feedback.services_import import ENCODINGS, QUOTINGS, LabelStyle, reviews_import_csv


class Command(BaseCommand):
    help = (
        "Import labelled reviews (CSV/TSV, not tied to orders) as training data. Labels: 0/1, "
        "negative/neutral/positive, 1-5 stars, or signed scores such as -4..4 (detected, or --label-style). "
        "Idempotent per (channel, id). "
        "Rows that cannot be used (empty text, unreadable label, bytes that are not UTF-8, wrong number of fields) "
        "are listed with their line, column and reason; the other rows are imported. A file without a header "
        "line (UCI sentence files): --no-header and columns by position, e.g. --text-column 1 --label-column 2."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--language", required=True, help="pt, en, zh, ...; 'auto' to detect per row")
        parser.add_argument("--text-column", required=True)
        parser.add_argument("--label-column", required=True)
        parser.add_argument("--title-column", default="")
        parser.add_argument("--id-column", default="", help="natural key; default: hash of the text")
        parser.add_argument("--date-column", default="")
        parser.add_argument("--channel", default="", help="default: the file name without extension")
        parser.add_argument(
            "--label-style",
            default=LabelStyle.AUTO,
            choices=[LabelStyle.AUTO, LabelStyle.BINARY, LabelStyle.STARS, LabelStyle.TEXT, LabelStyle.SIGNED],
            help="signed: a score around 0 (e.g. -4..4), below 0 negative, 0 neutral, above 0 positive",
        )
        parser.add_argument("--delimiter", default="", help="default: tab when the header has tabs, else comma")
        parser.add_argument("--encoding", default="utf-8", choices=ENCODINGS, help="latin-1 reads any byte")
        parser.add_argument(
            "--quoting",
            default="auto",
            choices=QUOTINGS,
            help="csv: double quotes enclose a field; none: quotes are text; auto (default): none for tab-separated",
        )
        parser.add_argument(
            "--no-header", action="store_true", help="the file has no header line: columns are positions (1, 2, ...)"
        )
        parser.add_argument("--show", type=int, default=50, help="rejected rows to print (all go to --rejected-file)")
        parser.add_argument("--rejected-file", default="", help="write every rejected row to this CSV")

    def handle(self, *args, **options):
        try:
            report = reviews_import_csv(
                source=options["file"],
                language="" if options["language"] == "auto" else options["language"],
                text_column=options["text_column"],
                label_column=options["label_column"],
                title_column=options["title_column"],
                id_column=options["id_column"],
                date_column=options["date_column"],
                channel=options["channel"],
                label_style=options["label_style"],
                delimiter=options["delimiter"].replace("\\t", "\t"),
                encoding=options["encoding"],
                header=not options["no_header"],
                quoting=options["quoting"],
            )
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(report.summary())
        for line, column, reason in report.rejected[: options["show"]]:
            self.stdout.write(f"  rejected line {line} [{column}]: {reason}")
        if len(report.rejected) > options["show"]:
            self.stdout.write(f"  ... and {len(report.rejected) - options['show']} more")
        if options["rejected_file"]:
            import csv

            with open(options["rejected_file"], "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["line", "column", "reason"])
                writer.writerows(report.rejected)
