"""Serializers of the catalog API."""

from rest_framework import serializers

from access.pii import mask_email, mask_name, user_sees_personal_data
from catalog.models import Category, Customer, Product, Seller


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "name_en", "parent", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class SellerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Seller
        fields = ["id", "external_id", "name", "zip_prefix", "city", "state", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class ProductSerializer(serializers.ModelSerializer):
    category_name = serializers.StringRelatedField(source="category", read_only=True, allow_null=True)
    seller_external_id = serializers.CharField(
        source="seller.external_id", read_only=True, default=None, allow_null=True
    )
    volume_cm3 = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "sku",
            "name",
            "category",
            "category_name",
            "seller",
            "seller_external_id",
            "weight_g",
            "length_cm",
            "height_cm",
            "width_cm",
            "volume_cm3",
            "unit_cost",
            "list_price",
            "status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class CustomerSerializer(serializers.ModelSerializer):
    """Name and e-mail are masked for users without ``access.view_personal_data``."""

    class Meta:
        model = Customer
        fields = ["id", "external_id", "name", "email", "zip_prefix", "city", "state", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is not None and not user_sees_personal_data(request.user):
            data["name"] = mask_name(data["name"])
            data["email"] = mask_email(data["email"])
        return data


class ProductBulkRowSerializer(serializers.Serializer):
    """One row of ``POST /api/v1/products/bulk/``: a product by SKU, category by name, seller by external id."""

    sku = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=255, required=False, allow_blank=True)
    category = serializers.CharField(
        max_length=128, required=False, allow_null=True, allow_blank=True, help_text="Category name (created if new)."
    )
    category_en = serializers.CharField(max_length=128, required=False, allow_blank=True)
    seller = serializers.CharField(
        max_length=64, required=False, allow_null=True, allow_blank=True, help_text="Seller external id."
    )
    weight_g = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    length_cm = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    height_cm = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    width_cm = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    unit_cost = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True)
    list_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True)
    status = serializers.ChoiceField(choices=Product.Status.choices, required=False)

    def validate_seller(self, value):
        if not value:
            return None
        sellers = self.context["bulk"]["sellers"]
        if value not in sellers:
            raise serializers.ValidationError(f"unknown seller {value!r}")
        return sellers[value]


class CustomerBulkRowSerializer(serializers.Serializer):
    """One row of ``POST /api/v1/customers/bulk/``: a customer by external id."""

    external_id = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=128, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    zip_prefix = serializers.CharField(max_length=8, required=False, allow_blank=True)
    city = serializers.CharField(max_length=128, required=False, allow_blank=True)
    state = serializers.CharField(max_length=8, required=False, allow_blank=True)
