"""import_reviews on the real shared label files (skipped where ../shared/data is absent)."""

from io import StringIO

import pandas as pd
import pytest
from django.core.management import call_command

from feedback.models import Review
from tests.conftest import shared_data

pytestmark = pytest.mark.realdata


def test_import_waimai_binary_labels(db):
    path = shared_data("reviews", "zh", "waimai_10k.csv")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    out = StringIO()
    call_command(
        "import_reviews",
        str(path),
        "--language",
        "zh",
        "--text-column",
        "review",
        "--label-column",
        "label",
        stdout=out,
    )
    texts = frame["review"].str.strip()
    valid = frame[texts.ne("")]
    distinct = valid.assign(key=valid["review"].str.strip()).drop_duplicates("key")
    assert Review.objects.filter(channel="waimai_10k").count() == len(distinct)
    assert Review.objects.filter(channel="waimai_10k", label="negative").count() == int(
        (distinct["label"] == "0").sum()
    )
    assert out.getvalue().splitlines()[0] == (
        f"waimai_10k.csv: read {len(frame)}, created {len(distinct)}, updated 0, unchanged 0, "
        f"rejected {len(frame) - len(distinct)} (labels: binary)"
    )
