"""ViewSets of the catalog API."""

from rest_framework import viewsets

from catalog.models import Category, Customer, Product, Seller
from ecomops.api.bulk import BulkUpsertMixin, upsert_by_natural_key
from ecomops.api.idempotency import IdempotentCreateMixin

from . import filters, serializers


class CategoryViewSet(IdempotentCreateMixin, viewsets.ModelViewSet):
    queryset = Category.objects.select_related("parent").order_by("name", "pk")
    serializer_class = serializers.CategorySerializer
    filterset_class = filters.CategoryFilter
    search_fields = ["name", "name_en"]
    ordering_fields = ["name", "name_en", "created_at"]


class SellerViewSet(IdempotentCreateMixin, viewsets.ModelViewSet):
    queryset = Seller.objects.order_by("external_id", "pk")
    serializer_class = serializers.SellerSerializer
    filterset_class = filters.SellerFilter
    search_fields = ["external_id", "name", "city"]
    ordering_fields = ["external_id", "name", "state", "created_at"]


class ProductViewSet(IdempotentCreateMixin, BulkUpsertMixin, viewsets.ModelViewSet):
    queryset = Product.objects.select_related("category", "seller").order_by("sku", "pk")
    serializer_class = serializers.ProductSerializer
    filterset_class = filters.ProductFilter
    search_fields = ["sku", "name", "category__name", "category__name_en"]
    ordering_fields = ["sku", "name", "list_price", "unit_cost", "created_at", "updated_at"]
    bulk_serializer_class = serializers.ProductBulkRowSerializer

    def bulk_prepare(self, rows):
        dicts = [row for row in rows if isinstance(row, dict)]
        seller_ids = {str(row["seller"]) for row in dicts if row.get("seller")}
        skus = {str(row["sku"]) for row in dicts if row.get("sku")}
        return {
            "sellers": {s.external_id: s for s in Seller.objects.filter(external_id__in=seller_ids)},
            "products": {p.sku: p for p in Product.objects.filter(sku__in=skus)},
            "categories": {},
        }

    def bulk_upsert_row(self, data, *, prepared, request):
        category_en = data.pop("category_en", "")
        if "category" in data:  # absent: keep the product's category; null or "": clear it
            category_name = data.pop("category")
            category = None
            if category_name:
                category = prepared["categories"].get(category_name)
                if category is None:
                    category, _ = Category.objects.get_or_create(name=category_name, defaults={"name_en": category_en})
                    prepared["categories"][category_name] = category
            data["category"] = category
        sku = data.pop("sku")
        product, outcome = upsert_by_natural_key(
            Product, lookup={"sku": sku}, values=data, existing=prepared["products"].get(sku)
        )
        prepared["products"][sku] = product
        return product, outcome


class CustomerViewSet(IdempotentCreateMixin, BulkUpsertMixin, viewsets.ModelViewSet):
    queryset = Customer.objects.order_by("external_id", "pk")
    serializer_class = serializers.CustomerSerializer
    filterset_class = filters.CustomerFilter
    search_fields = ["external_id", "city"]
    ordering_fields = ["external_id", "state", "created_at"]
    bulk_serializer_class = serializers.CustomerBulkRowSerializer

    def bulk_prepare(self, rows):
        ids = {str(row["external_id"]) for row in rows if isinstance(row, dict) and row.get("external_id")}
        return {"customers": {c.external_id: c for c in Customer.objects.filter(external_id__in=ids)}}

    def bulk_upsert_row(self, data, *, prepared, request):
        external_id = data.pop("external_id")
        customer, outcome = upsert_by_natural_key(
            Customer, lookup={"external_id": external_id}, values=data, existing=prepared["customers"].get(external_id)
        )
        prepared["customers"][external_id] = customer
        return customer, outcome
