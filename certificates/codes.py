"""Verification codes and serials.

A code is 80 random bits in Crockford's base32 (16 characters) plus Crockford's check
symbol: the 80-bit number modulo 37, a prime larger than the base, so any single wrong
character and any swap of two neighbours is caught. Crockford's alphabet leaves out I, L,
O and U; reading accepts O as 0 and I, L as 1, so a code typed from paper still works.
Shown in groups of four: 7KQ2-M9XD-4HTA-WB3P-Z.
"""

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_SYMBOLS = ALPHABET + "*~$=U"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_READ_AS = {"O": "0", "I": "1", "L": "1"}
# What people put between groups: spaces (a phone's no-break one too), hyphens and dashes
# (a word processor turns "-" into "–"), dots, underscores.
SEPARATORS = frozenset(" \u00a0\u202f\t-_.\u2010\u2011\u2012\u2013\u2014\u2212")
BITS = 80
LENGTH = BITS // 5  # 16 characters


def _encode(number: int) -> str:
    return "".join(ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(LENGTH)))


def _check(body: str) -> str:
    number = 0
    for ch in body:
        number = number * 32 + _VALUE[ch]
    return CHECK_SYMBOLS[number % 37]


def new_code() -> str:
    """A fresh code, normalised (no separators): 16 random characters and a check symbol."""
    body = _encode(secrets.randbits(BITS))
    return body + _check(body)


def normalise(text: str) -> str | None:
    """The normalised code for what someone typed, or None if it cannot be a valid code."""
    cleaned = "".join(ch for ch in text.strip().upper() if ch not in SEPARATORS)
    cleaned = "".join(_READ_AS.get(ch, ch) for ch in cleaned)  # I, L, O are never symbols
    body, check = cleaned[:LENGTH], cleaned[LENGTH:]
    if len(body) != LENGTH or any(ch not in _VALUE for ch in body) or len(check) != 1:
        return None
    return body + check if _check(body) == check else None


def display(code: str) -> str:
    """Grouped for reading: XXXX-XXXX-XXXX-XXXX-C (a code already grouped stays as it is)."""
    code = "".join(ch for ch in code if ch not in SEPARATORS)
    return "-".join(code[i : i + 4] for i in range(0, LENGTH, 4)) + "-" + code[LENGTH:]


def serial(*, programme_code: str, year: int, region_code: str, number: int) -> str:
    """A human-readable serial, e.g. R2021-2019-MA04-00123."""
    return f"{programme_code}-{year}-{region_code.replace('-', '')}-{number:05d}"
