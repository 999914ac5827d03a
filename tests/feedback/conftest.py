import pytest

from feedback.services import sentiment_train
from tests.feedback.factories import corpus_reviews


@pytest.fixture
def trained_sentiment(db):
    """A linear sentiment model trained on the small hand-written corpus and activated."""
    corpus_reviews()
    (version,) = sentiment_train(algorithms=("linear",))
    version.refresh_from_db()
    assert version.status == "active"
    return version
