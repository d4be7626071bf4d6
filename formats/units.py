"""Sizes as people read them on drive labels and in Finder: decimal units (1 MB = 1,000,000 bytes).

Django's ``filesizeformat`` divides by 1024 but writes "MB", so a 16,000,000-byte
file would read "15.3 MB" on one page and "16.0 MB" in a notification. Every
page and message uses this one function instead.
"""

from __future__ import annotations

_UNITS = ("KB", "MB", "GB", "TB", "PB")


def format_bytes(n: int | float | None) -> str:
    """12_345_678 -> "12.3 MB"; whole bytes below 1 kB; "" for None."""
    if n is None:
        return ""
    if n < 1000:
        return f"{int(n)} B"
    value = float(n)
    for unit in _UNITS:
        value /= 1000
        if value < 1000 or unit == _UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")
