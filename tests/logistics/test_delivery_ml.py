"""The delivery model's pure parts: distance, conformal threshold, late risk, leak-freedom."""

import math

import numpy as np
import pandas as pd
import pytest

from logistics.ml.delivery import ORDER_COLUMNS, DeliveryParams, DeliveryTimeModel, conformal_quantile, delivery_metrics
from logistics.ml.geo import EARTH_RADIUS_KM, haversine_km


def test_haversine_on_known_points():
    one_degree = 2 * math.pi * EARTH_RADIUS_KM / 360
    assert haversine_km(0, 0, 0, 1) == pytest.approx(one_degree, rel=1e-12)
    assert haversine_km(0, 0, 1, 0) == pytest.approx(one_degree, rel=1e-12)
    assert haversine_km(-23.55, -46.63, -23.55, -46.63) == 0.0
    assert haversine_km(0, 0, 0, 180) == pytest.approx(math.pi * EARTH_RADIUS_KM, rel=1e-12)
    # along a meridian the distance is R x the angle; at 60 degrees latitude a degree of longitude spans
    # 2 x asin(cos(60) x sin(0.5 degree)) radians
    assert haversine_km(-23.5, -46.6, 21.5, -46.6) == pytest.approx(EARTH_RADIUS_KM * math.pi / 4, rel=1e-12)
    angle = 2 * math.asin(math.cos(math.radians(60)) * math.sin(math.radians(0.5)))
    assert haversine_km(60, 10, 60, 11) == pytest.approx(EARTH_RADIUS_KM * angle, rel=1e-12)
    np.testing.assert_allclose(haversine_km([0, 0], [0, 0], [0, 1], [1, 0]), [one_degree, one_degree])


def test_conformal_quantile_takes_the_ceil_n_plus_1_rank():
    scores = np.random.default_rng(1).permutation(np.arange(1, 101))
    # ceil(101 * 0.96) = 97 -> the 97th smallest
    assert conformal_quantile(scores, miss_share=0.04) == 97.0
    # ceil(101 * 0.9) = 91
    assert conformal_quantile(scores, miss_share=0.10) == 91.0
    # fewer scores than the rank needs: the largest
    assert conformal_quantile([3.0, 1.0, 2.0], miss_share=0.04) == 3.0
    with pytest.raises(ValueError, match="no calibration scores"):
        conformal_quantile([], miss_share=0.04)


def test_late_risk_from_crafted_residuals():
    model = DeliveryTimeModel()
    model.residuals_ = np.array([-1.0, 0.0, 1.0, 2.0])
    median = np.log(10.0)
    promise = 10 * math.exp(1.5)
    # survival(promise) = (4 - 3 + 0.5) / 5 = 0.3; survival(0) = 4.5 / 5 = 0.9
    risk = model.late_risk(median_log_days=[median], spread=[1.0], promise_days=[promise], elapsed_days=[0.0])
    assert risk[0] == pytest.approx(1 / 3)
    # after 10 days in flight: survival(10) = (4 - 2 + 0.5) / 5 = 0.5 -> 0.3 / 0.5
    risk = model.late_risk(median_log_days=[median], spread=[1.0], promise_days=[promise], elapsed_days=[10.0])
    assert risk[0] == pytest.approx(0.6)
    # past the promise and still not delivered: certainly late
    risk = model.late_risk(median_log_days=[median], spread=[1.0], promise_days=[promise], elapsed_days=[50.0])
    assert risk[0] == 1.0


