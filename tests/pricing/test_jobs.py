"""Background jobs of pricing: train and score handlers run through the platform's JobRun machinery."""

from datetime import date

import pytest

from ecomops.jobs import job_create, job_handlers, job_run
from ecomops.models import JobRun, ModelVersion
from pricing.models import ElasticityEstimate, PriceRecommendation

from .factories import load_simulated_market


def test_handlers_are_registered():
    handlers = job_handlers()
    assert handlers["train:price_response"].queue == "ml"
    assert handlers["score:price_response"].model_name == "price_response"


@pytest.mark.django_db
def test_train_then_score_jobs():
    load_simulated_market(n_products=3, n_locations=2, n_weeks=40)
    train = job_create(kind="train:price_response", parameters={"as_of": "2023-08-01", "select": False})
    train = job_run(job_id=train.pk)
    assert train.state == JobRun.State.SUCCEEDED, train.error
    version = ModelVersion.objects.get(pk=train.result["model_version"])
    assert version.as_of == date(2023, 8, 1)
    assert ElasticityEstimate.objects.filter(model_version=version).count() == 3 + 6

    score = job_run(job_id=job_create(kind="score:price_response", parameters={"as_of": "2023-08-01"}).pk)
    assert score.state == JobRun.State.SUCCEEDED, score.error
    assert score.result["created"] == 6
    assert score.result["model_version"] == version.pk  # reused, not retrained
    assert PriceRecommendation.objects.filter(status="proposed", model_version=version).count() == 6


@pytest.mark.django_db
def test_train_job_without_data_fails_with_the_reason():
    job = job_run(job_id=job_create(kind="train:price_response", parameters={"as_of": "2023-08-01"}).pk)
    assert job.state == JobRun.State.FAILED
    assert (
        job.error
        == "PricingError: not enough sales history with prices before 2023-08-01 to fit a price-response model"
    )
