"""analyze_text --input FILE.csv --export FILE.csv: language, sentiment and topics of free texts."""

import csv

from django.core.management.base import BaseCommand, CommandError

from feedback.services import NoActiveModel, sentiment_train_if_missing, texts_analyze
from feedback.services_import import ENCODINGS, text_table_read

EXPORT_COLUMNS = ["id", "language", "sentiment", "probability", "topics", "model_version"]


def positive_integer(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Score texts (input columns id,text; other columns are ignored) with the active models; export "
        "id,language,sentiment,probability,topics,model_version, one row per readable input row, in input order. "
        "language: detected per text, short texts leaning to the languages the active model was trained on (und "
        "for text without letters; a language the model has no part for goes to its part pooled over all languages); "
        "sentiment: negative, neutral or positive (a language trained only on negative/positive labels answers one of "
        "those two), probability: of that answer. Rows that cannot be read (no id, wrong number of fields, bytes "
        "that are not UTF-8) are left out and listed on stderr with their line, column and reason; an empty text is "
        "exported as language 'und', sentiment neutral. When no sentiment model has been trained yet, one is "
        "trained first on the labelled reviews in the database (the linear model only, which takes minutes on tens "
        "of thousands of reviews; 'train_models --only sentiment' also trains the torch network and their "
        "ensemble); with --no-train, or without labelled reviews, the command fails and names what to run."
    )

    def add_arguments(self, parser):
        parser.add_argument("--input", required=True)
        parser.add_argument("--export", required=True)
        parser.add_argument("--batch-size", type=positive_integer, default=2000, help="texts scored at a time")
        parser.add_argument("--encoding", default="utf-8", choices=ENCODINGS, help="latin-1 reads any byte")
        parser.add_argument(
            "--no-train",
            action="store_true",
            help="fail instead of training a sentiment model when none is active",
        )
        parser.add_argument("--show", type=int, default=20, help="rejected rows to print")

    def handle(self, *args, **options):
        try:
            table = text_table_read(source=options["input"], encoding=options["encoding"])
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read {options['input']}: {exc}") from None
        missing = {"id", "text"} - set(table.columns)
        if missing:
            raise CommandError(f"{options['input']}: missing column(s) {sorted(missing)}; need id,text")
        rejected = list(table.rejected)
        rows: list[tuple[str, str]] = []
        first_line: dict[str, int] = {}
        repeated = 0
        for line, row in table.rows:
            row_id = row["id"]  # exported exactly as given
            if not row_id.strip():
                rejected.append((line, "id", "id is empty"))
                continue
            repeated += row_id in first_line
            first_line.setdefault(row_id, line)
            rows.append((row_id, row["text"]))
        if not options["no_train"]:
            try:
                trained = sentiment_train_if_missing(notify=self.stderr.write)
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            if trained is not None:
                self.stderr.write(
                    f"trained {trained.algorithm} v{trained.version} on {trained.metrics.get('deployed_rows')} "
                    f"reviews (macro-F1 {trained.metrics.get('macro_f1')} on its held-out part)"
                )
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
        except OSError as exc:
            raise CommandError(f"cannot write {options['export']}: {exc}") from None
        rejected.sort(key=lambda item: item[0])
        for line, column, reason in rejected[: options["show"]]:
            self.stderr.write(f"  rejected line {line} [{column}]: {reason}")
        if len(rejected) > options["show"]:
            self.stderr.write(f"  ... and {len(rejected) - options['show']} more")
        if repeated:
            self.stderr.write(f"  {repeated} row(s) repeat an earlier id; each is exported as it was given")
        summary = f"{len(rows)} texts analysed → {options['export']}"
        self.stdout.write(summary + (f" ({len(rejected)} rows rejected)" if rejected else ""))