def synthetic_orders(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """Orders whose delivery time grows with distance, with noise; sellers in SP, customers spread out."""
    rng = np.random.default_rng(seed)
    purchased = pd.Timestamp("2017-06-01") + pd.to_timedelta(np.sort(rng.uniform(0, 300, n)), unit="D")
    customer_lat = rng.uniform(-30, -5, n)
    distance = np.abs(customer_lat + 23.5) * 111
    days = 3 + distance / 250 + rng.gamma(2.0, 1.0, n)
    handling = rng.uniform(0.5, 3, n)
    return pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n)],
            "purchased_at": purchased,
            "approved_at": purchased + pd.Timedelta(hours=1),
            "handed_to_carrier_at": purchased + pd.to_timedelta(handling, unit="D"),
            "delivered_at": purchased + pd.to_timedelta(days, unit="D"),
            "seller_id": rng.choice(["s1", "s2", "s3"], n),
            "seller_lat": -23.5,
            "seller_lng": -46.6,
            "seller_state": "SP",
            "customer_lat": customer_lat,
            "customer_lng": -45.0,
            "customer_state": np.where(customer_lat < -20, "SP", "BA"),
            "carrier": "post",
            "category": rng.choice(["books", "toys"], n),
            "weight_g": rng.uniform(100, 5000, n),
            "volume_cm3": rng.uniform(1000, 20000, n),
            "freight_value": rng.uniform(5, 40, n),
            "price": rng.uniform(10, 200, n),
            "items": 1,
        }
    )[ORDER_COLUMNS]


def test_fit_uses_nothing_known_on_or_after_as_of():
    orders = synthetic_orders()
    as_of = pd.Timestamp("2018-02-01")
    params = DeliveryParams(max_iter=40, calibration_days=40, calibration_gap_days=10)
    baseline = DeliveryTimeModel(params).fit(orders, as_of=as_of)
    # Rewrite every fact dated on/after as-of (later deliveries and hand-offs): the model must not notice.
    tampered = orders.copy()
    later = tampered["delivered_at"] >= as_of
    tampered.loc[later, "delivered_at"] = tampered.loc[later, "delivered_at"] + pd.Timedelta(days=40)
    handed_later = tampered["handed_to_carrier_at"] >= as_of
    tampered.loc[handed_later, "handed_to_carrier_at"] = pd.NaT
    again = DeliveryTimeModel(params).fit(tampered, as_of=as_of)
    test = orders[orders["purchased_at"] >= as_of]
    assert len(test) > 20
    pd.testing.assert_frame_equal(baseline.predict(test), again.predict(tampered.loc[test.index]))
    assert baseline.offset_ == again.offset_
    assert baseline.training_rows_ == int((orders["delivered_at"] < as_of).sum())


def test_promise_not_before_eta_and_metrics():
    orders = synthetic_orders()
    as_of = pd.Timestamp("2018-02-01")
    model = DeliveryTimeModel(DeliveryParams(max_iter=40, calibration_days=40, calibration_gap_days=10))
    predicted = model.fit(orders, as_of=as_of).predict(orders[orders["purchased_at"] >= as_of])
    assert (pd.to_datetime(predicted["promise_date"]) >= pd.to_datetime(predicted["eta_date"])).all()
    assert predicted["late_risk"].between(0, 1).all()
    # no order to predict: an empty frame with the same columns, not an error from the trees
    empty = model.predict(orders.iloc[:0])
    assert empty.empty and list(empty.columns) == list(predicted.columns)

    crafted = pd.DataFrame({"eta_date": ["2018-01-05", "2018-01-10"], "promise_date": ["2018-01-08", "2018-01-09"]})
    metrics = delivery_metrics(crafted, pd.Series(pd.to_datetime(["2018-01-06 15:00", "2018-01-11 09:00"])))
    assert metrics == {"orders": 2, "late_share": 0.5, "mean_slack_days": 0.0, "eta_mae_days": 1.0}


