"""Inventory writes: the stock ledger.

Every change of stock is a :class:`~inventory.models.StockMovement` written by
:func:`stock_movement_record`; the :class:`~inventory.models.StockLevel` row is only ever changed there,
under a row lock, with ``F()`` updates. Each movement carries a unique idempotency key, so a retried call
(a replayed request, a re-run task) never applies the same change twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import operator
from dataclasses import dataclass, field
from functools import reduce

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from catalog.models import Product

from .models import Location, StockLevel, StockMovement

logger = logging.getLogger(__name__)

Reason = StockMovement.Reason


class StockError(Exception):
    """Base of the ledger's domain errors (the API and admin show their message)."""


class InsufficientStock(StockError):
    """A movement would take on hand or reserved below zero, or reserve more than is on hand."""

    def __init__(self, *, product: Product, location: Location, requested: int, available: int, what: str = "stock"):
        self.product = product
        self.location = location
        self.requested = requested
        self.available = available
        self.what = what
        super().__init__(
            f"insufficient {what} of {product.sku} at {location.code}: requested {requested}, available {available}"
        )


class IdempotencyConflict(StockError):
    """The idempotency key was already used for a different movement."""

    def __init__(self, *, key: str, existing: StockMovement):
        self.key = key
        self.existing = existing
        super().__init__(
            f"idempotency key {key!r} was already used for a different movement "
            f"(#{existing.pk}: {existing.reason} on hand {existing.on_hand_delta:+d}, "
            f"reserved {existing.reserved_delta:+d}, product {existing.product_id}, location {existing.location_id})"
        )


@dataclass(frozen=True)
class StockLine:
    """One line of a multi-line stock operation (a basket)."""

    product: Product
    location: Location
    quantity: int


def _lock_level(*, product: Product, location: Location, create: bool = True) -> StockLevel | None:
    """The level row of the pair, locked until the transaction ends (created at zero when missing)."""
    queryset = StockLevel.objects.select_for_update()
    if create:
        level, _ = queryset.get_or_create(product=product, location=location)
        return level
    return queryset.filter(product=product, location=location).first()


def _same_movement(existing: StockMovement, *, product, location, on_hand_delta, reserved_delta, reason) -> bool:
    return (
        existing.product_id == product.pk
        and existing.location_id == location.pk
        and existing.on_hand_delta == on_hand_delta
        and existing.reserved_delta == reserved_delta
        and existing.reason == reason
    )


def _check_deltas(*, level: StockLevel, product, location, on_hand_delta: int, reserved_delta: int) -> None:
    """Raise InsufficientStock before the database constraints would be violated."""
    new_on_hand = level.on_hand + on_hand_delta
    new_reserved = level.reserved + reserved_delta
    if new_reserved < 0:
        raise InsufficientStock(
            product=product, location=location, requested=-reserved_delta, available=level.reserved, what="reserved"
        )
    if new_on_hand < 0:
        raise InsufficientStock(product=product, location=location, requested=-on_hand_delta, available=level.on_hand)
    if new_reserved > new_on_hand:
        # Reserving more than is free, or taking away stock that is already promised to orders.
        requested = reserved_delta - on_hand_delta
        raise InsufficientStock(product=product, location=location, requested=requested, available=level.available)


def stock_movement_record(
    *,
    product: Product,
    location: Location,
    on_hand_delta: int = 0,
    reserved_delta: int = 0,
    reason: str,
    key: str,
    reference: str = "",
    user=None,
) -> StockMovement:
    """Write one ledger movement and apply it to the stock level, exactly once per ``key``.

    A repeated ``key`` returns the movement already written; the same key with different values raises
    :class:`IdempotencyConflict`. A movement that would make on hand or reserved negative, or reserved
    exceed on hand, raises :class:`InsufficientStock` and changes nothing.
    """
    if not key:
        raise ValueError("a stock movement needs an idempotency key")
    if reason not in Reason.values:
        raise ValueError(f"unknown stock movement reason {reason!r}; expected one of {', '.join(Reason.values)}")
    on_hand_delta, reserved_delta = int(on_hand_delta), int(reserved_delta)
    values = dict(
        product=product, location=location, on_hand_delta=on_hand_delta, reserved_delta=reserved_delta, reason=reason
    )
    with transaction.atomic():
        level = _lock_level(product=product, location=location)
        # Looked up after taking the lock: a concurrent call with the same key has committed by now.
        existing = StockMovement.objects.filter(idempotency_key=key).first()
        if existing is not None:
            if not _same_movement(existing, **values):
                raise IdempotencyConflict(key=key, existing=existing)
            return existing
        _check_deltas(
            level=level, product=product, location=location, on_hand_delta=on_hand_delta, reserved_delta=reserved_delta
        )
        StockLevel.objects.filter(pk=level.pk).update(
            on_hand=F("on_hand") + on_hand_delta, reserved=F("reserved") + reserved_delta, updated_at=timezone.now()
        )
        try:
            with transaction.atomic():
                movement = StockMovement.objects.create(
                    **values, idempotency_key=key, reference=reference[:128], created_by=user
                )
        except IntegrityError:
            # The same key on another product/location raced us: the unique key is the last defence.
            existing = StockMovement.objects.get(idempotency_key=key)
            raise IdempotencyConflict(key=key, existing=existing)
    logger.debug("stock movement %s", movement)
    return movement


