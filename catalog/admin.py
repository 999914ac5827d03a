"""Admin of the catalog: categories, sellers, products (CSV import/export by SKU) and customers."""

from django.contrib import admin
from import_export import fields, resources
from import_export.admin import ImportExportModelAdmin
from import_export.widgets import ForeignKeyWidget

from access.pii import mask_email, mask_name, user_sees_personal_data
from access.scoping import CustomerScopedAdmin

from .models import Category, Customer, Product, Seller


class CategoryNameWidget(ForeignKeyWidget):
    """A category by its name; a new name creates the category (an empty cell clears it)."""

    def clean(self, value, row=None, **kwargs):
        if not value:
            return None
        category, _ = Category.objects.get_or_create(name=str(value).strip())
        return category


class SellerExternalIdWidget(ForeignKeyWidget):
    """A seller by its external id; an unknown id is a row error naming the value."""

    def clean(self, value, row=None, **kwargs):
        if not value:
            return None
        seller = Seller.objects.filter(external_id=str(value).strip()).first()
        if seller is None:
            raise ValueError(f"unknown seller {value!r}")
        return seller


class ProductResource(resources.ModelResource):
    """CSV columns of products; rows are matched by SKU (a re-import updates, never duplicates)."""

    category = fields.Field(attribute="category", column_name="category", widget=CategoryNameWidget(Category, "name"))
    seller = fields.Field(
        attribute="seller", column_name="seller", widget=SellerExternalIdWidget(Seller, "external_id")
    )

    class Meta:
        model = Product
        import_id_fields = ["sku"]
        fields = [
            "sku",
            "name",
            "category",
            "seller",
            "weight_g",
            "length_cm",
            "height_cm",
            "width_cm",
            "unit_cost",
            "list_price",
            "status",
        ]
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "name_en", "parent", "created_at"]
    search_fields = ["name", "name_en"]
    autocomplete_fields = ["parent"]
    list_select_related = ["parent"]


@admin.register(Seller)
class SellerAdmin(admin.ModelAdmin):
    list_display = ["external_id", "name", "city", "state", "zip_prefix"]
    list_filter = ["state"]
    search_fields = ["external_id", "name", "city", "zip_prefix"]


@admin.register(Product)
class ProductAdmin(ImportExportModelAdmin):
    resource_classes = [ProductResource]
    list_display = ["sku", "name", "category", "seller", "list_price", "unit_cost", "weight_g", "status"]
    list_filter = ["status", "category"]
    search_fields = ["sku", "name", "category__name", "category__name_en"]
    autocomplete_fields = ["category", "seller"]
    list_select_related = ["category", "seller"]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(Customer)
class CustomerAdmin(CustomerScopedAdmin, admin.ModelAdmin):
    """Name and e-mail are shown masked to users without ``access.view_personal_data``."""

    list_display = ["external_id", "name_display", "email_display", "city", "state", "zip_prefix", "created_at"]
    list_filter = ["state"]
    search_fields = ["external_id", "city", "zip_prefix"]
    readonly_fields = ["created_at", "updated_at"]

    def get_list_display(self, request):
        self._sees_personal_data = user_sees_personal_data(request.user)
        return super().get_list_display(request)

    @admin.display(description="name", ordering="name")
    def name_display(self, customer: Customer) -> str:
        return customer.name if getattr(self, "_sees_personal_data", False) else mask_name(customer.name)

    @admin.display(description="e-mail", ordering="email")
    def email_display(self, customer: Customer) -> str:
        return customer.email if getattr(self, "_sees_personal_data", False) else mask_email(customer.email)

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if user_sees_personal_data(request.user):
            return fields
        return [f for f in fields if f not in ("name", "email")]


from . import admin_customers  # noqa: E402,F401  customer analytics admin (issue #8), registered after CustomerAdmin
