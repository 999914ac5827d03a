"""Language detection on the shared labelled review sets: share detected as the set's language, share left
undetermined, texts per CPU-second.

Every text of a set is in one language (Olist reviews Portuguese; ChnSentiCorp and waimai Chinese; UCI sentences
and Amazon snippets English), so accuracy is the share detected as that language. Rows:

- ``profile`` (the detector before py3langid, kept here as the baseline): function words and distinct letters;
- ``ecomops``: ``feedback.ml.language.detect_language`` without a prior (a fresh store);
- ``ecomops + store prior``: with the language mix of the store's training rows as prior (pt for the Olist sets,
  zh, en likewise), as ``analyze_text`` and the analyze API do with the active model's mix;
- ``ecomops + wrong prior``: with another language's mix (en for Portuguese sets, pt otherwise): what a store
  whose texts suddenly arrive in another language gets.

    python benchmarks/language.py [--limit 4000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sentiment import load_sets  # noqa: E402

from feedback.ml.language import _DISTINCT_LETTERS, _FUNCTION_WORDS, _WORD, UNDETERMINED, detect_language  # noqa: E402


def profile_only(text: str) -> str:
    """The earlier detector for Latin text: one point per function word, 1.5 per distinct letter, ties undetermined."""
    guess = detect_language(text)
    if guess.language not in _FUNCTION_WORDS:
        return guess.language  # decided by script (or no letters): the same in both detectors
    folded = text.lower()
    words = _WORD.findall(folded)
    scores = {lang: float(sum(w in vocabulary for w in words)) for lang, vocabulary in _FUNCTION_WORDS.items()}
    for lang, letters in _DISTINCT_LETTERS.items():
        scores[lang] += 1.5 * sum(folded.count(letter) for letter in letters)
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    return ranked[0][0] if ranked[0][1] > 0 else UNDETERMINED


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=4000, help="texts per set (the first N)")
    args = parser.parse_args()
    detect_language("warm up the n-gram model")
    sets = []
    for language, (train, held_out) in load_sets().items():
        sets.append((f"{language} training part", language, list(train.text)[: args.limit]))
        sets += [(name, language, list(frame.text)[: args.limit]) for name, frame in held_out.items()]
    rows = []
    for name, language, texts in sets:
        wrong = "en" if language == "pt" else "pt"
        methods = {
            "profile": profile_only,
            "ecomops": lambda t: detect_language(t).language,
            "ecomops + store prior": lambda t, lang=language: detect_language(t, prior={lang: 1.0}).language,
            "ecomops + wrong prior": lambda t, lang=wrong: detect_language(t, prior={lang: 1.0}).language,
        }
        for method, detect in methods.items():
            started = time.process_time()
            found = [detect(t) for t in texts]
            seconds = time.process_time() - started
            rows.append(
                {
                    "set": name,
                    "texts": len(texts),
                    "method": method,
                    "accuracy": float(np.mean([f == language for f in found])),
                    "undetermined": float(np.mean([f == UNDETERMINED for f in found])),
                    # the baseline runs the new detector for its script decisions: its speed says nothing
                    "texts_per_cpu_s": np.nan if method == "profile" else len(texts) / max(seconds, 1e-9),
                }
            )
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 160)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}" if v < 10 else f"{v:,.0f}"))


if __name__ == "__main__":
    main()
