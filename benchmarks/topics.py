"""Complaint-topic benchmark on olist_classified: macro-F1 per topic, keywords only vs the learned model.

    .venv/bin/python benchmarks/topics.py [--folds 5]

Labels: a topic is present when at least 2 annotators voted for it (see feedback.ml.topics.OLIST_VOTE_COLUMNS).
Out-of-fold predictions of a K-fold split (seed 0); the keyword baseline uses the built-in seed keywords only.
"wrong_item" and "seller_communication" have no labelled data and are not scored.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "olist_classified" / "olist_classified_public_dataset.csv"

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import f1_score, precision_score, recall_score  # noqa: E402
from sklearn.model_selection import KFold  # noqa: E402

from feedback.ml.sentiment import compose_text  # noqa: E402
from feedback.ml.topics import TopicModel, default_keyword_rules, keyword_topics, olist_topic_labels  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"real data not available: {DATA} is absent")
    frame = pd.read_csv(DATA)
    texts = [compose_text(t, m) for t, m in zip(frame.review_comment_title, frame.review_comment_message, strict=True)]
    labels = olist_topic_labels(frame)
    scored = [t for t in labels.columns if not labels[t].isna().all()]
    rules = default_keyword_rules()
    keyword = pd.DataFrame(0, index=frame.index, columns=scored)
    for row, text in enumerate(texts):
        for topic in keyword_topics(text, "pt", rules):
            if topic in scored:
                keyword.iat[row, scored.index(topic)] = 1
    learned = pd.DataFrame(0, index=frame.index, columns=scored)
    start = time.perf_counter()
    for train, test in KFold(args.folds, shuffle=True, random_state=0).split(texts):
        model = TopicModel().fit([texts[i] for i in train], labels.iloc[train], rules)
        prediction = model.predict([texts[i] for i in test], ["pt"] * len(test), rules)
        for row, topics in zip(test, prediction.topics, strict=True):
            for topic in topics:
                if topic in scored:
                    learned.iat[row, scored.index(topic)] = 1
    seconds = time.perf_counter() - start
    rows = []
    for topic in scored:
        y = labels[topic].astype(int)
        row = {"topic": topic, "positives": int(y.sum())}
        for name, predicted in (("keywords", keyword[topic]), ("learned", learned[topic])):
            row[f"{name}_P"] = round(precision_score(y, predicted, zero_division=0), 3)
            row[f"{name}_R"] = round(recall_score(y, predicted, zero_division=0), 3)
            row[f"{name}_F1"] = round(f1_score(y, predicted, zero_division=0), 3)
        rows.append(row)
    table = pd.DataFrame(rows)
    print(f"olist_classified: {len(frame)} reviews, {args.folds}-fold out-of-fold predictions ({seconds:.0f}s)")
    print(table.to_string(index=False))
    print(
        f"macro-F1 keywords {np.mean(table.keywords_F1):.3f}  learned {np.mean(table.learned_F1):.3f}  "
        f"(unscored, keyword-only topics: wrong_item, seller_communication)"
    )


if __name__ == "__main__":
    main()
