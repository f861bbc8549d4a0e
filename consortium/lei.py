"""Legal Entity Identifier (ISO 17442) validation.

An LEI is 20 characters: 18 upper-case letters or digits, then two check digits computed with
ISO 7064 MOD 97-10, the same scheme as IBAN: letters become 10..35 and the whole number
must leave remainder 1 when divided by 97.
"""

import re

_LEI_SHAPE = re.compile(r"^[0-9A-Z]{18}[0-9]{2}$")


def _as_number(text: str) -> int:
    return int("".join(str(int(ch, 36)) for ch in text))


def lei_problem(value: str) -> str | None:
    """Return why `value` is not a valid LEI, or None when it is."""
    if len(value) != 20:
        return f"An LEI has 20 characters; this one has {len(value)}."
    if not _LEI_SHAPE.match(value):
        return "An LEI is 18 capital letters or digits followed by two check digits."
    if _as_number(value) % 97 != 1:
        return "The check digits do not match the rest of the LEI (ISO 17442)."
    return None


def lei_with_check_digits(base18: str) -> str:
    """Complete an 18-character LEI prefix with its two check digits."""
    check = 98 - (_as_number(base18 + "00") % 97)
    return f"{base18}{check:02d}"
