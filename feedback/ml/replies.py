"""Reply drafting: fill a reply template's ``{placeholders}`` with the facts of a review's order."""

from __future__ import annotations

import string
from dataclasses import dataclass

PLACEHOLDERS = (
    "customer_name",
    "order_number",
    "items",
    "purchase_date",
    "expected_delivery",
    "delivered_on",
    "delivery_status",
    "topic",
)


@dataclass(frozen=True)
class FilledReply:
    """The drafted text and the placeholders that had no fact to fill them (left as a visible marker)."""

    text: str
    missing: tuple[str, ...]


class _Facts(dict):
    def __init__(self, facts: dict[str, str]):
        super().__init__({k: v for k, v in facts.items() if v not in (None, "")})
        self.missing: list[str] = []

    def __missing__(self, key: str) -> str:
        self.missing.append(key)
        return f"[{key}]"


def unknown_placeholders(template: str) -> list[str]:
    """Placeholders in ``template`` that are not among ``PLACEHOLDERS`` (a typo an operator should fix)."""
    try:
        names = [field for _, field, _, _ in string.Formatter().parse(template) if field]
    except ValueError as exc:
        # A lone "{" or "}" is a mistake the operator must see, not a crash: report it as the unknown part.
        return [f"malformed braces ({exc})"]
    return sorted({name for name in names if name not in PLACEHOLDERS})


def fill_template(template: str, facts: dict[str, str]) -> FilledReply:
    """``"Pedido {order_number}"`` + ``{"order_number": "A1"}`` → ``"Pedido A1"``; unknown facts stay ``[name]``."""
    values = _Facts(facts)
    text = string.Formatter().vformat(template, (), values)
    return FilledReply(text=text, missing=tuple(dict.fromkeys(values.missing)))