def _positive(quantity: int) -> int:
    quantity = int(quantity)
    if quantity <= 0:
        raise ValueError(f"quantity must be a positive whole number, got {quantity}")
    return quantity


def stock_receive(
    *, product: Product, location: Location, quantity: int, key: str, reference: str = "", user=None
) -> StockMovement:
    """Goods arrive: on hand goes up by ``quantity``."""
    return stock_movement_record(
        product=product,
        location=location,
        on_hand_delta=_positive(quantity),
        reason=Reason.RECEIPT,
        key=key,
        reference=reference,
        user=user,
    )


def stock_reserve(
    *, product: Product, location: Location, quantity: int, key: str, reference: str = "", user=None
) -> StockMovement:
    """Set ``quantity`` aside for an order: reserved goes up; fails when less than that is available."""
    return stock_movement_record(
        product=product,
        location=location,
        reserved_delta=_positive(quantity),
        reason=Reason.RESERVATION,
        key=key,
        reference=reference,
        user=user,
    )


def stock_release(
    *, product: Product, location: Location, quantity: int, key: str, reference: str = "", user=None
) -> StockMovement:
    """Give back a reservation (order canceled): reserved goes down."""
    return stock_movement_record(
        product=product,
        location=location,
        reserved_delta=-_positive(quantity),
        reason=Reason.RELEASE,
        key=key,
        reference=reference,
        user=user,
    )


def stock_ship(
    *, product: Product, location: Location, quantity: int, key: str, reference: str = "", user=None
) -> StockMovement:
    """Reserved goods leave: on hand and reserved both go down by ``quantity``."""
    quantity = _positive(quantity)
    return stock_movement_record(
        product=product,
        location=location,
        on_hand_delta=-quantity,
        reserved_delta=-quantity,
        reason=Reason.SALE,
        key=key,
        reference=reference,
        user=user,
    )


def stock_adjust(
    *, product: Product, location: Location, delta: int, key: str, reference: str = "", user=None
) -> StockMovement:
    """Correct on hand by ``delta`` (damage, loss, found goods); cannot take away reserved stock."""
    delta = int(delta)
    if delta == 0:
        raise ValueError("an adjustment needs a non-zero delta")
    return stock_movement_record(
        product=product,
        location=location,
        on_hand_delta=delta,
        reason=Reason.ADJUSTMENT,
        key=key,
        reference=reference,
        user=user,
    )


def stock_count(
    *, product: Product, location: Location, counted: int, key: str, reference: str = "", user=None
) -> StockMovement:
    """Set on hand to a counted figure by writing the difference as a ``count`` movement.

    The difference is computed under the row lock. A repeated ``key`` returns the first count's movement
    (a count replayed later must not move stock again).
    """
    counted = int(counted)
    if counted < 0:
        raise ValueError(f"a counted quantity cannot be negative, got {counted}")
    with transaction.atomic():
        level = _lock_level(product=product, location=location)
        existing = StockMovement.objects.filter(idempotency_key=key).first()
        if existing is not None:
            if existing.reason != Reason.COUNT or (existing.product_id, existing.location_id) != (
                product.pk,
                location.pk,
            ):
                raise IdempotencyConflict(key=key, existing=existing)
            return existing
        return stock_movement_record(
            product=product,
            location=location,
            on_hand_delta=counted - level.on_hand,
            reason=Reason.COUNT,
            key=key,
            reference=reference,
            user=user,
        )


