"""Every registered admin (all apps) opens for a staff operator who is not a superuser.

For each ModelAdmin in ``admin.site._registry``: the changelist (also with a search), the add form when
adding is allowed, and the change form of one object. The object comes from a factory (tests/factories.py
or tests/<app>/factories.py) or, failing that, from a minimal object built from the model's fields; when
neither can be built the change view is skipped, with the reason.
"""

import importlib
import inspect
import itertools
import pkgutil
from datetime import date
from decimal import Decimal

import factory
import pytest
from django.contrib import admin
from django.db import models, transaction
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

import tests

REGISTRY = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
IDS = [model._meta.label for model, _ in REGISTRY]
_counter = itertools.count(1)


def _factories() -> dict[type[models.Model], type[factory.django.DjangoModelFactory]]:
    modules = [importlib.import_module("tests.factories")]
    for info in pkgutil.iter_modules(tests.__path__):
        if info.ispkg:
            try:
                modules.append(importlib.import_module(f"tests.{info.name}.factories"))
            except ModuleNotFoundError:
                continue
    found = {}
    for module in modules:
        for _, candidate in inspect.getmembers(module, inspect.isclass):
            if issubclass(candidate, factory.django.DjangoModelFactory) and candidate._meta.model is not None:
                model = candidate._meta.model
                found.setdefault(model if isinstance(model, type) else None, candidate)
    return found


def _value(field: models.Field):
    n = next(_counter)
    if field.choices:
        return field.choices[0][0]
    if isinstance(field, models.EmailField):
        return f"user{n}@example.com"
    if isinstance(field, models.URLField):
        return f"https://example.com/{n}"
    if isinstance(field, models.SlugField | models.CharField | models.TextField):
        return f"x{n}"[: field.max_length or 20]
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, models.DecimalField):
        return Decimal("0.5") if field.decimal_places else Decimal(1)
    if isinstance(field, models.FloatField):
        return 0.5
    if isinstance(field, models.IntegerField | models.PositiveSmallIntegerField):
        return 1
    if isinstance(field, models.DateTimeField):
        return timezone.now()
    if isinstance(field, models.DateField):
        return date(2020, 1, 1)
    if isinstance(field, models.DurationField):
        return timezone.timedelta(days=1)
    if isinstance(field, models.JSONField):
        return {}
    if isinstance(field, models.UUIDField):
        import uuid

        return uuid.uuid4()
    raise TypeError(f"cannot invent a value for {field.model._meta.label}.{field.name} ({type(field).__name__})")


def build(model: type[models.Model], depth: int = 0) -> models.Model:
    """A saved instance of ``model``: its factory, or the required fields filled in (FKs built recursively)."""
    factories = _factories()
    if model in factories:
        return factories[model]()
    if depth > 6:
        raise RecursionError(f"foreign keys of {model._meta.label} nest too deep")
    values = {}
    for field in model._meta.concrete_fields:
        if field.primary_key or field.null or field.has_default() or getattr(field, "auto_now", False):
            continue
        if getattr(field, "auto_now_add", False):
            continue
        if field.is_relation:
            values[field.name] = build(field.related_model, depth + 1)
        elif isinstance(field, models.FileField):
            continue
        else:
            values[field.name] = _value(field)
    return model._default_manager.create(**values)


def test_every_app_model_is_registered():
    registered = {model._meta.app_label for model, _ in REGISTRY}
    assert {"catalog", "orders", "inventory"} <= registered


@pytest.fixture
def staff_client(client, operator_user):
    assert not operator_user.is_superuser
    client.force_login(operator_user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("model, model_admin", REGISTRY, ids=IDS)
def test_admin_pages_open_for_an_operator(staff_client, operator_user, model, model_admin):
    info = model._meta.app_label, model._meta.model_name
    changelist = reverse("admin:{}_{}_changelist".format(*info))
    assert staff_client.get(changelist).status_code == 200
    if model_admin.search_fields:
        assert staff_client.get(changelist, {"q": "x"}).status_code == 200

    request = RequestFactory().get(changelist)
    request.user = operator_user
    if model_admin.has_add_permission(request):
        assert staff_client.get(reverse("admin:{}_{}_add".format(*info))).status_code == 200

    try:
        with transaction.atomic():
            obj = build(model)
    except Exception as error:  # noqa: BLE001 - reported as the skip reason
        pytest.skip(f"change view of {model._meta.label} not checked: no object could be built ({error})")
    response = staff_client.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
    assert response.status_code == 200
