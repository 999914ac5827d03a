"""The store's delivery settings: the accepted late share is stored, edited in the admin and used by the model."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from ecomops.models import ModelVersion
from logistics.models import DeliverySettings
from logistics.services import default_target_late_share

from .factories import delivery_history


@pytest.mark.django_db
def test_target_comes_from_the_stored_row_else_the_setting(settings):
    settings.LOGISTICS_TARGET_LATE_SHARE = 0.05
    assert default_target_late_share() == 0.05
    assert DeliverySettings.objects.count() == 0  # reading does not write
    row = DeliverySettings.current()
    assert (row.pk, row.target_late_share) == (1, 0.05)
    row.target_late_share = 0.1
    row.save()
    assert default_target_late_share() == 0.1
    # A second save of a new object still updates the single row.
    DeliverySettings(target_late_share=0.02).save()
    assert list(DeliverySettings.objects.values_list("pk", "target_late_share")) == [(1, 0.02)]


@pytest.mark.django_db
@pytest.mark.parametrize("value", [0.0, 0.5, -0.1, 1.0])
def test_target_out_of_range_is_refused(value):
    row = DeliverySettings(target_late_share=value)
    with pytest.raises(ValidationError) as error:
        row.full_clean()
    assert error.value.message_dict["target_late_share"] == [
        f"the accepted share of late deliveries must be above 0 and below 0.5 (e.g. 0.04 for 4 %), got {value}"
    ]
    with pytest.raises(IntegrityError), transaction.atomic():
        row.save()


@pytest.mark.django_db
def test_training_uses_the_stored_target():
    DeliverySettings.objects.create(target_late_share=0.2)
    delivery_history()
    call_command("predict_delivery", "--as-of", "2017-12-01")
    call_command("predict_delivery", "--as-of", "2017-12-01", "--target-late-share", "0.03")
    targets = [v.parameters["target_late_share"] for v in ModelVersion.objects.order_by("version")]
    assert targets == [0.2, 0.03]


@pytest.mark.django_db
def test_admin_edits_the_single_row(client, django_user_model):
    admin_user = django_user_model.objects.create_superuser(username="boss", password="boss-pass-123")
    client.force_login(admin_user)
    add = reverse("admin:logistics_deliverysettings_add")
    assert client.get(reverse("admin:logistics_deliverysettings_changelist")).status_code == 200
    assert client.post(add, {"target_late_share": "0.04"}).status_code == 302
    assert client.get(add).status_code == 403  # one row only
    url = reverse("admin:logistics_deliverysettings_change", args=[1])

    refused = client.post(url, {"target_late_share": "0.7"})
    assert refused.status_code == 200
    assert "must be above 0 and below 0.5" in refused.content.decode()
    assert DeliverySettings.objects.get().target_late_share == 0.04

    saved = client.post(url, {"target_late_share": "0.06"})
    assert saved.status_code == 302
    row = DeliverySettings.objects.get()
    assert (row.target_late_share, row.updated_by) == (0.06, admin_user)
    assert client.get(reverse("admin:logistics_deliverysettings_delete", args=[1])).status_code == 403