def test_handling_time_estimates_use_only_hand_offs_before_as_of():
    from logistics.ml.delivery import handling_time_estimates

    orders = synthetic_orders(n=4)
    base = pd.Timestamp("2018-01-10 08:00")
    orders["seller_id"] = ["fast", "fast", "slow", "slow"]
    orders["purchased_at"] = base - pd.Timedelta(hours=2)
    orders["approved_at"] = base
    orders["handed_to_carrier_at"] = [
        base + pd.Timedelta(days=1),
        base + pd.Timedelta(days=1),
        base + pd.Timedelta(days=3),
        base + pd.Timedelta(days=30),  # after as-of: unknown
    ]
    table = handling_time_estimates(orders, as_of="2018-01-20", smoothing=0.0)
    assert table.to_dict("records") == [
        {"seller_id": "slow", "handoffs": 1, "median_days": 3.0, "p90_days": 3.0, "expected_days": 3.0},
        {"seller_id": "fast", "handoffs": 2, "median_days": 1.0, "p90_days": 1.0, "expected_days": 1.0},
    ]


def test_model_follows_a_network_that_gets_steadily_faster():
    """Delivery times shrink by up to 60 % over the history; the level-relative model tracks them better."""
    from logistics.ml.delivery import known_as_of

    orders = synthetic_orders(n=900)
    progress = ((orders["purchased_at"] - pd.Timestamp("2017-06-01")) / pd.Timedelta(days=300)).clip(0, 1)
    orders["delivered_at"] = orders["purchased_at"] + (orders["delivered_at"] - orders["purchased_at"]) * (
        1 - 0.6 * progress
    )
    as_of = pd.Timestamp("2018-03-01")
    test = orders[orders["purchased_at"] >= as_of]
    truth = ((test["delivered_at"] - test["purchased_at"]) / pd.Timedelta(days=1)).to_numpy()
    errors = {}
    for relative in (True, False):
        params = DeliveryParams(max_iter=40, calibration_days=40, calibration_gap_days=10, relative_to_network=relative)
        model = DeliveryTimeModel(params).fit(known_as_of(orders[orders["purchased_at"] < as_of], as_of), as_of=as_of)
        predicted = model.predict(known_as_of(test, as_of))
        errors[relative] = float(np.abs(predicted["eta_days"].to_numpy() - truth).mean())
        assert model.summary()["relative_to_network"] is relative
    assert errors[True] < errors[False]


def test_known_as_of_blanks_every_later_fact():
    from logistics.ml.delivery import known_as_of

    orders = synthetic_orders(n=50)
    as_of = pd.Timestamp("2017-09-01")
    masked = known_as_of(orders, as_of)
    for column in ("approved_at", "handed_to_carrier_at", "delivered_at"):
        later = orders[column] >= as_of
        assert later.any() and masked.loc[later, column].isna().all()
        pd.testing.assert_series_equal(masked.loc[~later, column], orders.loc[~later, column])
    pd.testing.assert_series_equal(masked["purchased_at"], orders["purchased_at"])


def test_promise_follows_a_changed_target_without_retraining():
    orders = synthetic_orders()
    as_of = pd.Timestamp("2018-02-01")
    model = DeliveryTimeModel(DeliveryParams(max_iter=40, calibration_days=40, calibration_gap_days=10))
    model.fit(orders, as_of=as_of)
    test = orders[orders["purchased_at"] >= as_of]
    assert model.offset_for(None) == model.offset_ == model.offset_for(0.04)
    assert model.offset_for(0.25) == conformal_quantile(model.residuals_, miss_share=0.25) < model.offset_
    trained, looser = model.predict(test), model.predict(test, target_late_share=0.25)
    pd.testing.assert_series_equal(trained["eta_days"], looser["eta_days"])
    assert (looser["promise_days"] <= trained["promise_days"]).all()
    assert (looser["promise_days"] < trained["promise_days"]).any()
    with pytest.raises(ValueError, match="target late share must be between 0 and 0.5, got 0.7"):
        model.predict(test, target_late_share=0.7)


