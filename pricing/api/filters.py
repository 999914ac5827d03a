"""Filters of the pricing API."""

import django_filters

from pricing.models import (
    CompetitorPrice,
    CompetitorPriceAlert,
    ElasticityEstimate,
    PriceChangeAudit,
    PriceHistory,
    PriceRecommendation,
    Promotion,
)


class PriceHistoryFilter(django_filters.FilterSet):
    product = django_filters.CharFilter(field_name="product__sku")
    location = django_filters.CharFilter(field_name="location__code")
    effective_from_after = django_filters.DateFilter(field_name="effective_from", lookup_expr="gte")
    effective_from_before = django_filters.DateFilter(field_name="effective_from", lookup_expr="lt")

    class Meta:
        model = PriceHistory
        fields = ["product", "location", "source"]


class PromotionFilter(django_filters.FilterSet):
    product = django_filters.CharFilter(field_name="product__sku")
    location = django_filters.CharFilter(field_name="location__code")
    active_on = django_filters.DateFilter(method="filter_active_on")

    class Meta:
        model = Promotion
        fields = ["product", "location", "kind"]

    def filter_active_on(self, queryset, name, value):
        return queryset.filter(starts_on__lte=value, ends_on__gte=value)


class CompetitorPriceFilter(django_filters.FilterSet):
    product = django_filters.CharFilter(field_name="product__sku")
    observed_after = django_filters.DateTimeFilter(field_name="observed_at", lookup_expr="gte")
    observed_before = django_filters.DateTimeFilter(field_name="observed_at", lookup_expr="lt")

    class Meta:
        model = CompetitorPrice
        fields = ["product", "competitor", "source"]


class ElasticityFilter(django_filters.FilterSet):
    product = django_filters.CharFilter(field_name="product__sku")
    location = django_filters.CharFilter(field_name="location__code")
    product_level = django_filters.BooleanFilter(field_name="location", lookup_expr="isnull")
    model_version = django_filters.NumberFilter(field_name="model_version__version")

    class Meta:
        model = ElasticityEstimate
        fields = ["product", "location", "product_level", "model_version"]


class RecommendationFilter(django_filters.FilterSet):
    product = django_filters.CharFilter(field_name="product__sku")
    location = django_filters.CharFilter(field_name="location__code")

    class Meta:
        model = PriceRecommendation
        fields = ["product", "location", "status", "as_of", "binding_rule"]


class AlertFilter(django_filters.FilterSet):
    product = django_filters.CharFilter(field_name="product__sku")

    class Meta:
        model = CompetitorPriceAlert
        fields = ["product", "status", "direction"]


class AuditFilter(django_filters.FilterSet):
    product = django_filters.CharFilter(field_name="product__sku")

    class Meta:
        model = PriceChangeAudit
        fields = ["product", "action", "recommendation"]
