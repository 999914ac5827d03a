"""Recommendations: bought-together on crafted baskets, personalised top-N with filters, the API endpoints."""

from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from catalog.ml.recommend import EaseRecommender, bought_together, popular_items, ranking_metrics, split_per_user
from catalog.models import CustomerRecommendation, PopularProduct, ProductAssociation
from catalog.services_customers import (
    customer_recommendations,
    product_bought_together,
    recommendations_train_and_store,
)
from ecomops.models import ModelVersion
from tests.factories import (
    CategoryFactory,
    CustomerFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    StockLevelFactory,
)

BASKETS = pd.DataFrame(
    [(1, "A"), (1, "B"), (2, "A"), (2, "B"), (3, "A"), (3, "C"), (4, "B"), (4, "C"), (5, "D")],
    columns=["basket", "item"],
)


def test_bought_together_counts_confidence_and_lift_on_crafted_baskets():
    pairs = bought_together(BASKETS, min_count=1)

    a = pairs[pairs["item"] == "A"]
    assert a["other"].tolist() == ["B", "C"]
    assert a["count"].tolist() == [2, 1]
    assert a["confidence"].tolist() == pytest.approx([2 / 3, 1 / 3])
    assert a["lift"].tolist() == pytest.approx([(2 / 3) / (3 / 5), (1 / 3) / (2 / 5)])
    assert "D" not in set(pairs["item"]) | set(pairs["other"])  # bought alone: no partner
    assert bought_together(BASKETS, min_count=2)[["item", "other"]].values.tolist() == [["A", "B"], ["B", "A"]]


def test_ease_never_recommends_history_or_excluded_items():
    frame = pd.DataFrame(
        [(u, i) for u, items in {1: "AB", 2: "AB", 3: "ABC", 4: "CD", 5: "CD", 6: "A"}.items() for i in items],
        columns=["user", "item"],
    )
    model = EaseRecommender(l2=1.0).fit(frame)

    recs = [item for item, _ in model.recommend(["A"], n=3)]
    assert recs[0] == "B"
    assert "A" not in recs
    assert "B" not in [item for item, _ in model.recommend(["A"], n=3, exclude=["B"])]
    assert popular_items(frame, n=2) == ["A", "B"]


def test_split_and_metrics_are_exact():
    frame = pd.DataFrame({"user": [1] * 8 + [2], "item": list("abcdefgh") + ["a"]})
    train, test = split_per_user(frame, test_fraction=0.25, seed=3)
    assert (len(train), len(test)) == (7, 2)  # user 1: 2 of 8 held out; user 2 has one item and stays in train
    metrics = ranking_metrics({1: ["x", "b", "y"]}, {1: {"b", "z"}}, k=10, n_items=4)
    assert metrics["precision@10"] == pytest.approx(0.1)
    assert metrics["recall@10"] == pytest.approx(0.5)
    assert metrics["ndcg@10"] == pytest.approx((1 / 1.5849625007211563) / (1 + 1 / 1.5849625007211563))
    assert metrics["coverage"] == pytest.approx(3 / 4)


@pytest.fixture
def shop(db):
    category = CategoryFactory(name="livros", name_en="Books")
    products = {name: ProductFactory(sku=name, category=category) for name in "ABCDE"}
    customers = {}
    purchases = {"u1": "AB", "u2": "AB", "u3": "ABC", "u4": "CD", "u5": "CD", "u6": "A", "u7": "E"}
    for number, (name, items) in enumerate(purchases.items()):
        customers[name] = customer = CustomerFactory(external_id=name)
        order = OrderFactory(customer=customer, purchased_at=datetime(2018, 3, 1 + number, tzinfo=UTC))
        for line, item in enumerate(items, start=1):
            OrderLineFactory(order=order, line_number=line, product=products[item], unit_price=Decimal("10.00"))
    return {"products": products, "customers": customers}


def test_train_stores_versioned_rows_and_serves_filtered_recommendations(shop):
    p, c = shop["products"], shop["customers"]
    result = recommendations_train_and_store(as_of=date(2018, 6, 1), l2=1.0)

    assert result.promoted is True
    version = ModelVersion.objects.get(registered_model__name="recommendations")
    assert set(CustomerRecommendation.objects.values_list("model_version", flat=True)) == {version.pk}
    assert list(ProductAssociation.objects.filter(product=p["A"]).values_list("other__sku", "count")) == [
        ("B", 3),
        ("C", 1),
    ]
    assert list(PopularProduct.objects.filter(category=None).values_list("product__sku", flat=True)[:2]) == ["A", "B"]

    recs = customer_recommendations(customer=c["u6"], limit=3)
    assert [(r.product_id, r.reason) for r in recs][0] == (p["B"].pk, "personalised")
    assert p["A"].pk not in [r.product_id for r in recs]  # already bought

    StockLevelFactory(product=p["B"], on_hand=0)  # out of stock now
    recs = customer_recommendations(customer=c["u6"], limit=3)
    assert p["B"].pk not in [r.product_id for r in recs]
    assert len(recs) == 3
    assert {r.product_id for r in recs} <= {p["C"].pk, p["D"].pk, p["E"].pk}


