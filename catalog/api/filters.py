"""FilterSets of the catalog API."""

import django_filters

from catalog.models import Category, Customer, Product, Seller


class CategoryFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Category
        fields = ["name", "parent"]


class SellerFilter(django_filters.FilterSet):
    class Meta:
        model = Seller
        fields = ["external_id", "zip_prefix", "city", "state"]


class ProductFilter(django_filters.FilterSet):
    min_price = django_filters.NumberFilter(field_name="list_price", lookup_expr="gte")
    max_price = django_filters.NumberFilter(field_name="list_price", lookup_expr="lte")
    category_name = django_filters.CharFilter(field_name="category__name")
    seller_external_id = django_filters.CharFilter(field_name="seller__external_id")
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Product
        fields = ["sku", "status", "category", "seller"]


class CustomerFilter(django_filters.FilterSet):
    class Meta:
        model = Customer
        fields = ["external_id", "zip_prefix", "city", "state"]
