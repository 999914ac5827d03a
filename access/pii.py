"""Detect and mask personal data in free text (e-mail, phone, CPF / CNPJ / ID numbers, street addresses).

Used before review text, customer names and e-mails are shown to roles without the
``access.view_personal_data`` permission (admin, API and exports alike).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
CPF = re.compile(r"(?<!\d)\d{3}\.?\d{3}\.?\d{3}-?\d{2}(?!\d)")
CNPJ = re.compile(r"(?<!\d)\d{2}\.?\d{3}\.?\d{3}/?\d{4}-?\d{2}(?!\d)")
# Phones: optional +country, optional (area), 8-11 digits in groups; at least 8 digits in all.
PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,3}\)\s?|\d{2,3}[\s.-])?\d{3,5}[\s.-]?\d{4}(?!\d)")
ADDRESS = re.compile(
    r"\b(?:rua|r\.|avenida|av\.|travessa|alameda|rodovia|estrada|praça|street|st\.|road|rd\.|avenue|ave\.|"
    r"lane|boulevard|blvd\.|路|街)\s*[^\n,;]{1,60}?,?\s*(?:n[ºo°.]?\s*)?\d{1,6}\b",
    re.IGNORECASE | re.UNICODE,
)
CEP = re.compile(r"(?<!\d)\d{5}-\d{3}(?!\d)")

MASKS = (("email", EMAIL), ("cnpj", CNPJ), ("cpf", CPF), ("address", ADDRESS), ("postal_code", CEP), ("phone", PHONE))


@dataclass(frozen=True)
class PIIMatch:
    kind: str
    start: int
    end: int


def cpf_is_valid(digits: str) -> bool:
    """Check a CPF's two verification digits (a bare 11-digit number that fails is probably not a CPF)."""
    numbers = [int(c) for c in digits if c.isdigit()]
    if len(numbers) != 11 or len(set(numbers)) == 1:
        return False
    for position in (9, 10):
        total = sum(n * weight for n, weight in zip(numbers[:position], range(position + 1, 1, -1), strict=True))
        check = (total * 10) % 11 % 10
        if check != numbers[position]:
            return False
    return True


def find_pii(text: str) -> list[PIIMatch]:
    """Non-overlapping personal-data spans in ``text``, earliest first."""
    if not text:
        return []
    found: list[PIIMatch] = []
    taken = [False] * len(text)
    for kind, pattern in MASKS:
        for match in pattern.finditer(text):
            if any(taken[match.start() : match.end()]):
                continue
            if kind == "cpf" and not ("." in match.group() or "-" in match.group() or cpf_is_valid(match.group())):
                continue
            found.append(PIIMatch(kind, match.start(), match.end()))
            for i in range(match.start(), match.end()):
                taken[i] = True
    return sorted(found, key=lambda m: m.start)


def mask_pii(text: str) -> str:
    """Replace each personal-data span with ``[kind]``."""
    if not text:
        return text
    pieces, last = [], 0
    for match in find_pii(text):
        pieces.append(text[last : match.start])
        pieces.append(f"[{match.kind}]")
        last = match.end
    pieces.append(text[last:])
    return "".join(pieces)


def mask_name(name: str) -> str:
    """'Maria Souza' -> 'M. S.'"""
    return " ".join(f"{part[0]}." for part in name.split() if part) if name else name


def mask_email(email: str) -> str:
    """'maria.souza@example.com' -> 'm***@example.com'"""
    if not email or "@" not in email:
        return email
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"


def user_sees_personal_data(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm("access.view_personal_data"))


def mask_personal_text(text: str, *, names: tuple[str, ...] | list[str] = ()) -> str:
    """``mask_pii`` plus the known names of the people involved (a reply greets the customer by name)."""
    masked = mask_pii(text)
    if not masked:
        return masked
    for name in sorted({n.strip() for n in names if n and n.strip()}, key=len, reverse=True):
        masked = re.sub(re.escape(name), mask_name(name), masked, flags=re.IGNORECASE)
    return masked


def current_user_sees_personal_data() -> bool:
    """Whether the user of the request being served may see personal data (no request: no).

    For code that has no ``request`` at hand, like an admin column; ``access.audit.AuditActorMiddleware``
    keeps the request in a context variable, which is safe across threads and async tasks.
    """
    from .audit import current_actor

    return user_sees_personal_data(current_actor())