def test_cold_start_customer_gets_best_sellers(shop):
    recommendations_train_and_store(as_of=date(2018, 6, 1), l2=1.0)
    newcomer = CustomerFactory(external_id="new")

    recs = customer_recommendations(customer=newcomer, limit=2)

    assert [(r.product_id, r.reason) for r in recs] == [
        (shop["products"]["A"].pk, "popular"),
        (shop["products"]["B"].pk, "popular"),
    ]


def test_bought_together_skips_out_of_stock_and_tops_up_from_category(shop):
    p = shop["products"]
    recommendations_train_and_store(as_of=date(2018, 6, 1), l2=1.0)
    StockLevelFactory(product=p["B"], on_hand=5, reserved=5)  # nothing available

    recs = product_bought_together(product=p["A"], limit=2)

    assert [(r.product_id, r.reason) for r in recs] == [
        (p["C"].pk, "bought_together"),
        (p["D"].pk, "popular_in_category"),
    ]


def test_recommendation_endpoints(api_client, shop, django_assert_num_queries):
    p, c = shop["products"], shop["customers"]
    recommendations_train_and_store(as_of=date(2018, 6, 1), l2=1.0)

    response = api_client.get(f"/api/v1/customers/{c['u6'].pk}/recommendations/?limit=1")
    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "product": p["B"].pk,
            "sku": "B",
            "name": p["B"].name,
            "category": "Books",
            "list_price": "10.00",
            "score": response.json()["results"][0]["score"],
            "reason": "personalised",
        }
    ]
    with django_assert_num_queries(2):  # the customer, then the filtered top-N with its products in one query
        api_client.get(f"/api/v1/customers/{c['u6'].pk}/recommendations/?limit=1")
    response = api_client.get(f"/api/v1/products/{p['A'].pk}/bought-together/?limit=2")
    assert [(r["sku"], r["reason"]) for r in response.json()["results"]] == [
        ("B", "bought_together"),
        ("C", "bought_together"),
    ]
    assert api_client.get("/api/v1/customers/999999/recommendations/").status_code == 404
    bad = api_client.get(f"/api/v1/customers/{c['u6'].pk}/recommendations/?limit=zero")
    assert bad.status_code == 400
    assert bad.json() == {"limit": "must be an integer from 1 to 50, got 'zero'"}


def test_recommendations_need_permission(db, django_user_model, shop):
    from rest_framework.test import APIClient

    client = APIClient()
    assert client.get(f"/api/v1/customers/{shop['customers']['u6'].pk}/recommendations/").status_code in (401, 403)
    client.force_authenticate(django_user_model.objects.create_user(username="nobody", password="x-12345678"))
    assert client.get(f"/api/v1/customers/{shop['customers']['u6'].pk}/recommendations/").status_code == 403


def test_train_recommendations_job_and_api_trigger(api_client, shop, django_capture_on_commit_callbacks):
    from ecomops.models import JobRun

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            "/api/v1/customer-analytics/train/", {"kind": "recommendations", "as_of": "2018-06-01"}
        )
    assert response.status_code == 202
    job = JobRun.objects.get(pk=response.json()["job"])

    assert job.kind == "train:recommendations"
    assert job.state == JobRun.State.SUCCEEDED, job.error
    assert (job.result["version"], job.result["promoted"], job.result["customers"]) == (1, True, 7)
    assert CustomerRecommendation.objects.filter(customer=shop["customers"]["u6"]).exists()
    bad = api_client.post("/api/v1/customer-analytics/train/", {"kind": "everything"})
    assert bad.status_code == 400
    assert bad.json() == {"kind": ["must be customers or recommendations, got 'everything'"]}


def test_ease_torch_solve_matches_numpy():
    import numpy as np

    from catalog.ml.recommend import _ease_solve, _ease_solve_torch

    rng = np.random.default_rng(0)
    x = (rng.random((40, 12)) < 0.3).astype(float)
    gram = x.T @ x
    numpy_b = _ease_solve(gram, 5.0, "cpu")
    regularised = gram + 5.0 * np.eye(12)

    assert np.allclose(_ease_solve_torch(regularised, "cpu"), numpy_b, atol=1e-9)
    assert np.all(np.diag(numpy_b) == 0)