def stock_reserve_many(
    *, lines: list[StockLine], key_prefix: str, reference: str = "", user=None
) -> list[StockMovement]:
    """Reserve every line of a basket or none of them.

    All the level rows are locked first, in primary-key order, so two baskets that share products never
    wait on each other in opposite orders (no deadlock). Lines for the same product and location are
    merged; each movement's key is ``{key_prefix}:{product_pk}:{location_pk}``.
    """
    merged: dict[tuple[int, int], StockLine] = {}
    for line in lines:
        quantity = _positive(line.quantity)
        pair = (line.product.pk, line.location.pk)
        if pair in merged:
            quantity += merged[pair].quantity
        merged[pair] = StockLine(product=line.product, location=line.location, quantity=quantity)
    with transaction.atomic():
        locked = list(
            StockLevel.objects.select_for_update()
            .filter(reduce(operator.or_, (Q(product_id=p, location_id=loc) for p, loc in merged), Q(pk__in=[])))
            .order_by("pk")
        )
        by_pair = {(level.product_id, level.location_id): level for level in locked}
        movements = []
        # Missing levels have nothing to reserve; they fail below with available 0 (after the locked ones).
        ordered = sorted(merged.items(), key=lambda item: by_pair[item[0]].pk if item[0] in by_pair else 0)
        for pair, line in ordered:
            if pair not in by_pair:
                raise InsufficientStock(
                    product=line.product, location=line.location, requested=line.quantity, available=0
                )
            movements.append(
                stock_reserve(
                    product=line.product,
                    location=line.location,
                    quantity=line.quantity,
                    key=f"{key_prefix}:{pair[0]}:{pair[1]}",
                    reference=reference,
                    user=user,
                )
            )
    return movements


@dataclass
class StockImportReport:
    """What a stock CSV import did: counts and, for each rejected line, the field and reason."""

    rows_read: int = 0
    applied: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # (line, field, reason)


def stock_import_csv(*, text: str, source_name: str = "upload", user=None) -> StockImportReport:
    """Apply a stock CSV through the ledger: ``sku,location,counted`` (a count) or ``sku,location,delta``.

    Each line is a ``count`` or ``adjustment`` movement keyed by the file's sha256 and the line number, so
    importing the same file again changes nothing. Bad lines are reported and skipped; good ones apply.
    """
    digest = hashlib.sha256(text.encode()).hexdigest()[:20]
    report = StockImportReport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = {c.strip().lower() for c in (reader.fieldnames or [])}
    missing = {"sku", "location"} - columns
    if missing or not ({"counted", "delta"} & columns):
        needed = ", ".join(sorted(missing | ({"counted or delta"} if not {"counted", "delta"} & columns else set())))
        report.rejected.append((1, "header", f"{source_name}: missing column(s) {needed}"))
        return report
    rows = [{(k or "").strip().lower(): (v or "").strip() for k, v in row.items()} for row in reader]
    products = {p.sku: p for p in Product.objects.filter(sku__in={r.get("sku") for r in rows})}
    locations = {loc.code: loc for loc in Location.objects.filter(code__in={r.get("location") for r in rows})}
    for number, row in enumerate(rows, start=2):
        report.rows_read += 1
        product, location = products.get(row.get("sku", "")), locations.get(row.get("location", ""))
        if product is None:
            report.rejected.append((number, "sku", f"unknown SKU {row.get('sku', '')!r}"))
            continue
        if location is None:
            report.rejected.append((number, "location", f"unknown location {row.get('location', '')!r}"))
            continue
        counted, delta = row.get("counted", ""), row.get("delta", "")
        if bool(counted) == bool(delta):
            report.rejected.append((number, "counted", "give either counted or delta (exactly one)"))
            continue
        name, raw = ("counted", counted) if counted else ("delta", delta)
        try:
            value = int(raw)
        except ValueError:
            report.rejected.append((number, name, f"{raw!r} is not a whole number"))
            continue
        key = f"csv:{digest}:{number}"
        existed = StockMovement.objects.filter(idempotency_key=key).exists()
        common = dict(product=product, location=location, key=key, reference=f"{source_name}:{number}", user=user)
        try:
            if name == "counted":
                stock_count(counted=value, **common)
            else:
                stock_adjust(delta=value, **common)
        except (StockError, ValueError) as error:
            report.rejected.append((number, name, str(error)))
            continue
        if existed:
            report.unchanged += 1
        else:
            report.applied += 1
    return report
