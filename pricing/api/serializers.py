"""Serializers of the pricing API. Products by SKU, locations by code."""

from rest_framework import serializers

from catalog.models import Product
from inventory.models import Location
from pricing.models import (
    CompetitorPrice,
    CompetitorPriceAlert,
    ElasticityEstimate,
    PriceChangeAudit,
    PriceHistory,
    PriceRecommendation,
    PricingRule,
    Promotion,
)


class SkuField(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Product.objects.all())
        super().__init__(slug_field="sku", **kwargs)


class LocationCodeField(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Location.objects.all())
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("required", False)
        super().__init__(slug_field="code", **kwargs)


class PriceHistorySerializer(serializers.ModelSerializer):
    product = SkuField()
    location = LocationCodeField()
    created_by = serializers.StringRelatedField(read_only=True)

    class Meta:
        model = PriceHistory
        fields = [
            "id",
            "product",
            "location",
            "price",
            "effective_from",
            "effective_to",
            "source",
            "note",
            "created_by",
            "created_at",
        ]
        read_only_fields = ["source", "created_by", "created_at"]
        # a row for the same product, location and day replaces the price (price_plan upserts)
        validators = []


class PromotionSerializer(serializers.ModelSerializer):
    product = SkuField()
    location = LocationCodeField()

    class Meta:
        model = Promotion
        fields = ["id", "product", "location", "kind", "starts_on", "ends_on", "discount_pct", "created_at"]
        validators = []  # the conditional unique constraints are checked in validate (location may be empty)

    def validate(self, attrs):
        def value(name):
            return attrs.get(name, getattr(self.instance, name, None))

        if value("ends_on") and value("starts_on") and value("ends_on") < value("starts_on"):
            raise serializers.ValidationError({"ends_on": "must not be before starts_on"})
        duplicates = Promotion.objects.filter(
            product=value("product"), location=value("location"), kind=value("kind"), starts_on=value("starts_on")
        )
        if self.instance is not None:
            duplicates = duplicates.exclude(pk=self.instance.pk)
        if duplicates.exists():
            raise serializers.ValidationError(
                {"starts_on": "a promotion of this kind already starts that day for this product and location"}
            )
        return attrs


class CompetitorPriceSerializer(serializers.ModelSerializer):
    product = SkuField()

    class Meta:
        model = CompetitorPrice
        fields = ["id", "product", "competitor", "price", "observed_at", "url", "source", "created_at"]
        validators = []  # upsert on (product, competitor, observed_at) in competitor_price_record

    def validate_price(self, value):
        if value <= 0:
            raise serializers.ValidationError("must be positive")
        return value


class CompetitorPriceBulkRowSerializer(serializers.Serializer):
    """One row of ``POST /api/v1/pricing/competitor-prices/bulk/``."""

    product = serializers.CharField(help_text="SKU")
    competitor = serializers.CharField(max_length=128)
    price = serializers.DecimalField(max_digits=12, decimal_places=4)
    observed_at = serializers.DateTimeField()
    url = serializers.URLField(required=False, allow_blank=True, default="")
    source = serializers.CharField(required=False, default="api", max_length=32)

    def validate_product(self, value):
        product = self.context.get("bulk", {}).get("products", {}).get(value)
        if product is None:
            raise serializers.ValidationError(f"unknown SKU {value!r}")
        return product

    def validate_price(self, value):
        if value <= 0:
            raise serializers.ValidationError("must be positive")
        return value


class ElasticityEstimateSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product.sku")
    location = serializers.CharField(source="location.code", default=None)
    model_version = serializers.SerializerMethodField()

    class Meta:
        model = ElasticityEstimate
        fields = [
            "id",
            "product",
            "location",
            "elasticity",
            "low",
            "high",
            "n_obs",
            "flags",
            "explanation",
            "cross_elasticities",
            "model_version",
            "created_at",
        ]

    def get_model_version(self, obj) -> str:
        return f"{obj.model_version.registered_model.name}:v{obj.model_version.version}"


class PriceRecommendationSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product.sku")
    location = serializers.CharField(source="location.code", default=None)
    decided_by = serializers.StringRelatedField()
    model_version = serializers.SerializerMethodField()

    class Meta:
        model = PriceRecommendation
        fields = [
            "id",
            "product",
            "location",
            "as_of",
            "effective_from",
            "current_price",
            "recommended_price",
            "unit_cost",
            "cost_assumed",
            "competitor_price",
            "elasticity",
            "elasticity_low",
            "elasticity_high",
            "expected_units_current",
            "expected_units",
            "expected_revenue_current",
            "expected_revenue",
            "expected_profit_current",
            "expected_profit",
            "binding_rule",
            "demand_curve",
            "status",
            "decided_by",
            "decided_at",
            "reason",
            "applied_price",
            "model_version",
            "created_at",
        ]
        read_only_fields = fields

    def get_model_version(self, obj) -> str | None:
        version = obj.model_version
        return f"{version.registered_model.name}:v{version.version}" if version else None


class DecisionSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)
    effective_from = serializers.DateField(required=False)


class RecommendSerializer(serializers.Serializer):
    as_of = serializers.DateField(required=False)
    select = serializers.BooleanField(required=False, default=True)


class PricingRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = PricingRule
        fields = [
            "id",
            "category",
            "objective",
            "min_margin",
            "max_step",
            "price_ending",
            "competitor_below",
            "competitor_above",
            "alert_threshold",
            "overstock_days",
            "scarce_days",
            "updated_at",
        ]

    def validate_price_ending(self, value):
        if value and not value.isdigit():
            raise serializers.ValidationError("digits only, such as 99 (x.99) or 9 (x.x9)")
        return value

    def validate(self, attrs):
        category = attrs.get("category", getattr(self.instance, "category", None))
        if category is None:
            others = PricingRule.objects.filter(category__isnull=True)
            if self.instance is not None:
                others = others.exclude(pk=self.instance.pk)
            if others.exists():
                raise serializers.ValidationError({"category": "there is already a default rule (no category)"})
        return attrs


class CompetitorPriceAlertSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product.sku")
    competitor = serializers.CharField(source="competitor_price.competitor")
    competitor_price_value = serializers.DecimalField(source="competitor_price.price", max_digits=12, decimal_places=4)

    class Meta:
        model = CompetitorPriceAlert
        fields = [
            "id",
            "product",
            "competitor",
            "competitor_price_value",
            "our_price",
            "gap",
            "threshold",
            "direction",
            "status",
            "created_at",
        ]
        read_only_fields = fields


class PriceChangeAuditSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product.sku")
    location = serializers.CharField(source="location.code", default=None)
    changed_by = serializers.StringRelatedField()

    class Meta:
        model = PriceChangeAudit
        fields = [
            "id",
            "product",
            "location",
            "action",
            "from_price",
            "to_price",
            "effective_from",
            "changed_by",
            "changed_at",
            "reason",
            "recommendation",
            "price_history",
        ]
        read_only_fields = fields
