import pytest

from feedback.models import Review
from feedback.services import sentiment_train
from tests.feedback.factories import CORPUS


@pytest.fixture
def trained_sentiment(db):
    """A linear sentiment model trained on the small hand-written corpus and activated."""
    reviews = [
        Review(
            source=Review.Source.IMPORT,
            channel=f"corpus-{language}",
            external_id=f"{language}-{label}-{i}",
            label=label,
            text=text,
            language=language,
        )
        for language, by_label in CORPUS.items()
        for label, texts in by_label.items()
        for i, text in enumerate(texts)
    ]
    Review.objects.bulk_create(reviews)
    (version,) = sentiment_train(algorithms=("linear",))
    version.refresh_from_db()
    assert version.status == "active"
    return version
