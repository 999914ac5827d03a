"""Sentiment through the stable commands, end to end, on the held-out sets of ``benchmarks/sentiment.py``.

    .venv/bin/python benchmarks/sentiment_commands.py [--workdir DIR] [--reuse] [--throughput N] [--compare]

A fresh SQLite database in ``--workdir`` (never the project's): ``migrate``; ``import_olist`` of ../shared/data/olist;
``import_reviews`` of the training parts of the Chinese and English sets (the same rows ``sentiment.py`` trains on,
written to CSV in the work folder); ``train_models --only sentiment topics --as-of <first held-out Olist day>``; then
``analyze_text`` on each held-out set (input ``id,text`` only: the language is detected) and the exported
``sentiment`` scored against the 0/1 labels. A ``neutral`` answer counts as wrong (graders score binary labels);
its share is shown. ``--reuse`` keeps a trained database from an earlier run. ``--throughput N`` times
``analyze_text`` on N texts (the held-out sets repeated) and reports texts/s and its peak memory. ``--compare``
also fits the linear model of ``sentiment.py`` on that script's training rows (the language given, not detected)
and scores it on the same held-out rows, in this run.

Differences from ``sentiment.py`` that remain by design: Portuguese trains on the Olist reviews only (the command
path has no olist_classified import), 3-star reviews train a neutral class, and the language comes from detection.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"

import pandas as pd  # noqa: E402
from sklearn.metrics import accuracy_score, f1_score  # noqa: E402

from benchmarks.sentiment import load_sets  # noqa: E402
from feedback.ml.sentiment import POSITIVE, LinearSentimentModel  # noqa: E402


def manage(workdir: Path, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout + result.stderr


def prepare(workdir: Path, sets: dict) -> tuple[dict[str, pd.DataFrame], str]:
    """Write the training parts (zh, en) and every held-out set as CSV; returns the held-out sets and the cut-off."""
    held_out = {}
    for language, (train, tests) in sets.items():
        if language != "pt":
            frame = pd.DataFrame(
                {
                    "id": [f"{language}-train-{i}" for i in range(len(train))],
                    "text": train.text.to_numpy(),
                    "label": (train.label == POSITIVE).astype(int).to_numpy(),
                }
            )
            frame.to_csv(workdir / f"train_{language}.csv", index=False)
        for name, test in tests.items():
            held_out[name] = pd.DataFrame(
                {
                    "id": [f"{language}-{i}" for i in range(len(test))],
                    "text": test.text.to_numpy(),
                    "label": (test.label == POSITIVE).astype(int).to_numpy(),
                    "expected_language": language,
                }
            )
    first_day = str(sets["pt"][1]["olist (by date)"].review_creation_date.min())[:10]
    return held_out, first_day


def score(name: str, test: pd.DataFrame, export: pd.DataFrame) -> dict:
    merged = test.merge(export, on="id", how="left")
    truth = merged.label.map({1: "positive", 0: "negative"})
    predicted = merged.sentiment.fillna("missing")
    return {
        "held-out set": name,
        "rows": len(test),
        "accuracy": round(accuracy_score(truth, predicted), 4),
        "macro_f1": round(f1_score(truth, predicted, labels=["negative", "positive"], average="macro"), 4),
        "neutral": round(float((predicted == "neutral").mean()), 4),
        "language detected right": round(float((merged.language == merged.expected_language).mean()), 4),
    }


def benchmark_path_accuracy(sets: dict) -> dict[str, float]:
    """Accuracy of sentiment.py's linear model (P(positive) vs P(negative)) on each held-out set."""
    accuracy = {}
    for language, (train, tests) in sets.items():
        model = LinearSentimentModel().fit(train.text.tolist(), train.label.tolist(), [language] * len(train))
        for name, test in tests.items():
            predicted = model.predict_binary(test.text.tolist(), [language] * len(test))
            accuracy[name] = round(accuracy_score(test.label, predicted), 4)
    return accuracy


def peak_rss_mib(command: list[str], env: dict) -> tuple[float, float]:
    """(seconds, peak resident MiB) of one command, measured in a wrapper process that runs only it."""
    probe = (
        "import resource, subprocess, sys, time; start = time.perf_counter(); "
        "subprocess.run(sys.argv[1:], check=True); "
        "print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, *command], env=env, capture_output=True, text=True, check=True
    )
    seconds, peak = result.stdout.split()[-2:]
    return float(seconds), float(peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", default="/tmp/ecomops_sentiment_commands")
    parser.add_argument("--reuse", action="store_true", help="keep the database trained by an earlier run")
    parser.add_argument("--throughput", type=int, default=0, help="texts to time analyze_text on (0: skip)")
    parser.add_argument("--compare", action="store_true", help="also fit sentiment.py's linear model on its rows")
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"real data not available: {DATA} is absent")
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    sets = load_sets()
    held_out, first_day = prepare(workdir, sets)
    if not (args.reuse and (workdir / "db.sqlite3").exists()):
        (workdir / "db.sqlite3").unlink(missing_ok=True)
        steps = [
            ("migrate", "-v0"),
            ("import_olist", str(DATA / "olist")),
            *[
                ("import_reviews", str(workdir / f"train_{lang}.csv"), "--language", lang, "--text-column", "text")
                + ("--label-column", "label", "--id-column", "id")
                for lang in ("zh", "en")
            ],
            ("train_models", "--only", "sentiment", "topics", "--as-of", first_day),
        ]
        for step in steps:
            start = time.perf_counter()
            output = manage(workdir, *step)
            last = (output.strip().splitlines() or [""])[-1][:200]
            print(f"{step[0]}: {time.perf_counter() - start:.0f} s; {last}", flush=True)
    rows = []
    for name, test in held_out.items():
        source, target = workdir / "in.csv", workdir / "out.csv"
        test[["id", "text"]].to_csv(source, index=False)
        manage(workdir, "analyze_text", "--input", str(source), "--export", str(target))
        export = pd.read_csv(target, dtype={"id": str}, keep_default_na=False)
        rows.append(score(name, test, export))
    print(f"model: {export.model_version.iloc[0]}")
    table = pd.DataFrame(rows)
    if args.compare:
        table["sentiment.py linear accuracy"] = table["held-out set"].map(benchmark_path_accuracy(sets))
    print(table.to_string(index=False))
    if args.throughput:
        texts = pd.concat(list(held_out.values()))
        texts = pd.concat([texts] * (args.throughput // len(texts) + 1)).iloc[: args.throughput]
        texts.assign(id=[f"t{i}" for i in range(len(texts))])[["id", "text"]].to_csv(workdir / "big.csv", index=False)
        command = [sys.executable, str(ROOT / "manage.py"), "analyze_text", "--input", str(workdir / "big.csv")]
        command += ["--export", str(workdir / "big_out.csv")]
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}", "OMP_NUM_THREADS": "1"}
        seconds, peak = peak_rss_mib(command, env)
        print(
            f"analyze_text on {len(texts):,} texts (start-up and model loading included): {seconds:.0f} s, "
            f"{len(texts) / seconds:.0f} texts/s, peak {peak:.0f} MiB"
        )


if __name__ == "__main__":
    main()
