"""A seeded, realistic synthetic store for the demo when the real data (../shared/data) is absent.

``demo_generate(spec)`` is pure (numpy, no database): the same spec gives the same data. It builds:

- categories (Olist-style Portuguese names with English names), sellers (the store and marketplace
  partners), products with weight, dimensions, unit cost and list price, three warehouses, postal areas of
  Brazilian cities with their centres, customers (with a few very active buyers and many occasional ones),
  suppliers with lead times;
- daily demand per product = base × weekday factor × the category's yearly season (with a Black Friday
  spike) × growth × (effective price / list price) ^ elasticity × promotion lift, drawn Poisson, grouped
  into orders of 1-4 lines for customers;
- effective-dated list prices with occasional changes, planned future prices, and discount promotions
  (past and planned) that change both price and demand;
- order lifecycles by age (created .. delivered, a few canceled / unavailable), handling and transit
  times growing with the distance from the nearest warehouse, promised dates, shipments by two carriers;
- reviews in Portuguese, English and Chinese whose score follows the delivery (late orders score low)
  and whose text matches the score;
- opening stock per product and warehouse, written through the stock ledger (``stock_receive``).

``ingest.demo_loader.demo_load(data)`` writes it with the importers' idempotent upsert, so a second load
changes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

MONEY = Decimal("0.01")
SOURCE = "synthetic demo"

CITIES = [
    # city, state, latitude, longitude, zip prefix start, share of customers
    ("sao paulo", "SP", -23.55, -46.63, "01", 0.28),
    ("campinas", "SP", -22.91, -47.06, "13", 0.06),
    ("rio de janeiro", "RJ", -22.91, -43.17, "20", 0.14),
    ("belo horizonte", "MG", -19.92, -43.94, "30", 0.08),
    ("curitiba", "PR", -25.43, -49.27, "80", 0.07),
    ("porto alegre", "RS", -30.03, -51.23, "90", 0.06),
    ("florianopolis", "SC", -27.59, -48.55, "88", 0.03),
    ("salvador", "BA", -12.97, -38.50, "40", 0.06),
    ("recife", "PE", -8.05, -34.88, "50", 0.05),
    ("fortaleza", "CE", -3.73, -38.52, "60", 0.05),
    ("brasilia", "DF", -15.79, -47.88, "70", 0.06),
    ("goiania", "GO", -16.68, -49.25, "74", 0.03),
    ("manaus", "AM", -3.12, -60.02, "69", 0.015),
    ("belem", "PA", -1.46, -48.49, "66", 0.015),
]
WAREHOUSES = [
    ("WH-SP", "São Paulo distribution centre", "sao paulo", "SP", "01001", -23.55, -46.63),
    ("WH-PR", "Curitiba distribution centre", "curitiba", "PR", "80001", -25.43, -49.27),
    ("WH-PE", "Recife distribution centre", "recife", "PE", "50001", -8.05, -34.88),
]
CATEGORIES = [
    # name, English name, price range, weight range (g), peak day of year, season amplitude, nouns
    ("cama_mesa_banho", "bed_bath_table", (30, 250), (500, 4000), 350, 0.25,
     ["bath towel", "bed sheet set", "pillow", "duvet", "table cloth", "blanket"]),
    ("beleza_saude", "health_beauty", (15, 180), (100, 800), 130, 0.30,
     ["shampoo", "face cream", "perfume", "hair dryer", "sunscreen", "makeup kit"]),
    ("esporte_lazer", "sports_leisure", (40, 600), (300, 8000), 15, 0.35,
     ["yoga mat", "dumbbell set", "football", "bicycle helmet", "running shoes", "camping tent"]),
    ("informatica_acessorios", "computers_accessories", (25, 900), (100, 2500), 330, 0.30,
     ["wireless mouse", "keyboard", "usb hub", "headset", "webcam", "laptop stand"]),
    ("moveis_decoracao", "furniture_decor", (50, 1200), (1000, 25000), 350, 0.20,
     ["wall clock", "table lamp", "bookshelf", "picture frame", "office chair", "side table"]),
    ("utilidades_domesticas", "housewares", (15, 350), (200, 6000), 350, 0.20,
     ["frying pan", "knife set", "blender", "storage box", "coffee maker", "dish rack"]),
    ("brinquedos", "toys", (20, 400), (200, 3000), 285, 0.45,
     ["building blocks", "doll", "puzzle", "toy car", "board game", "plush bear"]),
]  # fmt: skip
ADJECTIVES = ["Classic", "Premium", "Compact", "Deluxe", "Eco", "Pro", "Essential", "Family", "Urban", "Soft"]
SELLERS = [
    ("DEMO-STORE", "ecomops demo store", "01001", "sao paulo", "SP"),
    ("DEMO-MKT-CASA", "Casa & Cia (marketplace)", "30001", "belo horizonte", "MG"),
    ("DEMO-MKT-TECH", "TecnoShop (marketplace)", "13001", "campinas", "SP"),
    ("DEMO-MKT-SUL", "Sul Esportes (marketplace)", "90001", "porto alegre", "RS"),
]
CARRIERS = [("DEMO-FAST", "Rápido Express", 0.8), ("DEMO-ECO", "Econômica Log", 1.2)]
SUPPLIERS = [
    ("SUP-NORTE", "Distribuidora Norte", 5.0, 1.5),
    ("SUP-IMPORT", "Importadora Atlântico", 21.0, 6.0),
    ("SUP-FAB", "Fábrica Paulista", 10.0, 3.0),
]
WEEKDAY_FACTOR = [1.12, 1.10, 1.05, 1.0, 0.93, 0.80, 0.90]  # Monday .. Sunday: online shopping peaks Monday
PAYMENT_TYPES = [("credit_card", 0.72), ("boleto", 0.19), ("voucher", 0.06), ("debit_card", 0.03)]
LANGUAGES = [("pt", 0.6), ("en", 0.25), ("zh", 0.15)]

REVIEW_TEXTS = {
    ("pt", "negative"): [
        ("Péssimo", "O produto chegou atrasado e a embalagem estava danificada."),
        ("Não recomendo", "Produto de baixa qualidade, parou de funcionar em uma semana."),
        ("Atraso na entrega", "Comprei há semanas e a entrega atrasou muito, ninguém responde."),
        ("", "Veio diferente do anúncio, estou muito insatisfeito."),
    ],
    ("pt", "neutral"): [
        ("Razoável", "O produto é ok, mas esperava um pouco mais pelo preço."),
        ("", "Chegou no prazo, qualidade mediana."),
    ],
    ("pt", "positive"): [
        ("Excelente", "Produto ótimo, chegou antes do prazo. Recomendo!"),
        ("Muito bom", "Bem embalado, entrega rápida e exatamente como descrito."),
        ("", "Adorei, superou minhas expectativas."),
    ],
    ("en", "negative"): [
        ("Terrible", "Arrived late and the box was damaged. Very disappointed."),
        ("Do not buy", "Poor quality, it broke after a few days."),
        ("", "Not as described and customer service never answered."),
    ],
    ("en", "neutral"): [
        ("It's okay", "Does the job, nothing special for the price."),
        ("", "Average quality, delivery was on time."),
    ],
    ("en", "positive"): [
        ("Great product", "Excellent quality and it arrived early. Highly recommend!"),
        ("Love it", "Well packed, fast delivery, exactly as described."),
        ("", "Works perfectly, very happy with this purchase."),
    ],
    ("zh", "negative"): [
        ("很差", "送货太慢了，包装也破了，非常失望。"),
        ("", "质量很差，用了几天就坏了，不推荐。"),
    ],
    ("zh", "neutral"): [
        ("一般", "东西还可以，就是价格有点贵。"),
        ("", "质量一般，送货准时。"),
    ],
    ("zh", "positive"): [
        ("非常好", "质量很好，送货很快，非常满意！"),
        ("", "包装完好，和描述一样，推荐购买。"),
    ],
}
SCORES_ON_TIME = [0.04, 0.04, 0.10, 0.25, 0.57]
SCORES_LATE = [0.45, 0.20, 0.15, 0.10, 0.10]


@dataclass(frozen=True)
class DemoSpec:
    """Size and seed of the synthetic store; ``end`` is the last day with orders ("today" of the demo)."""

    seed: int = 2026
    end: date = date(2026, 1, 1)
    days: int = 730
    products: int = 200
    customers: int = 1500
    orders_per_day: float = 18.0


@dataclass
class DemoData:
    """Plain rows keyed by natural keys (SKU, codes, external ids); ``demo_load`` resolves them to rows."""

    spec: DemoSpec
    categories: list[dict] = field(default_factory=list)
    sellers: list[dict] = field(default_factory=list)
    products: list[dict] = field(default_factory=list)
    warehouses: list[dict] = field(default_factory=list)
    zip_areas: list[dict] = field(default_factory=list)
    customers: list[dict] = field(default_factory=list)
    carriers: list[dict] = field(default_factory=list)
    suppliers: list[dict] = field(default_factory=list)
    supplier_products: list[dict] = field(default_factory=list)
    prices: list[dict] = field(default_factory=list)
    promotions: list[dict] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)
    payments: list[dict] = field(default_factory=list)
    shipments: list[dict] = field(default_factory=list)
    reviews: list[dict] = field(default_factory=list)
    stock: list[dict] = field(default_factory=list)


def _money(value: float) -> Decimal:
    return Decimal(str(round(float(value), 2))).quantize(MONEY, rounding=ROUND_HALF_UP)


def _shelf_price(value: float) -> float:
    """Round to a shelf price ending in .90 (49.90, 129.90)."""
    return max(round(value) - 0.10, 4.90)


def _km(lat1, lng1, lat2, lng2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(a))


def _at(day: date, hours: float) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=float(hours))


def _second(value: datetime) -> datetime:
    return value.replace(microsecond=0)


def _black_friday(year: int) -> date:
    last = date(year, 11, 30)
    return last - timedelta(days=(last.weekday() - 4) % 7)


def demo_generate(spec: DemoSpec) -> DemoData:
    """Generate the synthetic store described in the module docstring (deterministic for a spec)."""
    rng = np.random.default_rng(spec.seed)
    data = DemoData(spec=spec)
    start = spec.end - timedelta(days=spec.days - 1)
    days = [start + timedelta(days=i) for i in range(spec.days)]

    data.categories = [{"name": c[0], "name_en": c[1]} for c in CATEGORIES]
    data.sellers = [{"external_id": e, "name": n, "zip_prefix": z, "city": c, "state": s} for e, n, z, c, s in SELLERS]
    data.carriers = [{"code": code, "name": name} for code, name, _ in CARRIERS]
    data.suppliers = [
        {"code": code, "name": name, "lead_time_days": lead, "lead_time_std_days": std}
        for code, name, lead, std in SUPPLIERS
    ]

    # Geography: a few postal prefixes per city around its centre.
    areas = []
    for city, state, lat, lng, zip_start, share in CITIES:
        for i in range(4):
            areas.append(
                {
                    "prefix": f"{zip_start}{i + 1:03d}",
                    "latitude": round(lat + float(rng.normal(0, 0.04)), 5),
                    "longitude": round(lng + float(rng.normal(0, 0.04)), 5),
                    "city": city,
                    "state": state,
                    "points": 1,
                    "share": share / 4,
                }
            )
    data.zip_areas = [{k: v for k, v in a.items() if k != "share"} for a in areas]
    for code, name, city, state, zip_prefix, lat, lng in WAREHOUSES:
        data.warehouses.append(
            {
                "code": code,
                "name": name,
                "city": city,
                "state": state,
                "zip_prefix": zip_prefix,
                "latitude": lat,
                "longitude": lng,
            }
        )

    # Products.
    n = spec.products
    category_of = rng.integers(0, len(CATEGORIES), n)
    popularity = rng.lognormal(0.0, 0.9, n)
    elasticity = rng.uniform(-2.8, -0.8, n)
    list_price = np.zeros(n)
    for i in range(n):
        name, name_en, (lo, hi), (wlo, whi), _, _, nouns = CATEGORIES[category_of[i]]
        price = _shelf_price(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        list_price[i] = price
        weight = int(math.exp(rng.uniform(math.log(wlo), math.log(whi))))
        side = max(5, int(round((weight / 0.25) ** (1 / 3) * rng.uniform(0.7, 1.3))))
        seller = SELLERS[0][0] if rng.random() < 0.7 else SELLERS[1 + int(rng.integers(0, len(SELLERS) - 1))][0]
        data.products.append(
            {
                "sku": f"DEMO-{i + 1:04d}",
                "name": f"{ADJECTIVES[int(rng.integers(0, len(ADJECTIVES)))]} {nouns[int(rng.integers(0, len(nouns)))]}"
                f" {i + 1}",
                "category": name,
                "seller": seller,
                "weight_g": weight,
                "length_cm": side,
                "height_cm": max(2, int(side * rng.uniform(0.3, 1.0))),
                "width_cm": max(3, int(side * rng.uniform(0.5, 1.0))),
                "unit_cost": _money(price * rng.uniform(0.42, 0.68)),
                "list_price": _money(price),
            }
        )
        supplier = SUPPLIERS[int(rng.integers(0, len(SUPPLIERS)))][0]
        pack = int(rng.choice([1, 1, 6, 12]))
        data.supplier_products.append(
            {
                "supplier": supplier,
                "sku": f"DEMO-{i + 1:04d}",
                "pack_size": pack,
                "min_order_qty": pack * int(rng.integers(1, 4)),
                "unit_cost": data.products[-1]["unit_cost"],
            }
        )

    # Prices (effective-dated, with changes and planned future prices) and promotions.
    price_path = np.tile(list_price, (spec.days, 1))
    for i, product in enumerate(data.products):
        sku = product["sku"]
        current = list_price[i]
        data.prices.append({"sku": sku, "effective_from": start, "price": _money(current), "note": "opening price"})
        t = int(rng.integers(45, 150))
        while t < spec.days:
            current = _shelf_price(current * rng.uniform(0.9, 1.12))
            price_path[t:, i] = current
            data.prices.append(
                {"sku": sku, "effective_from": days[t], "price": _money(current), "note": "price change"}
            )
            t += int(rng.integers(60, 180))
        product["list_price"] = _money(current)
        if rng.random() < 0.3:
            planned = spec.end + timedelta(days=int(rng.integers(3, 31)))
            data.prices.append(
                {
                    "sku": sku,
                    "effective_from": planned,
                    "price": _money(_shelf_price(current * rng.uniform(0.92, 1.08))),
                    "note": "planned",
                }
            )
    promo = np.zeros((spec.days, n))
    for i, product in enumerate(data.products):
        taken = np.zeros(spec.days + 60, dtype=bool)
        for _ in range(int(rng.poisson(spec.days / 140))):
            begin = int(rng.integers(0, spec.days + 30))
            length = int(rng.integers(7, 15))
            if taken[max(0, begin - 14) : begin + length + 14].any():
                continue
            taken[begin : begin + length] = True
            pct = float(rng.choice([10, 15, 20, 25, 30]))
            first = start + timedelta(days=begin)
            data.promotions.append(
                {
                    "sku": product["sku"],
                    "kind": "discount",
                    "starts_on": first,
                    "ends_on": first + timedelta(days=length - 1),
                    "discount_pct": Decimal(f"{pct:.2f}"),
                }
            )
            promo[begin : min(begin + length, spec.days), i] = pct / 100

    # Daily demand: weekday × season × Black Friday × growth × price response × promotion lift.
    day_index = np.arange(spec.days)
    weekday = np.array([WEEKDAY_FACTOR[d.weekday()] for d in days])
    doy = np.array([d.timetuple().tm_yday for d in days])
    growth = 1.0 + 0.2 * day_index / 365.0
    spikes = np.ones(spec.days)
    for year in {d.year for d in days}:
        bf = _black_friday(year)
        for offset, lift in ((0, 3.0), (1, 1.8), (2, 1.5), (3, 1.8)):
            k = (bf + timedelta(days=offset) - start).days
            if 0 <= k < spec.days:
                spikes[k] = lift
    season = np.zeros((spec.days, n))
    for i in range(n):
        peak, amplitude = CATEGORIES[category_of[i]][4], CATEGORIES[category_of[i]][5]
        season[:, i] = 1 + amplitude * np.cos(2 * np.pi * (doy - peak) / 365.25)
    effective = price_path * (1 - promo)
    response = (effective / list_price[None, :]) ** elasticity[None, :] * np.where(promo > 0, 1.25, 1.0)
    shape = (weekday * spikes * growth)[:, None] * season * response * popularity[None, :]
    lines_per_order = 1.45
    scale = spec.orders_per_day * lines_per_order / shape.mean(axis=0).sum()
    units = rng.poisson(shape * scale)

    # Customers, with a long tail of activity.
    share = np.array([a["share"] for a in areas])
    area_of = rng.choice(len(areas), spec.customers, p=share / share.sum())
    activity = rng.lognormal(0, 1.1, spec.customers)
    activity /= activity.sum()
    for c in range(spec.customers):
        area = areas[area_of[c]]
        data.customers.append(
            {
                "external_id": f"DEMO-C{c + 1:05d}",
                "zip_prefix": area["prefix"],
                "city": area["city"],
                "state": area["state"],
            }
        )
    _orders(data, rng, days, units, effective, areas, area_of, activity)
    _stock(data, rng, units)
    return data


def _orders(data, rng, days, units, effective, areas, area_of, activity) -> None:
    spec = data.spec
    products = data.products
    end_at = _at(spec.end, 24)
    # Every random number an order needs, drawn at once (one order at most per unit sold).
    m = max(1, int(units.sum()))
    draw = {
        "size": np.minimum(rng.geometric(0.65, m), 4),
        "customer": rng.choice(spec.customers, m, p=activity),
        "hour": rng.choice([9, 11, 13, 15, 19, 20, 21, 22], m) + rng.random(m),
        "fast": rng.random(m) < 0.4,
        "approval": rng.exponential(3.0, m) + 0.1,
        "handling": 0.5 + rng.gamma(2.0, 0.6, m),
        "transit": rng.gamma(6.0, 1 / 6.0, m),
        "disrupted": np.where(rng.random(m) < 0.03, rng.uniform(3, 10, m), 0.0),
        "status": rng.random(m),
        "invoiced": rng.random(m) < 0.5,
        "payment": rng.choice(len(PAYMENT_TYPES), m, p=[w for _, w in PAYMENT_TYPES]),
        "installments": rng.poisson(1.0, m),
        "review": rng.random(m),
        "review_delay": rng.uniform(0.2, 5, m),
        "score_late": rng.choice(5, m, p=SCORES_LATE) + 1,
        "score_on_time": rng.choice(5, m, p=SCORES_ON_TIME) + 1,
        "score_canceled": rng.choice([1, 1, 1, 2, 3], m),
        "language": rng.choice(len(LANGUAGES), m, p=[w for _, w in LANGUAGES]),
        "text": rng.integers(0, 1000, m),
        "answered": rng.random(m) < 0.8,
        "answer_delay": rng.uniform(0.1, 3, m),
    }
    km_to = {}
    for a in areas:
        km_to[a["prefix"]] = min(
            _km(w["latitude"], w["longitude"], a["latitude"], a["longitude"]) for w in data.warehouses
        )
    k = review_no = 0
    for t, day in enumerate(days):
        items = np.repeat(np.arange(units.shape[1]), units[t])
        if not len(items):
            continue
        rng.shuffle(items)
        position = 0
        while position < len(items):
            size = int(draw["size"][k])
            basket = items[position : position + size]
            position += size
            quantities: dict[int, int] = {}
            for i in basket:
                quantities[int(i)] = quantities.get(int(i), 0) + 1
            customer = int(draw["customer"][k])
            area = areas[area_of[customer]]
            order_id = f"DEMO-O{k + 1:06d}"
            purchased = _second(_at(day, draw["hour"][k]))

            # Distance from the nearest warehouse drives handling, transit, freight and the promise.
            km = km_to[area["prefix"]]
            carrier_code, _, speed = CARRIERS[0 if draw["fast"][k] else 1]
            approved = _second(purchased + timedelta(hours=float(draw["approval"][k])))
            handling = float(draw["handling"][k]) + (1.0 if approved.weekday() >= 5 else 0.0)
            handed = _second(approved + timedelta(days=handling))
            transit = (1.0 + km / 400.0) * speed * float(draw["transit"][k]) + 0.3 + float(draw["disrupted"][k])
            delivered = _second(handed + timedelta(days=transit))
            typical = 0.2 + 1.7 + (1.0 + km / 400.0) + 0.3
            promised = purchased.date() + timedelta(days=int(math.ceil(typical * 1.25 + 1)))

            roll = float(draw["status"][k])
            if roll < 0.02:
                status = "canceled"
            elif roll < 0.025:
                status = "unavailable"
            elif delivered <= end_at:
                status = "delivered"
            elif handed <= end_at:
                status = "shipped"
            elif approved + timedelta(days=handling / 2) <= end_at:
                status = "processing"
            elif approved <= end_at:
                status = "invoiced" if draw["invoiced"][k] else "approved"
            else:
                status = "created"
            reached = {
                "approved_at": approved if status not in ("created", "unavailable") and approved <= end_at else None,
                "handed_to_carrier_at": handed if status in ("shipped", "delivered") else None,
                "delivered_at": delivered if status == "delivered" else None,
            }
            customer_id = data.customers[customer]["external_id"]
            data.orders.append(
                {
                    "external_id": order_id,
                    "customer": customer_id,
                    "customer_ref": f"{customer_id}-{k + 1}",
                    "status": status,
                    "purchased_at": purchased,
                    **reached,
                    "promised_delivery_date": promised,
                    "shipping_zip_prefix": area["prefix"],
                    "shipping_city": area["city"],
                    "shipping_state": area["state"],
                }
            )
            total = Decimal("0")
            for line_number, (i, quantity) in enumerate(sorted(quantities.items()), start=1):
                product = products[i]
                unit_price = _money(effective[t, i])
                freight = _money(6.0 + product["weight_g"] / 1000 * (1.2 + km / 800.0))
                total += unit_price * quantity + freight
                data.lines.append(
                    {
                        "order": order_id,
                        "line_number": line_number,
                        "sku": product["sku"],
                        "seller": product["seller"],
                        "quantity": quantity,
                        "unit_price": unit_price,
                        "freight": freight,
                        "shipping_limit_at": approved + timedelta(days=3),
                    }
                )
            kind = PAYMENT_TYPES[int(draw["payment"][k])][0]
            installments = 1
            if kind == "credit_card":
                installments = int(min(10, 1 + int(float(total) / 150) + int(draw["installments"][k])))
            data.payments.append(
                {"order": order_id, "sequential": 1, "type": kind, "installments": installments, "value": total}
            )
            if status in ("shipped", "delivered"):
                data.shipments.append(
                    {
                        "order": order_id,
                        "carrier": carrier_code,
                        "status": "delivered" if status == "delivered" else "in_transit",
                        "shipped_at": handed,
                        "delivered_at": reached["delivered_at"],
                        "estimated_delivery_date": promised,
                    }
                )
            review_at = None
            if status == "delivered" and draw["review"][k] < 0.7:
                review_at = _second(delivered + timedelta(days=float(draw["review_delay"][k])))
                late = delivered.date() > promised
                score = int(draw["score_late"][k] if late else draw["score_on_time"][k])
            elif status == "canceled" and draw["review"][k] < 0.6:
                review_at = _second(purchased + timedelta(days=2 + float(draw["review_delay"][k])))
                score = int(draw["score_canceled"][k])
            if review_at is not None and review_at <= end_at:
                review_no += 1
                language = LANGUAGES[int(draw["language"][k])][0]
                mood = "negative" if score <= 2 else "neutral" if score == 3 else "positive"
                options = REVIEW_TEXTS[(language, mood)]
                title, text = options[int(draw["text"][k]) % len(options)]
                answered = _second(review_at + timedelta(days=float(draw["answer_delay"][k])))
                data.reviews.append(
                    {
                        "external_id": f"DEMO-R{review_no:06d}",
                        "order": order_id,
                        "score": score,
                        "title": title,
                        "text": text,
                        "language": language,
                        "created_at_source": review_at,
                        "answered_at": answered if draw["answered"][k] and answered <= end_at else None,
                    }
                )
            k += 1


def _stock(data: DemoData, rng, units) -> None:
    """Opening stock per product and warehouse: 20-90 days of its recent demand plus a few; some pairs empty."""
    recent = units[-90:].mean(axis=0)
    for i, product in enumerate(data.products):
        for w in data.warehouses:
            if rng.random() < 0.06:
                continue
            days_of_cover = float(rng.uniform(20, 90))
            quantity = int(round(recent[i] / len(data.warehouses) * days_of_cover)) + int(rng.integers(2, 12))
            data.stock.append(
                {
                    "sku": product["sku"],
                    "warehouse": w["code"],
                    "quantity": quantity,
                    "key": f"demo:opening:{product['sku']}:{w['code']}",
                }
            )