def test_top_up_reads_every_category_in_one_query(db, api_client, django_assert_num_queries):
    """A customer buying from three categories: customer, stored top-N, his categories, their best-sellers;
    four queries whatever the number of categories, best-sellers of his most bought category first."""
    categories = [CategoryFactory(name=f"cat{n}", name_en="") for n in range(3)]
    products = {f"{c.name}-{i}": ProductFactory(sku=f"{c.name}-{i}", category=c) for c in categories for i in range(3)}
    buyers = {}
    for n, basket in enumerate(
        [["cat0-0", "cat0-1", "cat1-0"], ["cat0-0", "cat0-2", "cat2-0"], ["cat1-1", "cat1-2", "cat2-1"]]
    ):
        buyers[n] = customer = CustomerFactory(external_id=f"b{n}")
        order = OrderFactory(customer=customer, purchased_at=datetime(2018, 3, 1 + n, tzinfo=UTC))
        for line, sku in enumerate(basket, start=1):
            OrderLineFactory(order=order, line_number=line, product=products[sku], unit_price=Decimal("7.50"))
    recommendations_train_and_store(as_of=date(2018, 6, 1), l2=1.0)
    CustomerRecommendation.objects.all().delete()  # no personalised rows left: everything comes from top-up
    api_client.get(f"/api/v1/customers/{buyers[1].pk}/recommendations/")  # the user's permissions get cached

    with django_assert_num_queries(4):
        response = api_client.get(f"/api/v1/customers/{buyers[0].pk}/recommendations/?limit=4")

    results = response.json()["results"]
    # cat0 (two purchases) first, then cat1; products he bought are left out; ties by buyers, then id
    assert [(r["sku"], r["reason"], r["category"], r["list_price"]) for r in results] == [
        ("cat0-2", "popular_in_category", "cat0", f"{products['cat0-2'].list_price:.2f}"),
        ("cat1-1", "popular_in_category", "cat1", f"{products['cat1-1'].list_price:.2f}"),
        ("cat1-2", "popular_in_category", "cat1", f"{products['cat1-2'].list_price:.2f}"),
        ("cat2-0", "popular", "cat2", f"{products['cat2-0'].list_price:.2f}"),
    ]


def _dense_ease_scores(frame: pd.DataFrame, l2: float):
    """The textbook EASE over every item (the full inverse), as the reference for the linked-only solve."""
    from catalog.ml.recommend import Interactions

    data = Interactions.from_frame(frame)
    x = data.matrix.toarray().astype(float)
    p = np.linalg.inv(x.T @ x + l2 * np.eye(x.shape[1]))
    b = -p / np.diag(p)
    np.fill_diagonal(b, 0.0)
    return data, x @ b


def test_recommend_many_ranks_evidence_like_the_full_solve_then_fills_with_popular_unseen_items():
    rng = np.random.default_rng(7)
    pairs = {(int(u), int(rng.integers(0, 12))) for u in range(60) for _ in range(int(rng.integers(1, 4)))}
    pairs |= {(100 + i, 20 + i) for i in range(8)}  # eight one-off buyers of eight items nobody else bought
    pairs |= {(200 + i, 20) for i in range(30)}  # item 20 is the best seller, always bought alone: it never scores
    frame = pd.DataFrame(sorted(pairs), columns=["user", "item"])
    model = EaseRecommender(l2=2.0).fit(frame)
    data, reference = _dense_ease_scores(frame, 2.0)

    assert set(model.items_[model.linked_]) == set(range(12))  # the isolated items are not in the solve
    positions, scores = model.recommend_many(data.matrix, n=15, return_scores=True)
    popular = list(model.popular_order_)
    for row in range(len(data.users)):
        seen = set(data.matrix[row].indices)
        ref = reference[row].copy()
        ref[list(seen)] = -np.inf
        evidence = [int(i) for i in np.lexsort((np.arange(len(ref)), -ref)) if ref[i] > 1e-6]
        assert list(positions[row, : len(evidence)]) == evidence
        np.testing.assert_allclose(scores[row, : len(evidence)], ref[evidence], rtol=1e-4)
        rest = [i for i in popular if i not in seen and i not in evidence][: 15 - len(evidence)]
        assert list(positions[row, len(evidence) :]) == rest
        assert set(scores[row, len(evidence) :]) <= {0.0}

    stored, stored_scores = model.recommend_many(data.matrix, n=15, return_scores=True, fill_popular=False)
    assert ((stored >= 0) == np.isfinite(stored_scores)).all()
    assert (stored_scores[np.isfinite(stored_scores)] > 0).all()
    one_off = list(data.users).index(101)  # bought item 21 only
    assert list(stored[one_off]) == [-1] * 15  # bought an item no one else bought: nothing earned a place
    assert positions[one_off, 0] == model.item_index_.get_loc(20)  # ...so the best seller comes first


def test_scores_of_a_single_history_match_the_full_solve():
    frame = pd.DataFrame(
        [(1, "A"), (1, "B"), (2, "A"), (2, "C"), (3, "B"), (3, "C"), (4, "D")], columns=["user", "item"]
    )
    model = EaseRecommender(l2=1.0).fit(frame)
    x = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 1, 1, 0], [0, 0, 0, 1]], dtype=float)  # users x A..D
    p = np.linalg.inv(x.T @ x + np.eye(4))
    b = -p / np.diag(p)
    np.fill_diagonal(b, 0.0)

    assert list(model.items_[model.linked_]) == ["A", "B", "C"]  # D was bought alone
    np.testing.assert_allclose(model.scores(["A", "D", "unknown"]), b[0] + b[3], rtol=1e-5, atol=1e-7)
    assert b[3].tolist() == [0.0, 0.0, 0.0, 0.0]
