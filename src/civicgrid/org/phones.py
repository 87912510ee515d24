"""Phone numbers: one normal form for storage and one mask for display."""

from __future__ import annotations

import re

_NOT_DIGITS = re.compile(r"[^0-9]")


def normalise_phone(raw: str) -> str:
    """Digits only, without a +86/0086 country prefix: '+86 138-0013-8000' → '13800138000'."""
    digits = _NOT_DIGITS.sub("", raw or "")
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix) :]
    return digits


def mask_phone(phone: str) -> str:
    """'13812341234' → '138****1234': keep the first three and last four digits, hide the rest."""
    if len(phone) >= 8:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    return "*" * max(len(phone) - 2, 0) + phone[-2:]