def test_training_keeps_only_purchases_whose_outcome_was_settled():
    """Durations 1..10 days (each equally often); at as-of 90 % of past orders were delivered within 9 days:
    younger rows (of which only the fast deliveries are known yet) are left out of training."""
    as_of = pd.Timestamp("2018-01-01")
    ages = np.arange(1, 200)
    orders = pd.DataFrame({"purchased_at": as_of - pd.to_timedelta(ages, unit="D")})
    orders["delivered_at"] = orders["purchased_at"] + pd.to_timedelta(ages * 7 % 10 + 1, unit="D")
    known = orders[orders["delivered_at"] < as_of]
    # of the purchases 1..9 days old only those of ages 3, 6, 8 and 9 (2, 3, 7, 4 days) were delivered
    assert ages[known.index].tolist() == [3, 6, 8, *range(9, 200)]
    settled = DeliveryTimeModel(DeliveryParams(complete_share=0.9, settled_days=120))._settled(known, as_of)
    assert settled.index.tolist() == known.index[ages[known.index] >= 9].tolist()
    assert ((as_of - settled["purchased_at"]) / pd.Timedelta(days=1)).min() == 9
    # off, or too little settled history (fewer than 50 orders 120+ days old): every known row
    pd.testing.assert_frame_equal(DeliveryTimeModel(DeliveryParams(complete_share=0))._settled(known, as_of), known)
    young = known[ages[known.index] < 150]
    pd.testing.assert_frame_equal(DeliveryTimeModel(DeliveryParams(settled_days=120))._settled(young, as_of), young)


def test_calibration_window_ends_when_its_slow_deliveries_are_known():
    """The gap before the cut-off is the (1 - target) quantile of settled delivery times (1..25 days, 10 each)."""
    as_of = pd.Timestamp("2018-01-01")
    ages = np.arange(130, 380)  # 250 orders, all purchased 120+ days before as-of
    orders = pd.DataFrame({"purchased_at": as_of - pd.to_timedelta(ages, unit="D")})
    orders["delivered_at"] = orders["purchased_at"] + pd.to_timedelta(ages % 25 + 1, unit="D")
    # 96 %: position 0.96 x 249 = 239.04 between the sorted 24 and 25 -> 24.04 -> 25 whole days
    assert DeliveryTimeModel()._calibration_gap(orders, as_of) == pd.Timedelta(days=25)
    # 20 %: position 199.2 between 20 and 21 -> 21 days
    model = DeliveryTimeModel(DeliveryParams(target_late_share=0.2))
    assert model._calibration_gap(orders, as_of) == pd.Timedelta(days=21)
    assert DeliveryTimeModel(DeliveryParams(calibration_gap_days=9))._calibration_gap(orders, as_of).days == 9
    assert DeliveryTimeModel()._calibration_gap(orders.iloc[:49], as_of) == pd.Timedelta(days=15)


def test_predictions_do_not_depend_on_the_order_of_the_rows():
    """Eight categories sold equally often, three kept (``top_categories``): which three must not follow the row
    order (value_counts breaks ties by first appearance; the database and the Olist files list orders differently)."""
    orders = synthetic_orders()
    orders["category"] = [f"cat{i % 8}" for i in range(len(orders))]
    orders["delivered_at"] += pd.to_timedelta(orders.index % 8, unit="D")
    as_of = pd.Timestamp("2018-02-01")
    params = DeliveryParams(max_iter=40, calibration_days=40, calibration_gap_days=10, top_categories=3)
    test = orders[orders["purchased_at"] >= as_of]
    history = orders[orders["purchased_at"] < as_of]
    history = history.iloc[: len(history) // 8 * 8]
    shuffled = history.sample(frac=1.0, random_state=7)
    assert shuffled.groupby("category").size().nunique() == 1, "the counts must tie"

    first = DeliveryTimeModel(params).fit(history, as_of=as_of)
    second = DeliveryTimeModel(params).fit(shuffled, as_of=as_of)

    assert first.categories_["category"] == second.categories_["category"] == ["cat0", "cat1", "cat2"]
    pd.testing.assert_frame_equal(first.predict(test), second.predict(test), check_exact=True)
