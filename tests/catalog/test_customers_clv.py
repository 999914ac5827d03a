"""BG/NBD and Gamma-Gamma against hand-computed values and the published CDNOW fit."""

import math

import numpy as np
import pandas as pd
import pytest

from catalog.ml.clv import (
    BetaGeoModel,
    BGNBDParams,
    GammaGammaModel,
    GammaGammaParams,
    bgnbd_log_likelihood_terms,
    churn_band,
    rfm_summary,
)
from tests.conftest import shared_data


def test_log_likelihood_matches_hand_computed_value_for_two_customers():
    # r = alpha = a = b = 1.
    # x=0, T=1:            L = B(1,1)/B(1,1) * 1 / (1+1)^1                       = 1/2
    # x=1, t_x=1, T=2:     L = B(1,2)/B(1,1) / (1+2)^2 + B(2,1)/B(1,1) / (1+1)^2 = 1/18 + 1/8 = 13/72
    terms = bgnbd_log_likelihood_terms(1.0, 1.0, 1.0, 1.0, [0, 1], [0, 1], [1, 2])

    assert terms[0] == pytest.approx(math.log(1 / 2), abs=1e-12)
    assert terms[1] == pytest.approx(math.log(13 / 72), abs=1e-12)
    model = BetaGeoModel.from_params(BGNBDParams(1.0, 1.0, 1.0, 1.0))
    assert model.log_likelihood([0, 1], [0, 1], [1, 2]) == pytest.approx(math.log(1 / 2) + math.log(13 / 72), abs=1e-12)


def test_probability_alive_is_one_without_repeats_and_hand_computed_with_one():
    model = BetaGeoModel.from_params(BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426))
    assert model.probability_alive([0, 0], [0, 0], [5.0, 38.0]).tolist() == [1.0, 1.0]

    # r = alpha = a = b = 1, x=1, t_x=1, T=2: 1 / (1 + 1/1 * (3/2)^2) = 4/13
    unit = BetaGeoModel.from_params(BGNBDParams(1.0, 1.0, 1.0, 1.0))
    assert unit.probability_alive([1], [1], [2])[0] == pytest.approx(4 / 13, abs=1e-12)


def test_invalid_summary_is_refused_with_the_reason():
    model = BetaGeoModel.from_params(BGNBDParams(1.0, 1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="recency <= T"):
        model.probability_alive([1], [3], [2])


def test_gamma_gamma_expected_spend_formula():
    spend = GammaGammaModel()
    spend.params_ = GammaGammaParams(p=2.0, q=3.0, v=4.0)
    spend.mean_spend_ = 0.0
    # x>0: p (v + x m) / (p x + q - 1) = 2 (4 + 20) / (4 + 3 - 1) = 8;  x=0: p v / (q - 1) = 4
    assert spend.conditional_expected_average_spend([2, 0], [10.0, 0.0]).tolist() == [8.0, 4.0]


def test_rfm_summary_counts_days_not_transactions():
    tx = pd.DataFrame(
        {
            "customer": [1, 1, 1, 1, 2],
            "date": ["1997-01-01", "1997-01-01", "1997-01-15", "1997-02-01", "1997-01-08"],
            "amount": [10.0, 5.0, 20.0, 99.0, 7.0],
        }
    )
    summary = rfm_summary(tx, calibration_end=pd.Timestamp("1997-01-29"), observation_end=pd.Timestamp("1997-03-01"))

    assert summary.loc[1, "frequency"] == 1
    assert summary.loc[1, "recency"] == 2.0
    assert summary.loc[1, "T"] == 4.0
    assert summary.loc[1, "monetary_value"] == 20.0
    assert summary.loc[1, "frequency_holdout"] == 1
    assert summary.loc[2, "frequency"] == 0
    assert summary.loc[2, "T"] == 3.0


def test_churn_bands():
    assert [churn_band(p) for p in (0.1, 0.29, 0.3, 0.69, 0.7, 1.0)] == [
        "high",
        "high",
        "medium",
        "medium",
        "low",
        "low",
    ]


@pytest.mark.realdata
def test_fit_on_cdnow_sample_reproduces_published_parameters():
    path = shared_data("cdnow", "CDNOW_sample.txt")
    df = pd.read_csv(
        path, sep=r"\s+", header=None, names=["customer", "id2", "date", "cds", "amount"], dtype={"date": str}
    )
    df["date"] = pd.to_datetime(df["date"], format="%Y%m%d")
    summary = rfm_summary(df, calibration_end=pd.Timestamp("1997-09-30"))

    model = BetaGeoModel().fit(summary["frequency"], summary["recency"], summary["T"])

    fitted = np.array([model.params_.r, model.params_.alpha, model.params_.a, model.params_.b])
    published = np.array([0.243, 4.414, 0.793, 2.426])
    assert np.all(np.abs(fitted / published - 1) < 0.01)
    assert model.log_likelihood_ == pytest.approx(-9582.4, abs=0.1)
    spend = GammaGammaModel().fit(summary["frequency"], summary["monetary_value"])
    assert (round(spend.params_.p, 2), round(spend.params_.q, 2), round(spend.params_.v, 1)) == (6.25, 3.74, 15.4)


def test_expected_cumulative_repeats_counts_days_from_each_first_purchase():
    from catalog.ml.clv import expected_cumulative_repeats

    model = BetaGeoModel.from_params(BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426))
    first = ["1997-01-01", "1997-01-08", "1997-03-25"]
    # by 1997-01-14: 13 and 6 days after the first two births; the third customer is not born yet
    got = expected_cumulative_repeats(model, first, ["1997-01-14", "1997-01-01", "1997-09-30"])
    assert got[0] == pytest.approx(float(model.expected_purchases([13 / 7, 6 / 7]).sum()), rel=1e-12)
    assert got[1] == 0.0  # a customer's first day carries no repeat purchase
    # at the calibration end each customer's elapsed time is his T from rfm_summary
    tx = pd.DataFrame({"customer": [1, 2, 3], "date": first, "amount": [1.0, 1.0, 1.0]})
    summary = rfm_summary(tx, calibration_end=pd.Timestamp("1997-09-30"))
    assert got[2] == pytest.approx(float(model.expected_purchases(summary["T"]).sum()), rel=1e-12)
