"""Realistic check on Dominick's orange juice (skipped where ../shared/data is absent)."""

import sys
from pathlib import Path

import numpy as np
import pytest

from pricing.ml.response import PriceResponseModel, PriceResponseParams
from tests.conftest import shared_data

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


@pytest.mark.realdata
def test_out_of_sample_beats_per_series_baseline_and_every_brand_is_elastic():
    from pricing_dominicks import baseline_predict, load

    frame, _ = load(shared_data("dominicks_oj"))
    frame = frame[
        frame["location"].isin([f"DOM-{s}" for s in sorted(frame["location"].str[4:].astype(int).unique())[:25]])
    ]
    weeks = np.sort(frame["week"].unique())
    cutoff = weeks[-20]
    train = frame[frame["week"] < cutoff].reset_index(drop=True)
    test = frame[frame["week"] >= cutoff].reset_index(drop=True)
    model = PriceResponseModel(PriceResponseParams(fourier_order=0)).fit(train)
    actual = test["log_units"].to_numpy()

    def r2(pred):
        return 1 - ((actual - pred) ** 2).sum() / ((actual - actual.mean()) ** 2).sum()

    ours = r2(model.predict(test.drop(columns=["units"])))
    baseline = r2(baseline_predict(train, test))
    assert ours > baseline
    assert ours >= 0.72
    brands = [r for r in model.elasticities() if r.location is None]
    assert len(brands) == 11
    assert all(r.high < 0 for r in brands)
