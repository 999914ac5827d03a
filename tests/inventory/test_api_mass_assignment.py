"""Mass assignment: writing read-only fields through any catalog, orders or inventory endpoint changes nothing.

For every ViewSet that accepts PATCH, one object is built and every read-only serializer field that maps
to a model column is sent with another value; the stored row must be unchanged (``updated_at`` aside).
"""

from datetime import UTC, datetime

import pytest
from django.db import models
from rest_framework import serializers

from catalog.api.urls import router as catalog_router
from inventory.api.urls import router as inventory_router
from orders.api.urls import router as orders_router
from tests.test_admin_pages import build

VIEWSETS = [
    (prefix, viewset)
    for router in (catalog_router, orders_router, inventory_router)
    for prefix, viewset, _ in router.registry
    if hasattr(viewset, "partial_update")
]


def _other_value(field: models.Field, current):
    if field.primary_key or field.is_relation:
        return 999_999
    if isinstance(field, models.DateTimeField):
        return datetime(2001, 1, 1, tzinfo=UTC).isoformat()
    if isinstance(field, models.DateField):
        return "2001-01-01"
    if isinstance(field, models.IntegerField | models.FloatField | models.DecimalField):
        return 424242
    return "tampered"


def _snapshot(instance):
    instance.refresh_from_db()
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields if f.name != "updated_at"}


@pytest.mark.django_db
@pytest.mark.parametrize("prefix, viewset", VIEWSETS, ids=[prefix for prefix, _ in VIEWSETS])
def test_read_only_fields_cannot_be_written(api_client, prefix, viewset):
    model = viewset.queryset.model
    instance = build(model)
    serializer = viewset.serializer_class()
    payload = {}
    for name, field in serializer.fields.items():
        if not field.read_only or isinstance(field, serializers.SerializerMethodField):
            continue
        source = field.source.split(".")[0]
        try:
            model_field = model._meta.get_field(source)
        except Exception:  # noqa: BLE001 - not a column (a property or a nested relation)
            continue
        if getattr(model_field, "concrete", False) and model_field.name != "updated_at":
            payload[name] = _other_value(model_field, getattr(instance, model_field.attname))
    before = _snapshot(instance)

    response = api_client.patch(f"/api/v1/{prefix}/{instance.pk}/", payload, format="json")

    assert response.status_code == 200, response.content
    assert _snapshot(instance) == before
    assert payload, f"{prefix}: no read-only column to try"
