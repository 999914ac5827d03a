"""Write the synthetic demo store (``ingest.demo``) into the database, idempotently; stock via the ledger."""

from __future__ import annotations

import time

from catalog.models import Category, Customer, Product, Seller
from feedback.models import Review
from inventory.models import Location, StockMovement, Supplier, SupplierProduct
from inventory.services import stock_receive
from logistics.models import Carrier, Shipment, ZipArea
from orders.models import Order, OrderLine, Payment
from pricing.models import PriceHistory, Promotion

from .demo import SOURCE, DemoData
from .report import ImportReport
from .upsert import Incoming, import_lock, pk_map, upsert


def demo_load(data: DemoData) -> ImportReport:
    """Write the generated store idempotently (natural keys + upsert); stock through the ledger."""
    with import_lock():
        return _demo_load(data)


def _demo_load(data: DemoData) -> ImportReport:
    started = time.perf_counter()
    spec = data.spec
    report = ImportReport(source=f"{SOURCE} (seed {spec.seed}, {spec.days} days to {spec.end})")
    section = report.file(SOURCE)

    def reject(row: Incoming, reason: str) -> None:
        section.rejected += 1
        report.reject(file=SOURCE, line=row.line, field="-", reason=reason)

    def put(model, rows, key, label=None, conflict=True, where=None):
        rows = list(rows)
        section.read += len(rows)
        fields = [f for f in rows[0] if f not in key] if rows else []
        upsert(
            model=model,
            rows=[Incoming(i + 1, r) for i, r in enumerate(rows)],
            key=key,
            fields=fields,
            conflict_upsert=conflict,
            count=section.table(label or model._meta.label),
            on_error=reject,
            where=where,
        )

    put(Category, data.categories, ["name"])
    category = pk_map(Category, "name", [c["name"] for c in data.categories])
    put(Seller, data.sellers, ["external_id"])
    seller = pk_map(Seller, "external_id", [s["external_id"] for s in data.sellers])
    put(ZipArea, data.zip_areas, ["prefix"])
    put(
        Location,
        [{**w, "kind": Location.Kind.WAREHOUSE, "attributes": {"demo_seed": spec.seed, "demo_end": spec.end.isoformat()}}
         for w in data.warehouses],
        ["code"],
    )  # fmt: skip
    location = pk_map(Location, "code", [w["code"] for w in data.warehouses])
    put(Carrier, data.carriers, ["code"])
    carrier = pk_map(Carrier, "code", [c["code"] for c in data.carriers])
    put(Supplier, data.suppliers, ["code"])
    supplier = pk_map(Supplier, "code", [s["code"] for s in data.suppliers])
    put(
        Product,
        [
            {**{k: v for k, v in p.items() if k not in ("category", "seller")},
             "category_id": category[p["category"]], "seller_id": seller[p["seller"]]}
            for p in data.products
        ],
        ["sku"],
    )  # fmt: skip
    product = pk_map(Product, "sku", [p["sku"] for p in data.products])
    put(
        SupplierProduct,
        [
            {"supplier_id": supplier[s["supplier"]], "product_id": product[s["sku"]], "pack_size": s["pack_size"],
             "min_order_qty": s["min_order_qty"], "unit_cost": s["unit_cost"], "is_preferred": True}
            for s in data.supplier_products
        ],
        ["product_id", "supplier_id"],
    )  # fmt: skip
    put(
        PriceHistory,
        [
            {"product_id": product[p["sku"]], "effective_from": p["effective_from"], "location_id": None,
             "price": p["price"], "source": PriceHistory.Source.IMPORT, "note": p["note"]}
            for p in data.prices
        ],
        ["product_id", "effective_from"],
        conflict=False,
        where={"location__isnull": True},
    )  # fmt: skip
    put(
        Promotion,
        [
            {"product_id": product[p["sku"]], "kind": p["kind"], "starts_on": p["starts_on"], "location_id": None,
             "ends_on": p["ends_on"], "discount_pct": p["discount_pct"]}
            for p in data.promotions
        ],
        ["product_id", "kind", "starts_on"],
        conflict=False,
        where={"location__isnull": True},
    )  # fmt: skip
    put(Customer, data.customers, ["external_id"])
    customer = pk_map(Customer, "external_id", [c["external_id"] for c in data.customers])
    put(
        Order,
        [
            {**{k: v for k, v in o.items() if k != "customer"}, "customer_id": customer[o["customer"]]}
            for o in data.orders
        ],
        ["external_id"],
    )
    order = pk_map(Order, "external_id", [o["external_id"] for o in data.orders])
    put(
        OrderLine,
        [
            {**{k: v for k, v in line.items() if k not in ("order", "sku", "seller")},
             "order_id": order[line["order"]], "product_id": product[line["sku"]], "seller_id": seller[line["seller"]]}
            for line in data.lines
        ],
        ["order_id", "line_number"],
    )  # fmt: skip
    put(
        Payment,
        [{**{k: v for k, v in p.items() if k != "order"}, "order_id": order[p["order"]]} for p in data.payments],
        ["order_id", "sequential"],
    )
    put(
        Shipment,
        [
            {**{k: v for k, v in s.items() if k not in ("order", "carrier")},
             "order_id": order[s["order"]], "carrier_id": carrier[s["carrier"]]}
            for s in data.shipments
        ],
        ["order_id", "carrier_id"],
        conflict=False,
    )  # fmt: skip
    put(
        Review,
        [
            {**{k: v for k, v in r.items() if k != "order"}, "order_id": order[r["order"]],
             "source": Review.Source.STORE, "channel": ""}
            for r in data.reviews
        ],
        ["order_id", "external_id", "source"],
        conflict=False,
    )  # fmt: skip

    # Stock goes through the ledger: one receipt per product and warehouse, idempotent by its key.
    count = section.table("inventory.StockMovement")
    done = set(StockMovement.objects.filter(idempotency_key__startswith="demo:opening:").values_list(
        "idempotency_key", flat=True
    ))  # fmt: skip
    products = Product.objects.in_bulk(list(product.values()))
    locations = Location.objects.in_bulk(list(location.values()))
    for s in data.stock:
        section.read += 1
        if s["key"] in done:
            count.unchanged += 1
            continue
        stock_receive(
            product=products[product[s["sku"]]],
            location=locations[location[s["warehouse"]]],
            quantity=s["quantity"],
            key=s["key"],
            reference="demo opening stock",
        )
        count.created += 1
    report.seconds = time.perf_counter() - started
    return report
