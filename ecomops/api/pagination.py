"""Limit/offset pagination with a hard maximum that refuses unordered querysets."""

from django.core.exceptions import ImproperlyConfigured
from rest_framework.pagination import LimitOffsetPagination


class OrderedLimitOffsetPagination(LimitOffsetPagination):
    """Pages of at most ``max_limit`` rows; an unordered queryset would page non-deterministically."""

    default_limit = 50
    max_limit = 1000

    def paginate_queryset(self, queryset, request, view=None):
        if hasattr(queryset, "ordered") and not queryset.ordered:
            raise ImproperlyConfigured(f"{view.__class__.__name__} paginates an unordered queryset")
        return super().paginate_queryset(queryset, request, view)
