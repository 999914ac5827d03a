"""analyze_text --input FILE.csv --export FILE.csv: language, sentiment and topics of free texts."""

import csv

from django.core.management.base import BaseCommand, CommandError

from feedback.services import NoActiveModel, texts_analyze

EXPORT_COLUMNS = ["id", "language", "sentiment", "probability", "topics", "model_version"]


class Command(BaseCommand):
    help = "Score texts (input columns id,text) with the active models; export id,language,sentiment,probability,topics,model_version."

    def add_arguments(self, parser):
        parser.add_argument("--input", required=True)
        parser.add_argument("--export", required=True)
        parser.add_argument("--batch-size", type=int, default=2000)

    def handle(self, *args, **options):
        try:
            with open(options["input"], newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                missing = {"id", "text"} - set(reader.fieldnames or [])
                if missing:
                    raise CommandError(f"{options['input']}: missing column(s) {sorted(missing)}; need id,text")
                rows = [(row["id"], row["text"] or "") for row in reader]
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {options['input']}: {exc}") from None
        try:
            with open(options["export"], "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(EXPORT_COLUMNS)
                for start in range(0, len(rows), options["batch_size"]):
                    chunk = rows[start : start + options["batch_size"]]
                    for (row_id, _), result in zip(chunk, texts_analyze(texts=[t for _, t in chunk]), strict=True):
                        writer.writerow(
                            [
                                row_id,
                                result.language,
                                result.sentiment,
                                f"{result.probability:.4f}",
                                "|".join(result.topics),
                                result.model_version,
                            ]
                        )
        except NoActiveModel as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{len(rows)} texts analysed → {options['export']}")
