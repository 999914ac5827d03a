"""Admin of orders with their lines and payments inline."""

from django.contrib import admin

from access.scoping import CustomerScopedAdmin

from .models import Order, OrderLine, Payment


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    autocomplete_fields = ["product", "seller"]
    fields = ["line_number", "product", "seller", "quantity", "unit_price", "freight", "shipping_limit_at"]


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    fields = ["sequential", "type", "installments", "value"]


@admin.register(Order)
class OrderAdmin(CustomerScopedAdmin, admin.ModelAdmin):
    list_display = ["external_id", "customer", "status", "purchased_at", "promised_delivery_date", "delivered_at"]
    list_filter = ["status", "shipping_state"]
    search_fields = ["external_id", "customer__external_id", "customer_ref"]
    date_hierarchy = "purchased_at"
    autocomplete_fields = ["customer"]
    list_select_related = ["customer"]
    inlines = [OrderLineInline, PaymentInline]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(OrderLine)
class OrderLineAdmin(CustomerScopedAdmin, admin.ModelAdmin):
    list_display = ["order", "line_number", "product", "seller", "quantity", "unit_price", "freight"]
    search_fields = ["order__external_id", "product__sku"]
    autocomplete_fields = ["order", "product", "seller"]
    list_select_related = ["order", "product", "seller"]


@admin.register(Payment)
class PaymentAdmin(CustomerScopedAdmin, admin.ModelAdmin):
    list_display = ["order", "sequential", "type", "installments", "value"]
    list_filter = ["type"]
    search_fields = ["order__external_id"]
    autocomplete_fields = ["order"]
    list_select_related = ["order"]
